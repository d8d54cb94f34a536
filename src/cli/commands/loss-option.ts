/** --loss: the objective of every command that learns or scores (the model's training loss is only the default). */
import { LOSS_CHOICES, type LossChoice } from "../../protocol/choices.js";
import type { OptionSpec, ParsedArgs } from "../args.js";
import { choiceOption, choiceSpec } from "./options.js";

export const lossOptions: Record<string, OptionSpec> = {
  loss: choiceSpec(LOSS_CHOICES, "What learning and scoring minimise:", "auto"),
};

export function lossOption(args: ParsedArgs): LossChoice | undefined {
  return choiceOption(args, "loss", LOSS_CHOICES);
}
