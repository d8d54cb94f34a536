// BatchMatMul for wasm with the transposes done first: tfjs-wasm's own kernel multiplies fast only when neither
// operand is transposed (XNNPACK); with transposeA or transposeB it takes a path 10–35× slower. Every Dense
// layer's gradient asks for one of each (xᵀ·dy for the kernel, dy·Wᵀ for the input): on the CNN benchmark's
// Dense 1024→512 at batch 64 they took about half of a learning step (bench/learned-soup-cnn/profile.ts).
// op(A)·op(B) is computed either as the plain product of the materialised op(A) and op(B), or as the transpose
// of op(B)ᵀ·op(A)ᵀ (which needs no transpose of an operand given transposed), whichever copies fewer elements.
// Same products, same summation: the values are those of the untransposed kernel on the copied operands.
import * as tf from "@tensorflow/tfjs";
import { asTensor } from "./windows.js";

interface Attrs {
  transposeA: boolean;
  transposeB: boolean;
}

/** Swaps the last two axes. */
function transposeLast(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  perm.splice(-2, 2, t.rank - 1, t.rank - 2);
  return tf.transpose(t, perm);
}

/** Elements of op(A)·op(B): the broadcast batch times the two outer sizes. */
function outputSize(a: tf.Tensor, b: tf.Tensor, { transposeA, transposeB }: Attrs): number {
  const batch = tf.broadcast_util
    .assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2))
    .reduce((n, d) => n * d, 1);
  const rows = a.shape[a.rank - (transposeA ? 1 : 2)]!;
  const cols = b.shape[b.rank - (transposeB ? 2 : 1)]!;
  return batch * rows * cols;
}

/** BatchMatMul for wasm around TF.js's own wasm kernel (`plain`), which it calls for every untransposed product. */
export function batchMatMulConfig(plain: tf.KernelConfig): tf.KernelConfig {
  const multiply = (a: tf.Tensor, b: tf.Tensor) =>
    tf.engine().runKernel("BatchMatMul", { a, b }, { transposeA: false, transposeB: false }) as tf.Tensor;
  return {
    kernelName: "BatchMatMul",
    backendName: "wasm",
    kernelFunc: (args) => {
      const attrs = args.attrs as unknown as Attrs;
      if (!attrs.transposeA && !attrs.transposeB) return plain.kernelFunc(args);
      return tf.tidy(() => {
        const a = asTensor(args.inputs.a!);
        const b = asTensor(args.inputs.b!);
        const direct = (attrs.transposeA ? a.size : 0) + (attrs.transposeB ? b.size : 0);
        const swapped = (attrs.transposeA ? 0 : a.size) + (attrs.transposeB ? 0 : b.size) + outputSize(a, b, attrs);
        if (direct <= swapped)
          return multiply(attrs.transposeA ? transposeLast(a) : a, attrs.transposeB ? transposeLast(b) : b);
        // (op(A)·op(B))ᵀ = op(B)ᵀ·op(A)ᵀ, where op(B)ᵀ is B itself when B was to be transposed, and so for A.
        return transposeLast(
          multiply(attrs.transposeB ? b : transposeLast(b), attrs.transposeA ? a : transposeLast(a)),
        );
      });
    },
  };
}
