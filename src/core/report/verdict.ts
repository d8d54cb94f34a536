/**
 * The verdict of a soup comparison in words — did the merge beat its ingredients, and how far is it from the
 * output ensemble — and why a learning run stopped. Computed here once; the panel and the CLI show the same text.
 */

export interface ScoredModel {
  loss: number;
  metric: number;
}

export interface VerdictInput {
  metricName: "accuracy" | "mae" | "entropy";
  /** The merged soup's method as the report names it ("learned soup", "greedy soup", "linear", "uniform", …). */
  method?: string;
  metrics: {
    ingredients: ScoredModel[];
    uniform: ScoredModel;
    merged?: ScoredModel;
    ensemble: ScoredModel;
  };
}

export type VerdictKind = "merge-wins" | "ingredient-wins" | "no-labels";

export interface Verdict {
  kind: VerdictKind;
  text: string;
  /** 0-based index of the best ingredient on the test split. */
  bestIngredient: number;
}

/** How a learned soup's run ended (the fields of the report's learning summary this needs). */
export interface LearningEnd {
  steps: number;
  budget: { maxSteps: number };
  /** The step whose coefficients were kept (0: the start). */
  bestStep: number;
  stoppedBy: "early-stopping" | "budget" | "converged" | "iterations";
  /** "learned", or the candidate soup kept because no learned soup beat it on validation. */
  kept?: string;
  /** The candidate learning started from. */
  start?: string;
}

function soupName(method: string | undefined): string {
  switch (method) {
    case undefined:
    case "uniform":
      return "uniform soup";
    case "linear":
    case "weighted average":
      return "weighted average";
    default:
      return method;
  }
}

/**
 * The verdict of a comparison on held-out data. Accuracy differences are in percentage points; MAE
 * differences in the data's unit. Without labels (entropy) no winner is named.
 */
export function soupVerdict(input: VerdictInput): Verdict {
  const { metrics, metricName } = input;
  // "Goodness": larger is better, in the unit shown (points for accuracy).
  const good = (m: ScoredModel) => (metricName === "accuracy" ? m.metric * 100 : -m.metric);
  // Differences that round to zero in the unit shown count as level.
  const LEVEL = metricName === "accuracy" ? 0.05 : 0.0005;
  const bestIngredient = metrics.ingredients.reduce(
    (best, m, i) => (good(m) > good(metrics.ingredients[best]!) ? i : best),
    0,
  );
  const bestIngredientName = `ingredient ${bestIngredient + 1}`;
  if (metricName === "entropy") {
    return {
      kind: "no-labels",
      bestIngredient,
      text: "Without labels only the confidence (mean prediction entropy) is compared, which does not say which model is right: judge the merge on labelled data.",
    };
  }
  const candidates: { name: string; score: ScoredModel }[] = [];
  if (metrics.merged !== undefined) candidates.push({ name: soupName(input.method), score: metrics.merged });
  if (!candidates.some((c) => c.name === "uniform soup"))
    candidates.push({ name: "uniform soup", score: metrics.uniform });
  const best = candidates.reduce((a, b) => (good(b.score) > good(a.score) + LEVEL ? b : a));
  const gain = good(best.score) - good(metrics.ingredients[bestIngredient]!);
  if (gain <= LEVEL) {
    return {
      kind: "ingredient-wins",
      bestIngredient,
      text: `No merge beat the best ingredient (${bestIngredientName}): keep it, or add data.`,
    };
  }
  // Accuracy in percentage points ("+1.1 points"); MAE in the data's unit ("0.012 lower MAE").
  const size = (x: number) => Math.abs(x).toFixed(metricName === "accuracy" ? 1 : 3);
  const lead =
    metricName === "accuracy"
      ? `+${size(gain)} points over the best ingredient`
      : `${size(gain)} lower MAE than the best ingredient`;
  const toEnsemble = good(best.score) - good(metrics.ensemble);
  const ensemble =
    Math.abs(toEnsemble) <= LEVEL
      ? "level with the ensemble"
      : `${size(toEnsemble)} ${toEnsemble < 0 ? "below" : "above"} the ensemble`;
  const merged = candidates[0]!;
  const also = best !== merged ? `; the ${merged.name} scored ${size(good(best.score) - good(merged.score))} less` : "";
  return {
    kind: "merge-wins",
    bestIngredient,
    text: `The ${best.name} is the best single-size model: ${lead} (${bestIngredientName}), ${ensemble}${also}.`,
  };
}

/** Why a learning run ended where it did, and what it kept, in words. */
export function stopReason(end: LearningEnd): string {
  const total = end.budget.maxSteps;
  const candidate = end.kept !== undefined && end.kept !== "learned";
  const kept = candidate
    ? `${end.kept} is kept: no learned soup had a lower validation loss`
    : end.bestStep === 0
      ? `the start${end.start ? ` (${end.start})` : ""} is kept`
      : `the soup of step ${end.bestStep} is kept`;
  switch (end.stoppedBy) {
    case "early-stopping":
      return `Stopped early at step ${end.steps} of ${total}: the validation loss stopped improving, so ${kept}.`;
    case "converged":
      return `Stopped at step ${end.steps} of ${total}: the optimiser converged; ${kept}.`;
    case "budget":
    case "iterations":
      return `Ran all ${end.steps} steps of the budget; ${kept}${candidate ? "" : " (lowest validation loss)"}.`;
  }
}
