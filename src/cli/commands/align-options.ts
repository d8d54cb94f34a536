/** --align and --reference: align the models to a reference before averaging (merge, greedy, learn, align). */
import { UsageError } from "../../core/errors.js";
import type { AlignMethod, AlignOptions } from "../../protocol/worker.js";
import { stringOption, type OptionSpec, type ParsedArgs } from "../args.js";
import { choiceOption } from "./options.js";

export const ALIGN_METHODS: readonly AlignMethod[] = ["weight", "activation"];

export const alignOptions: Record<string, OptionSpec> = {
  align: {
    type: "string",
    valueName: "weight|activation",
    description:
      "Align the models' units to a reference first (models trained from different initialisations): weight matching (no data) " +
      "or activation matching (correlation of activations on the data).",
  },
  reference: { type: "string", valueName: "<model>", description: "With --align: the model the others are aligned to (default: best on validation, else the first)." },
};

/** The alignment asked for, if any; refuses it where a base model is used. */
export function alignOption(args: ParsedArgs): AlignOptions | undefined {
  const method = choiceOption(args, "align", ALIGN_METHODS);
  const reference = stringOption(args, "reference");
  if (method === undefined) {
    if (reference !== undefined) throw new UsageError("--reference goes with --align");
    return undefined;
  }
  if (stringOption(args, "base") !== undefined) throw new UsageError("--align does not apply with --base: task vectors already share the base's basin");
  return { method, ...(reference !== undefined ? { reference } : {}) };
}
