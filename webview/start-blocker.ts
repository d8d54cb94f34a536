/**
 * Why Start cannot run yet, in words, or undefined when it can: the rules are the protocol's (the split rule, which
 * methods align), so the panel refuses exactly what the host's schema would. Pure, tested in
 * test/webview/start-blocker.test.ts.
 */
import { canAlign } from "../src/protocol/choices.js";
import { leavesLearnRows } from "../src/protocol/panel.js";
import { needsArchitecture, type PanelState } from "./state.js";

export function startBlocker(
  page: Pick<PanelState, "init" | "config" | "stored" | "invalidFields">,
): string | undefined {
  const { init, config, stored } = page;
  if (!init.trusted) return "Merging needs a trusted workspace.";
  if (!init.compatibility.mergeable) return init.compatibility.message;
  const included = config.ingredients.filter((i) => i.include).length;
  const manual = config.method === "manual";
  if (included < (manual ? 1 : 2))
    return manual ? "Include at least one ingredient." : "Include at least two ingredients.";
  if (page.invalidFields.size > 0) return "Correct the Advanced settings drawn in red.";
  if (config.align !== undefined && !canAlign(config.method))
    return "Aligning applies to the learned and greedy soups: choose one, or Align first: No.";
  if (!leavesLearnRows(config)) return "The validation and test fractions leave no data to learn from.";
  if (needsArchitecture(init) && config.architecture === undefined)
    return "These checkpoints record no architecture: choose a full model of the same architecture (Architecture from…).";
  if (config.architecture !== undefined && stored.architectureError)
    return "The chosen architecture does not fit the ingredients (see Ingredients).";
  if (!config.data) return "Choose the data to learn from and compare on.";
  if (stored.dataError) return "The chosen data does not fit the models (see Data).";
  if (config.data.test !== undefined && stored.testRows?.error)
    return "The chosen test rows do not fit the models (see Data).";
  return undefined;
}
