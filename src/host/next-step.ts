/**
 * What a finished run implies the user does next (the Merge panel's primary action): keep the best ingredient when
 * no merge beat it, and which ingredients to leave out of another run. Where the report says an ingredient hurts:
 * - the greedy soup (run as the method, or kept by a learned run) left it out: adding it raised the validation loss;
 * - the mergeability check found it sharing no basin with the largest group of the others (src/core/report/basin.ts).
 * No vscode: tested on its own (test/host/next-step.test.ts).
 */
import { basinGroups, isHighBarrier, listed } from "../core/report/basin.js";
import type { Verdict } from "../core/report/verdict.js";
import type { NextStep } from "../protocol/panel.js";
import type { SoupReport } from "../protocol/worker.js";

const GREEDY = "greedy soup";

/** The ingredients the greedy soup left out, when the merge is that greedy soup (model-level coefficients only). */
function leftOutByGreedy(report: Pick<SoupReport, "method" | "learning" | "coefficients" | "metrics">): string[] {
  const greedy = report.method === GREEDY || report.learning?.kept === GREEDY;
  if (!greedy || !Array.isArray(report.coefficients)) return [];
  const models = report.metrics.ingredients.map((m) => m.model);
  return models.filter(
    (_, i) => report.coefficients.length === models.length && (report.coefficients as number[])[i] === 0,
  );
}

/** The ingredients outside the largest group that shares a basin (none when no two share one: nothing to keep). */
function apartFromBasin(report: Pick<SoupReport, "mergeability" | "metrics">): string[] {
  if (report.mergeability.length === 0) return [];
  const models = report.metrics.ingredients.map((m) => m.model);
  const pairs = report.mergeability.map((p) => ({
    ...p,
    high: isHighBarrier(p.barrier, (p.endpointLoss[0] + p.endpointLoss[1]) / 2),
  }));
  const groups = basinGroups(models, pairs);
  if (groups.none || groups.main.length < 2) return [];
  return groups.apart.flat();
}

export function nextStep(
  report: Pick<SoupReport, "method" | "learning" | "coefficients" | "metrics" | "mergeability">,
  verdict: Pick<Verdict, "kind" | "bestIngredient">,
  label: (path: string) => string,
): NextStep {
  const models = report.metrics.ingredients.map((m) => m.model);
  const best = models[verdict.bestIngredient] ?? models[0]!;
  const greedy = leftOutByGreedy(report);
  const apart = apartFromBasin(report);
  // The best ingredient is never left out, and at least two ingredients stay for another merge.
  const paths = models.filter((m) => m !== best && (greedy.includes(m) || apart.includes(m)));
  const leftOut = greedy.filter((m) => paths.includes(m));
  const away = apart.filter((m) => paths.includes(m));
  const why = [
    ...(leftOut.length > 0
      ? [
          `the greedy soup left out ${listed(leftOut.map(label))}: adding ${leftOut.length === 1 ? "it" : "each"} raised the validation loss`,
        ]
      : []),
    ...(away.length > 0
      ? [`${listed(away.map(label))} ${away.length === 1 ? "shares" : "share"} no basin with the others`]
      : []),
  ].join("; ");
  const harmful = paths.length > 0 && models.length - paths.length >= 2 ? { paths, why } : undefined;
  return { kind: verdict.kind, best, ...(harmful ? { harmful } : {}) };
}
