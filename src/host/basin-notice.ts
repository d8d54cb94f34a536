/**
 * The Merge panel's word on basins after a run: which ingredients share none (src/core/report/basin.ts decides
 * and groups them, as the command line's warnings do), so the panel offers "Align first". No vscode: tested on
 * its own.
 */
import { basinGroups, commonModel, isHighBarrier, listed } from "../core/report/basin.js";
import type { PairMergeability, SoupReport } from "../protocol/worker.js";

/** The notice, or undefined when every measured pair shares a basin. `label` names a model path. */
export function basinNotice(
  report: Pick<SoupReport, "mergeability" | "alignment">,
  label: (path: string) => string,
): string | undefined {
  const pairs = report.mergeability.map((p) => ({
    ...p,
    high: isHighBarrier(p.barrier, (p.endpointLoss[0] + p.endpointLoss[1]) / 2),
  }));
  const high = pairs.filter((p) => p.high);
  if (high.length === 0) return undefined;
  const models = [...new Set(report.mergeability.flatMap((p) => [p.a, p.b]))];
  const groups = basinGroups<string, PairMergeability & { high: boolean }>(models, pairs);
  const worst = high.reduce((w, p) => (p.barrier > w.barrier ? p : w));
  const barrier = `the loss halfway between their weights is up to ${worst.barrier.toFixed(3)} above their own`;
  const clusters = groups.apart.map((c) => (c.length === 1 ? label(c[0]!) : `${listed(c.map(label))} together`));
  const hub = commonModel(groups.inside);
  const inside = groups.inside.map((p) => `${label(p.a)} and ${label(p.b)}`);
  const which = groups.none
    ? models.length === 2
      ? `${listed(models.map(label))} share none`
      : `no two of these ${models.length} ingredients share one (${listed(models.map(label))})`
    : [
        ...(clusters.length > 0
          ? [
              `${listed(clusters, "; ")} ${clusters.length === 1 && groups.apart[0]!.length === 1 ? "shares" : "share"} none with the others`,
            ]
          : []),
        ...(hub !== undefined
          ? [`${label(hub)} shares none with ${inside.length} of the others`]
          : inside.length > 0
            ? [`${listed(inside, "; ")} share none with each other`]
            : []),
      ].join("; ");
  return report.alignment
    ? `Even after alignment some ingredients share no basin: ${which} (${barrier}).`
    : `Some ingredients share no basin: ${which} (${barrier}). They were likely trained from different initialisations; averaging them as given will likely fail. "Align first" permutes their units to match before averaging.`;
}
