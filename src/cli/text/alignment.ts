/** What an alignment did: reference, groups, layers left fixed, and each pair's cosine and barrier before → after. */
import type { AlignmentReport } from "../../protocol/worker.js";
import { shortName } from "./short-name.js";
import { formatTable } from "./table.js";

const CHOSEN_BY: Record<AlignmentReport["referenceChosenBy"], string> = {
  validation: "lowest validation loss",
  user: "chosen with --reference",
  first: "the first model; no labelled data to choose by",
};

export function formatAlignment(a: AlignmentReport): string {
  const lines = [
    `Alignment (${a.method} matching): reference ${shortName(a.reference)} (${CHOSEN_BY[a.referenceChosenBy]}); ` +
      `${a.groups} permutation group(s), ${a.units} units; ${a.moved.map((m) => `${shortName(m.model)}: ${m.units} moved`).join(", ")}`,
  ];
  if (a.repair) {
    const r = a.repair;
    lines.push(
      `REPAIR of ${r.layers.length} layer(s): validation loss ${r.validation.before.loss.toFixed(4)} → ${r.validation.after.loss.toFixed(4)}` +
        (r.kept
          ? " (kept: the soup written and scored is the repaired one)"
          : " (not kept: it did not lower the validation loss)"),
    );
  }
  for (const f of a.fixedLayers)
    lines.push(`  layer "${f.layer}" (${f.className}) not handled, its neighbours keep their order: ${f.reason}`);
  const withBarrier = a.pairs.some((p) => p.barrierBefore !== undefined);
  const rows = a.pairs.map((p) => [
    `${shortName(p.a)} × ${shortName(p.b)}`,
    `${p.cosineBefore.toFixed(3)} → ${p.cosineAfter.toFixed(3)}`,
    ...(withBarrier ? [`${p.barrierBefore?.toFixed(4) ?? "?"} → ${p.barrierAfter?.toFixed(4) ?? "?"}`] : []),
  ]);
  lines.push(
    "",
    formatTable(["pair", "weight cosine", ...(withBarrier ? ["midpoint loss barrier (validation)"] : [])], rows),
  );
  return lines.join("\n");
}
