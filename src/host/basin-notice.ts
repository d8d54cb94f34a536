/**
 * The Merge panel's word on basins after a run: which ingredients share none (src/core/report/basin.ts decides
 * and groups them, as the command line's warnings do), so the panel offers "Align first". No vscode: tested on
 * its own.
 */
import { ALIGN_HINT, ALIGNED_HINT, basinGroups, commonModel, isHighBarrier, listed } from "../core/report/basin.js";
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
  if (report.alignment) return `Even after alignment some ingredients share no basin: ${which} (${barrier}).`;
  return `Some ingredients share no basin: ${which} (${barrier}). ${likelyCause(
    high.map((p) => p.cosine),
    groups.none,
  )}`;
}

/**
 * Fine-tunes of one start keep their weights close (cosine near 1) even where a high learning rate carried them into
 * different valleys; networks trained from different initialisations are far apart (on the k-fold families measured
 * here, cosine about 0.75 with BatchNormalization's ones and zeros counted). Below this the weights count as far.
 */
export const CLOSE_WEIGHTS_COSINE = 0.9;

/**
 * What was measured says about why they share no basin, and the way out. The cosine alone cannot tell a fine-tune
 * moved far by a high learning rate (samples/digits ingredient-6: cosine 0.58–0.60) from a model trained from
 * another initialisation (the k-fold family: 0.53–0.62); the grouping can: when the others share a basin they
 * likely share a start, so "different initialisations" is said only when no two share one (`none`).
 */
export function likelyCause(cosines: readonly number[], none: boolean): string {
  const lo = Math.min(...cosines);
  const hi = Math.max(...cosines);
  const range = lo.toFixed(2) === hi.toFixed(2) ? lo.toFixed(2) : `${lo.toFixed(2)}–${hi.toFixed(2)}`;
  if (lo >= CLOSE_WEIGHTS_COSINE)
    return (
      `Their weights are close (cosine ${range}), so they likely started from one model and their training moved them apart ` +
      `(a high learning rate or long training does this); their units already match, so aligning will not help: ` +
      `leave them out, or let the greedy soup choose.`
    );
  if (none)
    return (
      `No two share a basin and their weights are far apart (cosine ${range}): they were likely trained from different ` +
      `initialisations; averaging them as given will likely fail. "Align first" permutes their units to match before averaging.`
    );
  return (
    `The others share a basin, so they likely share a start; the weights of those apart are far from theirs (cosine ${range}), ` +
    `as a fine-tune carried away by its training (a high learning rate, long training) or a model from another start shows. ` +
    `Leaving them out is the safe remedy; "Align first" helps only a model from another start.`
  );
}

/** Whether a report warning is one of the worker's basin warnings (the panel shows its one basin notice instead). */
export function isBasinWarning(warning: string): boolean {
  return warning.endsWith(ALIGN_HINT) || warning.endsWith(ALIGNED_HINT);
}
