// Comparisons and logical reductions are piecewise constant: their gradient is zero wherever it exists. TF.js
// registers none for these, so a loss through ThresholdedReLU (x · (x > θ)) or Masking (any(x ≠ mask)) fails on
// every backend with "gradient function not found"; a zero gradient makes those layers learnable.
import * as tf from "@tensorflow/tfjs";

const BINARY = ["Greater", "Less", "LessEqual", "Equal", "NotEqual", "LogicalAnd", "LogicalOr", "LogicalXor"];
const UNARY = ["Any", "All", "LogicalNot"];

/** TF.js wants float32 gradients even for bool or int32 inputs. */
function zeros(t: tf.Tensor): tf.Tensor {
  return tf.zeros(t.shape, "float32");
}

export function registerComparisonGradients(): void {
  for (const kernelName of BINARY) {
    if (tf.getGradient(kernelName) != null) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: ["a", "b"],
      gradFunc: (_dy, saved) => ({ a: () => zeros(saved[0]!), b: () => zeros(saved[1]!) }),
    });
  }
  for (const kernelName of UNARY) {
    if (tf.getGradient(kernelName) != null) continue;
    tf.registerGradient({ kernelName, inputsToSave: ["x"], gradFunc: (_dy, saved) => ({ x: () => zeros(saved[0]!) }) });
  }
}
