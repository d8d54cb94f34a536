import assert from "node:assert/strict";
import type { MethodCapability } from "../../src/protocol/capability.js";
import { unavailableLines } from "../../webview/unavailable.js";

const LABELS: Record<string, string> = {
  dare: "DARE (drop and rescale task vectors, then add; needs the base)",
  ties: "TIES (trim, elect sign, merge; needs the base)",
  slerp: "SLERP (spherical interpolation of the base and one model)",
  regmean: "RegMean (least squares on each layer's inputs)",
};
const label = (m: string) => LABELS[m] ?? m;

describe("webview/unavailable (the Not available now list)", () => {
  it("gives methods with one reason and one way out a single line, named short, in their order", () => {
    const weightsOnly = "These PyTorch state dicts hold weights only: name their architecture.";
    const caps: MethodCapability[] = [
      { method: "dare", available: false, reason: weightsOnly, wayOut: "architecture" },
      { method: "slerp", available: false, reason: "Merges the base with exactly one model.", wayOut: "ingredients" },
      { method: "ties", available: false, reason: weightsOnly, wayOut: "architecture" },
      { method: "regmean", available: false, reason: weightsOnly, wayOut: "chooseData" },
    ];
    const lines = unavailableLines(caps, label);
    assert.deepEqual(
      lines.map((l) => [l.methods, l.names, l.capability.wayOut]),
      [
        [["dare", "ties"], "DARE, TIES", "architecture"],
        [["slerp"], LABELS.slerp, "ingredients"],
        // The same words with another way out is another line: its button differs.
        [["regmean"], LABELS.regmean, "chooseData"],
      ],
    );
    assert.equal(lines[0]!.capability.reason, weightsOnly);
  });

  it("lists nothing when every method can run", () => {
    assert.deepEqual(unavailableLines([], label), []);
  });
});
