/** Options of the data-aware methods (RegMean, Fisher, RegMean++) that `merge` and `evaluate --methods` share. */
import { DEFAULT_FISHER_EPSILON, DEFAULT_FISHER_EXAMPLES } from "../../core/merge/methods/fisher.js";
import { DEFAULT_REGMEAN_ALPHA } from "../../core/merge/methods/regmean.js";
import { FISHER_TARGET_CHOICES } from "../../protocol/choices.js";
import type { OptionSpec } from "../args.js";
import { choiceSpec } from "./options.js";

export const dataAwareOptions: Record<"alpha" | "epsilon" | "examples" | "fisher-target", OptionSpec> = {
  alpha: {
    type: "string",
    valueName: "<α>",
    description: `RegMean, RegMean++: scale of the Gram matrices' off-diagonal entries (default ${DEFAULT_REGMEAN_ALPHA}).`,
  },
  epsilon: {
    type: "string",
    valueName: "<ε>",
    description: `Fisher: floor of every Fisher value (default ${DEFAULT_FISHER_EPSILON}).`,
  },
  examples: {
    type: "string",
    valueName: "<N>",
    description: `Fisher: examples of the learn split its diagonal is estimated on (default ${DEFAULT_FISHER_EXAMPLES}).`,
  },
  "fisher-target": choiceSpec(FISHER_TARGET_CHOICES, "Fisher: what is differentiated:"),
};
