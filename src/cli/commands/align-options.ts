/** --align and --reference: align the models to a reference before averaging (merge, greedy, learn, align). */
import { UsageError } from "../../core/errors.js";
import { ALIGN_METHOD_CHOICES } from "../../protocol/choices.js";
import type { AlignOptions } from "../../protocol/worker.js";
import { stringOption, type OptionSpec, type ParsedArgs } from "../args.js";
import { choiceOption, choiceSpec } from "./options.js";

export const alignOptions: Record<string, OptionSpec> = {
  align: choiceSpec(
    ALIGN_METHOD_CHOICES,
    "Align the models' units to a reference first (models trained from different initialisations):",
  ),
  reference: {
    type: "string",
    valueName: "<model>",
    description: "With --align: the model the others are aligned to (default: best on validation, else the first).",
  },
};

/** The alignment asked for, if any; refuses it where a base model is used. */
export function alignOption(args: ParsedArgs): AlignOptions | undefined {
  const method = choiceOption(args, "align", ALIGN_METHOD_CHOICES);
  const reference = stringOption(args, "reference");
  if (method === undefined) {
    if (reference !== undefined) throw new UsageError("--reference goes with --align");
    return undefined;
  }
  if (stringOption(args, "base") !== undefined)
    throw new UsageError("--align does not apply with --base: task vectors already share the base's basin");
  return { method, ...(reference !== undefined ? { reference } : {}) };
}
