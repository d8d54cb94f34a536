import type { Architecture } from "../model.js";
import { NotRebuildable, parseKerasModelConfig } from "../keras/config.js";

/**
 * The architecture a Keras model config describes, or undefined (with a warning saying why) when it cannot be
 * rebuilt without code from outside the file: a subclassed model or custom layer classes. Such a model is read,
 * grouped and merged by its weights (a fixed-coefficient merge averages arrays by name and runs nothing);
 * learning, greedy soups and evaluation, which must run the model, refuse it.
 */
export function architectureOrWeightsOnly(
  file: string,
  where: string,
  config: unknown,
  kerasVersion: string | undefined,
  warnings: string[],
): Architecture | undefined {
  try {
    return parseKerasModelConfig(file, config, kerasVersion);
  } catch (error) {
    if (!(error instanceof NotRebuildable)) throw error;
    warnings.push(
      `${where}: ${error.expected.replace(/^has /, "").replace(/\.$/, "")}; the model is read and merged by its weights only ` +
        "(learning, greedy soups and evaluation must run the model and refuse it)",
    );
    return undefined;
  }
}
