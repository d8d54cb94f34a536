// The loss and metric of a task, and the per-sample values learning and scoring minimise and report.
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

/** The loss a model's training_config names: as written, and as Model Soup knows it (absent for a custom loss). */
export interface TrainingLoss {
  readonly raw: string;
  readonly spec?: LossSpec;
}

/**
 * The loss recorded in a Keras training_config (Keras 2 string or {class_name, config}, Keras 3 serialised
 * object, or a single-entry per-output list/dict), or undefined when the config names none. A custom loss
 * (`focal_loss_fixed`) comes back without a spec: the training loss is only a default (loss-choice.ts).
 */
export function trainingLoss(trainingConfig: unknown): TrainingLoss | undefined {
  if (trainingConfig === null || typeof trainingConfig !== "object") return undefined;
  let loss: unknown = (trainingConfig as Record<string, unknown>).loss;
  if (loss === undefined || loss === null) return undefined;
  if (Array.isArray(loss) || (typeof loss === "object" && !("class_name" in (loss as object)))) {
    const entries = Array.isArray(loss) ? loss : Object.values(loss as object);
    if (entries.length !== 1)
      throw new UsageError("Models with several outputs (one loss per output) are not supported.");
    loss = entries[0];
  }
  if (typeof loss === "string") return known(loss, false);
  if (typeof loss === "object" && loss !== null) {
    const { class_name: className, config } = loss as { class_name?: unknown; config?: Record<string, unknown> };
    if (typeof className !== "string") return { raw: JSON.stringify(loss).slice(0, 80) };
    // Keras 3 may serialise a plain function loss as {class_name: "function", config: "<name>"}.
    const name = className === "function" && typeof config === "string" ? (config as string) : className;
    return known(name, config?.from_logits === true);
  }
  return { raw: String(loss).slice(0, 80) };
}

function known(raw: string, fromLogits: boolean): TrainingLoss {
  const name = ALIASES[raw.toLowerCase()];
  return name === undefined ? { raw } : { raw, spec: { name, fromLogits } };
}

/** The training_config's loss when Model Soup knows it, else undefined. */
export function lossFromTrainingConfig(trainingConfig: unknown): LossSpec | undefined {
  return trainingLoss(trainingConfig)?.spec;
}

export function isCrossEntropy(loss: LossSpec): boolean {
  return loss.name.endsWith("crossentropy");
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

/** The number of units of the model's (single) output: its last dimension. */
export function outputUnits(model: tf.LayersModel): number {
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
 * The task of a model: its loss (given, else from training_config when Model Soup knows it, else guessed from the
 * output activation and the targets' shape), metric and output kind.
 */
export function resolveTask(
  model: tf.LayersModel,
  options: { loss?: LossSpec; trainingConfig?: unknown; y?: tf.Tensor } = {},
): Task {
  const activation = outputActivation(model);
  const units = outputUnits(model);
  const loss =
    options.loss ?? lossFromTrainingConfig(options.trainingConfig) ?? guessLoss(activation, units, options.y);
  const probabilities = activation === "softmax" || activation === "sigmoid";
  // A squared or absolute error on a classifier's probabilities (a Keras "mse" on softmax) still has classes.
  const classification = isCrossEntropy(loss) || (probabilities && options.y?.dtype === "int32");
  if (isCrossEntropy(loss) && !loss.fromLogits && !probabilities) {
    // Keras would clip raw scores as if they were probabilities; that trains nothing sensible.
    throw new UsageError(
      `The loss ${loss.name} expects probabilities but the model's output activation is "${activation}"; ` +
        "the loss should be configured with from_logits=true (or choose another with --loss).",
    );
  }
  return {
    loss,
    metric: classification ? "accuracy" : "mae",
    outputs: !classification ? "values" : isCrossEntropy(loss) && loss.fromLogits ? "logits" : "probabilities",
    binary: classification && units === 1,
  };
}

/** The loss a model's output fits when nothing names one: cross-entropy for classifiers, else squared error. */
export function guessLoss(activation: string, units: number, y: tf.Tensor | undefined): LossSpec {
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

/** Labels held as one class index per prediction row (several output units, one label each). */
function classIndicesFor(pred: tf.Tensor, y: tf.Tensor): boolean {
  const units = pred.shape[pred.rank - 1] ?? 1;
  return units > 1 && y.size * units === pred.size;
}

/**
 * The targets in the shape of the predictions, whatever form the labels have: class indices become one-hot rows
 * (categorical cross-entropy, or a squared error on probabilities), anything else is read as the output's values.
 * The one place labels are fitted to a loss.
 */
export function lossTargets(pred: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    if (!classIndicesFor(pred, y)) return y.toFloat().reshape(pred.shape);
    const units = pred.shape[pred.rank - 1]!;
    return tf
      .oneHot(y.reshape([-1]).toInt(), units)
      .toFloat()
      .reshape(pred.shape);
  });
}

/** Per-sample losses, shape [batch]. */
export function sampleLosses(loss: LossSpec, pred: tf.Tensor, y: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const batch = pred.shape[0]!;
    const flat = (t: tf.Tensor) => t.reshape([batch, -1]);
    const t = lossTargets(pred, y);
    switch (loss.name) {
      case "categorical_crossentropy":
      case "sparse_categorical_crossentropy": {
        let logp: tf.Tensor;
        if (loss.fromLogits) logp = tf.logSoftmax(pred);
        else {
          const p = pred.div(pred.sum(-1, true));
          logp = p.clipByValue(EPSILON, 1 - EPSILON).log();
        }
        const perRow = t.mul(logp).sum(-1).neg();
        return (perRow.rank === 1 ? perRow : flat(perRow).mean(1)) as tf.Tensor1D;
      }
      case "binary_crossentropy": {
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
        return flat(pred.sub(t).square()).mean(1) as tf.Tensor1D;
      case "mean_absolute_error":
        return flat(pred.sub(t).abs()).mean(1) as tf.Tensor1D;
    }
  });
}

/** Per-sample task metric, shape [batch]: 1/0 correctness for accuracy, mean absolute error for regression. */
export function sampleMetric(task: Task, pred: tf.Tensor, y: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const batch = pred.shape[0]!;
    if (task.metric === "mae") return pred.sub(lossTargets(pred, y)).abs().reshape([batch, -1]).mean(1) as tf.Tensor1D;
    const threshold = task.outputs === "logits" ? 0 : 0.5;
    if (task.binary || (task.loss.name === "binary_crossentropy" && !classIndicesFor(pred, y))) {
      // One sigmoid unit, or several independent ones (multi-label targets): each unit right or wrong.
      const predicted = pred.greater(threshold);
      return predicted.equal(y.reshape(pred.shape).greater(0.5)).toFloat().reshape([batch, -1]).mean(1) as tf.Tensor1D;
    }
    const predicted = pred.argMax(-1);
    const target = classIndicesFor(pred, y) ? y.reshape(predicted.shape).toInt() : y.argMax(-1);
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
