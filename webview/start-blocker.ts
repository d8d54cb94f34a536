/**
 * Why Start cannot run yet, in words, or undefined when it can: the rules are the protocol's (the capability check,
 * the split rule, which methods align), so the panel refuses exactly what the host's schema and the CLI would. Pure, tested in
 * test/webview/start-blocker.test.ts.
 */
import { canAlign } from "../src/protocol/choices.js";
import { leavesLearnRows } from "../src/protocol/panel.js";
import { methodCapability } from "../src/protocol/capability.js";
import { capabilityFacts, type PanelState } from "./state.js";

export function startBlocker(
  page: Pick<PanelState, "init" | "config" | "stored" | "invalidFields">,
): string | undefined {
  const { init, config, stored } = page;
  if (!init.trusted) return "Merging needs a trusted workspace.";
  if (!init.compatibility.mergeable) return init.compatibility.message;
  // A field drawn in red is what the user just typed: named before what the method still needs.
  if (page.invalidFields.size > 0) return "Correct the fields drawn in red.";
  // Which methods can run on these ingredients and this data: the check the command line's refusals share.
  const capability = methodCapability(config.method, capabilityFacts(page));
  if (!capability.available) return capability.reason;
  if (config.align !== undefined && !canAlign(config.method))
    return "Aligning applies to the learned and greedy soups: choose one, or Align first: No.";
  if (config.data && !leavesLearnRows(config)) return "The validation and test fractions leave no data to learn from.";
  if (config.data?.test !== undefined && stored.testRows?.error)
    return "The chosen test rows do not fit the models (see Data).";
  return undefined;
}
