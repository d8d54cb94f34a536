// The loss a job learns and scores with, chosen once (the data loading and every task of the job follow it): an
// explicit --loss, else the model's training loss when Model Soup knows it, else what the model's output fits.
import type * as tf from "@tensorflow/tfjs";
import { UsageError } from "../../core/errors.js";
import type { DatasetTask } from "../../core/data/dataset.js";
import type { LossChoice } from "../../protocol/choices.js";
import {
  guessLoss,
  isCrossEntropy,
  outputActivation,
  outputUnits,
  trainingLoss,
  type LossName,
  type LossSpec,
} from "./loss.js";

export interface ChosenLoss {
  readonly loss: LossSpec;
  /** One line for the report when the model's training loss was set aside (a custom or unknown loss). */
  readonly note?: string;
}

interface Output {
  readonly activation: string;
  readonly units: number;
}

const WORDS: Record<LossName, string> = {
  categorical_crossentropy: "cross-entropy on the labels",
  sparse_categorical_crossentropy: "cross-entropy on the labels",
  binary_crossentropy: "cross-entropy on the labels",
  mean_squared_error: "mean squared error",
  mean_absolute_error: "mean absolute error",
};

function outputOf(model: tf.LayersModel): Output {
  return { activation: outputActivation(model), units: outputUnits(model) };
}

function isProbabilityOutput(output: Output): boolean {
  return output.activation === "softmax" || output.activation === "sigmoid";
}

/** The cross-entropy an output fits; `known` is the training loss, kept when it is a cross-entropy that fits. */
function crossEntropyFor(output: Output, known: LossSpec | undefined): LossSpec {
  if (known !== undefined && isCrossEntropy(known) && (known.fromLogits || isProbabilityOutput(output))) return known;
  if (output.activation === "softmax") return { name: "sparse_categorical_crossentropy", fromLogits: false };
  if (output.activation === "sigmoid") return { name: "binary_crossentropy", fromLogits: false };
  // Several linear units are the logits of a classifier; one linear unit is a regression.
  if (output.activation === "linear" && output.units > 1)
    return { name: "sparse_categorical_crossentropy", fromLogits: true };
  const what =
    output.activation === "linear" ? "one linear unit (a regression output)" : `"${output.activation}" units`;
  throw new UsageError(
    `--loss crossentropy needs a softmax or sigmoid output (or several linear units: logits); the model's output is ${what}: choose --loss mse or mae`,
  );
}

/** The explicit choice, the known training loss, or the fallback with its one-line note. */
function choose(output: Output, choice: LossChoice, trainingConfig: unknown, y: tf.Tensor | undefined): ChosenLoss {
  const training = trainingLoss(trainingConfig);
  switch (choice) {
    case "crossentropy":
      return { loss: crossEntropyFor(output, training?.spec) };
    case "mse":
      return { loss: { name: "mean_squared_error", fromLogits: false } };
    case "mae":
      return { loss: { name: "mean_absolute_error", fromLogits: false } };
    case "auto":
      break;
  }
  if (training?.spec !== undefined) return { loss: training.spec };
  const loss = isProbabilityOutput(output)
    ? crossEntropyFor(output, undefined)
    : guessLoss(output.activation, output.units, y);
  if (training === undefined) return { loss };
  return {
    loss,
    note: `The model's training loss "${training.raw}" is not one Model Soup knows; using ${WORDS[loss.name]} (choose with --loss)`,
  };
}

/**
 * How the labels must be read for the loss, before any is read: class indices for a cross-entropy, numbers for a
 * regression loss on a regression output; undefined when the labels themselves decide (a squared error on
 * probabilities, several sigmoid units, several linear units with no known loss: logits or values).
 */
export function labelTaskFor(
  model: tf.LayersModel,
  choice: LossChoice = "auto",
  trainingConfig?: unknown,
): Exclude<DatasetTask, "unlabeled"> | undefined {
  const output = outputOf(model);
  const undecided = choice === "auto" && trainingLoss(trainingConfig)?.spec === undefined;
  if (undecided && output.activation === "linear" && output.units > 1) return undefined;
  const { loss } = choose(output, choice, trainingConfig, undefined);
  if (loss.name === "binary_crossentropy" && output.units > 1) return undefined;
  if (isCrossEntropy(loss)) return "classification";
  return isProbabilityOutput(output) ? undefined : "regression";
}

/**
 * The loss learning and scoring use: `choice` ("auto" by default: the training loss when Model Soup knows it, else
 * cross-entropy on the labels for softmax / sigmoid outputs, else what the labels and a linear output fit, with
 * a note). A choice that does not fit the output is a UsageError.
 */
export function chooseLoss(
  model: tf.LayersModel,
  choice: LossChoice = "auto",
  trainingConfig?: unknown,
  y?: tf.Tensor,
): ChosenLoss {
  return choose(outputOf(model), choice, trainingConfig, y);
}

/** The choice that gives a recorded loss again (a recipe's data.loss), for re-running it. */
export function recordedLossChoice(recorded: string | undefined): LossChoice | undefined {
  if (recorded === undefined) return undefined;
  if (recorded.endsWith("crossentropy")) return "crossentropy";
  if (recorded === "mean_squared_error") return "mse";
  if (recorded === "mean_absolute_error") return "mae";
  return undefined;
}
