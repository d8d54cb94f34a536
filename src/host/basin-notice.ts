/**
 * The Merge panel's word on basins after a run: which ingredients share none (src/core/report/basin.ts decides),
 * so the panel offers "Align first". No vscode: tested on its own.
 */
import { pairsWithoutSharedBasin } from "../core/report/basin.js";
import type { SoupReport } from "../protocol/worker.js";

/** The notice, or undefined when every measured pair shares a basin. `label` names a model path. */
export function basinNotice(
  report: Pick<SoupReport, "mergeability" | "alignment">,
  label: (path: string) => string,
): string | undefined {
  const apart = pairsWithoutSharedBasin(report.mergeability);
  if (apart.length === 0) return undefined;
  const worst = apart.reduce((w, p) => (p.barrier > w.barrier ? p : w));
  const pairs = apart.map((p) => `${label(p.a)} and ${label(p.b)}`);
  const listed =
    pairs.length > 3
      ? `${pairs.slice(0, 3).join("; ")} and ${pairs.length - 3} more pair${pairs.length === 4 ? "" : "s"}`
      : pairs.join("; ");
  const barrier = `the loss halfway between their weights is up to ${worst.barrier.toFixed(3)} above their own`;
  return report.alignment
    ? `Even after alignment these share no basin: ${listed} (${barrier}).`
    : `These ingredients share no basin: ${listed} (${barrier}). They were likely trained from different initialisations; averaging them as given will likely fail. "Align first" permutes their units to match before averaging.`;
}
