import type { AlignmentPlan } from "../../core/align/plan.js";
import type { AlignmentReport, AlignOptions } from "../../protocol/worker.js";

/** An alignment's report, for either engine: the groups found, the units each model moved, the pairs. */
export function alignmentReport(input: {
  align: AlignOptions;
  models: readonly string[];
  reference: number;
  referenceChosenBy: AlignmentReport["referenceChosenBy"];
  plan: Pick<AlignmentPlan, "groups" | "fixed">;
  permutations: ReadonlyArray<Record<string, readonly number[]>>;
  pairs: AlignmentReport["pairs"];
}): AlignmentReport {
  const { align, models, reference, plan } = input;
  return {
    method: align.method,
    reference: models[reference]!,
    referenceChosenBy: input.referenceChosenBy,
    groups: plan.groups.length,
    units: plan.groups.reduce((s, g) => s + g.size, 0),
    fixedLayers: plan.fixed,
    moved: input.permutations
      .map((p, i) => ({
        model: models[i]!,
        units: Object.values(p).reduce((s, perm) => s + perm.filter((v, j) => v !== j).length, 0),
        i,
      }))
      .filter((m) => m.i !== reference)
      .map(({ model, units }) => ({ model, units })),
    pairs: input.pairs,
  };
}
