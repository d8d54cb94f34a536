// The loss and metric of a task, chosen from the model's Keras training_config or from its output layer.
import * as tf from "@tensorflow/tfjs";
import { UsageError } from "../../core/errors.js";

export type LossName =
  | "categorical_crossentropy"
  | "sparse_categorical_crossentropy"
  | "binary_crossentropy"
  | "mean_squared_error"
  | "mean_absolute_error";

export interface LossSpec {
  readonly name: LossName;
  /** The model outputs logits (no softmax/sigmoid at the end) and the loss applies it. */
  readonly fromLogits: boolean;
}

export type MetricName = "accuracy" | "mae";

export interface Task {
  readonly loss: LossSpec;
  readonly metric: MetricName;
  /** What the model's output holds. */
  readonly outputs: "probabilities" | "logits" | "values";
  /** One output unit with a sigmoid (or its logit): a binary classifier. */
  readonly binary: boolean;
}

const ALIASES: Record<string, LossName> = {
  categorical_crossentropy: "categorical_crossentropy",
  categoricalcrossentropy: "categorical_crossentropy",
  sparse_categorical_crossentropy: "sparse_categorical_crossentropy",
  sparsecategoricalcrossentropy: "sparse_categorical_crossentropy",
  binary_crossentropy: "binary_crossentropy",
  binarycrossentropy: "binary_crossentropy",
  mse: "mean_squared_error",
  mean_squared_error: "mean_squared_error",
  meansquarederror: "mean_squared_error",
  mae: "mean_absolute_error",
  mean_absolute_error: "mean_absolute_error",
  meanabsoluteerror: "mean_absolute_error",
};

const EPSILON = 1e-7; // Keras' backend epsilon, used to clip probabilities the way Keras does.

function lossName(raw: string): LossName {
  const name = ALIASES[raw.toLowerCase()];
  if (name === undefined) {
    throw new UsageError(
      `The model's training loss "${raw}" is not supported; supported: ${[...new Set(Object.values(ALIASES))].join(", ")}.`,
    );
  }
  return name;
}

/**
 * The loss recorded in a Keras training_config (Keras 2 string or {class_name, config}, Keras 3 serialised
 * object, or a single-entry per-output list/dict), or undefined when the config names none.
 */
export function lossFromTrainingConfig(trainingConfig: unknown): LossSpec | undefined {
  if (trainingConfig === null || typeof trainingConfig !== "object") return undefined;
  let loss: unknown = (trainingConfig as Record<string, unknown>).loss;
  if (loss === undefined || loss === null) return undefined;
  if (Array.isArray(loss) || (typeof loss === "object" && !("class_name" in (loss as object)))) {
    const entries = Array.isArray(loss) ? loss : Object.values(loss as object);
    if (entries.length !== 1)
      throw new UsageError("Models with several outputs (one loss per output) are not supported.");
    loss = entries[0];
  }
  if (typeof loss === "string") return { name: lossName(loss), fromLogits: false };
  if (typeof loss === "object" && loss !== null) {
    const { class_name: className, config } = loss as { class_name?: unknown; config?: Record<string, unknown> };
    if (typeof className !== "string")
      throw new UsageError("The model's training_config has a loss without a class_name.");
    // Keras 3 may serialise a plain function loss as {class_name: "function", config: "<name>"}.
    const name = className === "function" && typeof config === "string" ? (config as string) : className;
    return { name: lossName(name), fromLogits: config?.from_logits === true };
  }
  throw new UsageError("The model's training_config has a loss of an unexpected kind.");
}

function layerActivation(layer: tf.layers.Layer): string | undefined {
  const inner = layer as unknown as { layers?: tf.layers.Layer[] };
  if (Array.isArray(inner.layers) && inner.layers.length > 0)
    return layerActivation(inner.layers[inner.layers.length - 1]!);
  const className = layer.getClassName();
  if (className === "Softmax") return "softmax";
  const config = layer.getConfig() as { activation?: unknown };
  return typeof config.activation === "string" ? config.activation : undefined;
}

/** The activation applied by the model's single output layer ("linear" when it has none). */
export function outputActivation(model: tf.LayersModel): string {
  if (model.outputs.length !== 1) throw new UsageError("Only models with a single output are supported.");
  const layer = model.outputLayers[0] ?? model.layers[model.layers.length - 1]!;
  return layerActivation(layer) ?? "linear";
}

function outputUnits(model: tf.LayersModel): number {
  const shape = model.outputs[0]!.shape;
  return shape[shape.length - 1] ?? 1;
}

function isOneHot(y: tf.Tensor): boolean {
  return tf.tidy(() => {
    const binary = y.equal(0).logicalOr(y.equal(1)).all().dataSync()[0] === 1;
    return binary && y.sum(-1).equal(1).all().dataSync()[0] === 1;
  });
}

/**
 * The task of a model: its loss (given, else from training_config, else guessed from the output activation and
 * the targets' shape), metric and output kind.
 */
export function resolveTask(
  model: tf.LayersModel,
  options: { loss?: LossSpec; trainingConfig?: unknown; y?: tf.Tensor } = {},
): Task {
  const activation = outputActivation(model);
  const units = outputUnits(model);
  const loss =
    options.loss ?? lossFromTrainingConfig(options.trainingConfig) ?? guessLoss(activation, units, options.y);
  const classification = loss.name.endsWith("crossentropy");
  const binary = loss.name === "binary_crossentropy";
  if (classification && !loss.fromLogits && activation !== "softmax" && activation !== "sigmoid") {
    // Keras would clip raw scores as if they were probabilities; that trains nothing sensible.
    throw new UsageError(
      `The loss ${loss.name} expects probabilities but the model's output activation is "${activation}"; ` +
        "the loss should be configured with from_logits=true.",
    );
  }
  return {
    loss,
    metric: classification ? "accuracy" : "mae",
    outputs: !classification ? "values" : loss.fromLogits ? "logits" : "probabilities",
    binary,
  };
}

function guessLoss(activation: string, units: number, y: tf.Tensor | undefined): LossSpec {
  if (activation === "sigmoid" && units === 1) return { name: "binary_crossentropy", fromLogits: false };
  const sparseTargets = y !== undefined && (y.rank === 1 || (y.rank === 2 && y.shape[1] === 1));
  if (activation === "softmax") {
    return {
      name: sparseTargets || y === undefined ? "sparse_categorical_crossentropy" : "categorical_crossentropy",
      fromLogits: false,
    };
  }
  if (activation === "linear" && units > 1 && y !== undefined) {
    if (sparseTargets) return { name: "sparse_categorical_crossentropy", fromLogits: true };
    if (isOneHot(y)) return { name: "categorical_crossentropy", fromLogits: true };
  }
  return { name: "mean_squared_error", fromLogits: false };
}

function oneHotTargets(y: tf.Tensor, classes: number): tf.Tensor {
  return tf.oneHot(y.reshape([-1]).toInt(), classes).toFloat();
}

/** Per-sample losses, shape [batch]. */
export function sampleLosses(loss: LossSpec, pred: tf.Tensor, y: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const batch = pred.shape[0]!;
    const flat = (t: tf.Tensor) => t.reshape([batch, -1]);
    switch (loss.name) {
      case "categorical_crossentropy":
      case "sparse_categorical_crossentropy": {
        const classes = pred.shape[pred.rank - 1]!;
        const target = loss.name === "sparse_categorical_crossentropy" ? oneHotTargets(y, classes) : y.toFloat();
        let logp: tf.Tensor;
        if (loss.fromLogits) logp = tf.logSoftmax(pred);
        else {
          const p = pred.div(pred.sum(-1, true));
          logp = p.clipByValue(EPSILON, 1 - EPSILON).log();
        }
        return flat(target.mul(logp).sum(-1).neg()).mean(1) as tf.Tensor1D;
      }
      case "binary_crossentropy": {
        const t = y.toFloat().reshape(pred.shape);
        let elementwise: tf.Tensor;
        if (loss.fromLogits) {
          elementwise = pred.relu().sub(pred.mul(t)).add(pred.abs().neg().exp().log1p());
        } else {
          const p = pred.clipByValue(EPSILON, 1 - EPSILON);
          elementwise = t
            .mul(p.log())
            .add(tf.scalar(1).sub(t).mul(tf.scalar(1).sub(p).log()))
            .neg();
        }
        return flat(elementwise).mean(1) as tf.Tensor1D;
      }
      case "mean_squared_error":
        return flat(pred.sub(y.toFloat().reshape(pred.shape)).square()).mean(1) as tf.Tensor1D;
      case "mean_absolute_error":
        return flat(pred.sub(y.toFloat().reshape(pred.shape)).abs()).mean(1) as tf.Tensor1D;
    }
  });
}

/** Per-sample task metric, shape [batch]: 1/0 correctness for accuracy, mean absolute error for regression. */
export function sampleMetric(task: Task, pred: tf.Tensor, y: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const batch = pred.shape[0]!;
    if (task.metric === "mae")
      return pred.sub(y.toFloat().reshape(pred.shape)).abs().reshape([batch, -1]).mean(1) as tf.Tensor1D;
    if (task.binary) {
      const threshold = task.outputs === "logits" ? 0 : 0.5;
      const predicted = pred.greater(threshold);
      return predicted.equal(y.reshape(pred.shape).greater(0.5)).toFloat().reshape([batch, -1]).mean(1) as tf.Tensor1D;
    }
    const predicted = pred.argMax(-1);
    const target =
      task.loss.name === "sparse_categorical_crossentropy" ? y.reshape(predicted.shape).toInt() : y.argMax(-1);
    return predicted.equal(target).toFloat().reshape([batch, -1]).mean(1) as tf.Tensor1D;
  });
}

/** Probabilities (classifiers) or values (regression), whatever the model outputs. */
export function toProbabilities(task: Task, pred: tf.Tensor): tf.Tensor {
  if (task.outputs !== "logits") return pred.clone();
  return task.binary ? tf.sigmoid(pred) : tf.softmax(pred);
}

/** The same task, reading probabilities instead of logits (for averaged ensemble predictions). */
export function probabilityTask(task: Task): Task {
  return task.outputs === "logits"
    ? { ...task, outputs: "probabilities", loss: { ...task.loss, fromLogits: false } }
    : task;
}

/** Mean prediction entropy per sample (AdaMerging's label-free objective), shape [batch]. */
export function sampleEntropy(task: Task, pred: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const batch = pred.shape[0]!;
    if (task.binary) {
      const p = (task.outputs === "logits" ? tf.sigmoid(pred) : pred).clipByValue(EPSILON, 1 - EPSILON);
      const q = tf.scalar(1).sub(p);
      return p.mul(p.log()).add(q.mul(q.log())).neg().reshape([batch, -1]).mean(1) as tf.Tensor1D;
    }
    const logp = task.outputs === "logits" ? tf.logSoftmax(pred) : pred.clipByValue(EPSILON, 1).log();
    return logp.exp().mul(logp).sum(-1).neg().reshape([batch, -1]).mean(1) as tf.Tensor1D;
  });
}
