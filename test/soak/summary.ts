/** The soak's figures as text: what docs/reliability.md quotes, and what `npm run soak` prints. */
import type { Flatness } from "./flat.js";
import type { SoakRun } from "./harness.js";

export function soakSummary(run: SoakRun, flat: Flatness): string {
  const mib = (v: number) => `${v.toFixed(1)} MiB`;
  const kinds = Object.entries(run.jobsPerKind)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, n]) => `${kind} ${n}`)
    .join(", ");
  const ms = run.samples.map((s) => s.ms).sort((a, b) => a - b);
  return [
    `jobs: ${run.samples.length} in one worker (${run.distinctJobs} distinct, backend ${run.backend}), ${run.seconds.toFixed(1)} s; the same jobs in fresh workers ${run.referenceSeconds.toFixed(1)} s`,
    `jobs per kind: ${kinds}`,
    `job time: median ${ms[ms.length >> 1]!.toFixed(0)} ms, max ${ms[ms.length - 1]!.toFixed(0)} ms`,
    `warm-up: ${flat.warmUpJobs} jobs; measured after it: ${flat.measuredJobs}`,
    `RSS: ${mib(flat.rssWarmUpMiB)} after warm-up, ${mib(flat.rssEndMiB)} at the end (${flat.rssGrowthMiB >= 0 ? "+" : ""}${mib(flat.rssGrowthMiB)}), slope ${flat.rssSlopeMiBPer100.toFixed(2)} MiB per 100 jobs, max ${mib(flat.rssMaxMiB)}`,
    `JS heap in use (after a full GC): ${mib(flat.heapWarmUpMiB)} after warm-up, ${mib(flat.heapEndMiB)} at the end (${flat.heapGrowthMiB >= 0 ? "+" : ""}${mib(flat.heapGrowthMiB)}), slope ${flat.heapSlopeMiBPer100.toFixed(2)} MiB per 100 jobs${flat.slopesAsserted ? "" : " (slopes reported, not asserted: too few jobs)"}`,
    `TF.js tensors: ${flat.tensorsWarmUp} at warm-up, ${flat.tensorsAfterJobs.min}..${flat.tensorsAfterJobs.max} after each job`,
    `open file descriptors: ${flat.fdsWarmUp} at warm-up, ${flat.fdsAfterJobs.min}..${flat.fdsAfterJobs.max} after each job`,
    `answers equal to a fresh worker's: ${run.samples.length - run.mismatches.length} of ${run.samples.length}; outcome as expected (success or failure): ${run.samples.length - run.unexpected.length} of ${run.samples.length}`,
    ...flat.problems.map((p) => `NOT FLAT: ${p}`),
    ...run.mismatches.slice(0, 10).map((m) => `DIFFERS: job ${m.job} (${m.name}): ${m.difference}`),
    ...run.unexpected.slice(0, 10).map((u) => `UNEXPECTED: job ${u.job} (${u.name}): ${u.outcome}`),
  ].join("\n");
}
