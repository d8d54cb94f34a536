/**
 * The verdict of a soup comparison in words — did the merge beat its ingredients, and how far is it from the
 * output ensemble — and why a learning run stopped and what it kept. Computed here once; the panel and the CLI
 * show the same text.
 *
 * Merges are ranked by the loss (the objective they are learned and chosen by), never by accuracy alone: on
 * imbalanced data a soup that always predicts the majority class can gain accuracy while its loss, balanced
 * accuracy and AUC collapse. Every other metric the report has is said beside the loss, better or worse.
 */
import { methodShortName } from "../../protocol/choices.js";

export interface ScoredModel {
  loss: number;
  metric: number;
  balancedAccuracy?: number;
  auc?: number;
  r2?: number;
}

/** What a learned soup's run decided on validation (the fields of the report's learning summary this needs). */
export interface KeptDecision {
  /** "learned", or the candidate soup kept because no learned soup beat it on validation. */
  kept: string;
  /** The candidates in the learner's order: the uniform soup, each ingredient, then further soups. */
  candidates?: ReadonlyArray<{ name: string }>;
  /** The kept soup's validation score. */
  validation?: { loss: number };
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
    alignedUniform?: ScoredModel;
    /** Further merges on the same test rows (`evaluate --methods`). */
    methods?: ReadonlyArray<{ method: string } & ScoredModel>;
  };
  /** A learned soup: what learning kept. The headline then speaks of that decision and how it held on test. */
  learning?: KeptDecision;
  /** Rows of each class among the test rows (classification). */
  testClassCounts?: readonly number[];
}

export type VerdictKind = "merge-wins" | "ingredient-wins" | "no-labels";

export interface Verdict {
  kind: VerdictKind;
  /** The headline. */
  text: string;
  /** Lines to read with it (one class holding most test rows). */
  notes: string[];
  /** 0-based index of the best ingredient on the test split (lowest loss). */
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

/** Differences in loss that round to zero at the four decimals shown count as level. */
const LEVEL_LOSS = 0.00005;
/** A class holding at least this share of the test rows gets the line on accuracy's blind spot. */
const MAJORITY_SHARE = 0.6;

function soupName(method: string | undefined): string {
  switch (method) {
    case undefined:
    case "uniform":
      return "uniform soup";
    case "linear":
    case "weighted average":
      return "weighted average";
    default: {
      // A method id (the panel's fixed merges) reads as its name mid-sentence: "ties" as "TIES", "task_arithmetic"
      // as "task arithmetic" (a plain capitalised phrase is lowered; names such as "Model Stock" are kept).
      const name = methodShortName(method);
      if (name === undefined) return method;
      return /^[A-Z][a-z]+( [a-z]+)*$/.test(name) ? name[0]!.toLowerCase() + name.slice(1) : name;
    }
  }
}

type Metric = { key: keyof ScoredModel; label: string; points: boolean };

/** The metrics a verdict states beside the loss, in the order shown. */
function metricsOf(metricName: "accuracy" | "mae"): Metric[] {
  return metricName === "accuracy"
    ? [
        { key: "metric", label: "accuracy", points: true },
        { key: "balancedAccuracy", label: "balanced accuracy", points: true },
        { key: "auc", label: "AUC", points: false },
      ]
    : [
        { key: "metric", label: "MAE", points: false },
        { key: "r2", label: "R²", points: false },
      ];
}

const signed = (x: number, digits: number) => `${x < 0 ? "−" : "+"}${Math.abs(x).toFixed(digits)}`;

/** "accuracy +0.8 points, balanced accuracy −2.1 points, AUC +0.012": each metric both models have, a minus b. */
function metricDeltas(metricName: "accuracy" | "mae", a: ScoredModel, b: ScoredModel): string {
  const parts: string[] = [];
  for (const { key, label, points } of metricsOf(metricName)) {
    const x = a[key];
    const y = b[key];
    if (x === undefined || y === undefined) continue;
    const delta = points ? (x - y) * 100 : x - y;
    const digits = points ? 1 : 3;
    const level = Math.abs(delta) < 0.5 * 10 ** -digits;
    parts.push(level ? `${label} level` : `${label} ${signed(delta, digits)}${points ? " points" : ""}`);
  }
  return parts.join(", ");
}

/** The primary metric's goodness: larger is better (accuracy, or MAE negated). */
function goodness(metricName: "accuracy" | "mae", m: ScoredModel): number {
  return metricName === "accuracy" ? m.metric : -m.metric;
}

/** Lowest loss first; on a level loss, the better metric. */
function better(metricName: "accuracy" | "mae", a: ScoredModel, b: ScoredModel): boolean {
  if (Math.abs(a.loss - b.loss) >= LEVEL_LOSS) return a.loss < b.loss;
  return goodness(metricName, a) > goodness(metricName, b);
}

function ensembleGap(best: ScoredModel, ensemble: ScoredModel): string {
  const gap = best.loss - ensemble.loss;
  if (Math.abs(gap) < LEVEL_LOSS) return "level with the ensemble's loss";
  return `loss ${Math.abs(gap).toFixed(4)} ${gap > 0 ? "above" : "below"} the ensemble's`;
}

/**
 * The merge against the best ingredient: "loss 0.4557 against 0.4876 for the best ingredient (ingredient 3),
 * accuracy +0.8 points, …".
 */
function againstBest(metricName: "accuracy" | "mae", merge: ScoredModel, best: ScoredModel, bestName: string) {
  const deltas = metricDeltas(metricName, merge, best);
  return `loss ${merge.loss.toFixed(4)} against ${best.loss.toFixed(4)} for the best ingredient (${bestName})${deltas ? `, ${deltas}` : ""}`;
}

/** What learning kept, as the headline, the "Kept:" line and the stop reason all name it. */
export interface KeptSoup {
  /** "learned soup", "greedy soup", "uniform soup", or the kept ingredient's name. */
  name: string;
  learned: boolean;
  /** The kept candidate is this ingredient alone (0-based). */
  ingredient?: number;
}

/** The decision of a learned run, named: the learned path, or which candidate (the learner's order: uniform, each ingredient, then others). */
export function keptSoup(decision: KeptDecision, method: string | undefined, ingredients: number): KeptSoup {
  if (decision.kept === "learned") return { name: soupName(method ?? "learned soup"), learned: true };
  const index = decision.candidates?.findIndex((c) => c.name === decision.kept) ?? -1;
  return {
    name: decision.kept,
    learned: false,
    ...(index >= 1 && index <= ingredients ? { ingredient: index - 1 } : {}),
  };
}

/** The "Kept:" line of a learned run: the same decision the headline speaks of. */
export function keptLine(decision: KeptDecision): string {
  const what =
    decision.kept === "learned"
      ? "Kept: the learned soup (lower validation loss than every candidate)"
      : `Kept: ${decision.kept} (no learned soup had a lower validation loss)`;
  return what + (decision.validation !== undefined ? `; validation loss ${decision.validation.loss.toFixed(4)}` : "");
}

/**
 * The line for a test split where one class holds most rows: accuracy alone then flatters a model that always
 * predicts that class, so the reader is sent to balanced accuracy (and AUC).
 */
export function majorityClassNote(counts: readonly number[] | undefined, hasAuc: boolean): string | undefined {
  if (counts === undefined || counts.length < 2) return undefined;
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const majority = counts.reduce((best, c, i) => (c > counts[best]! ? i : best), 0);
  const share = counts[majority]! / total;
  if (share < MAJORITY_SHARE) return undefined;
  const pct = `${(share * 100).toFixed(1)} %`;
  return (
    `Class ${majority} holds ${pct} of the test rows: accuracy alone would call "always class ${majority}" ${pct}; ` +
    `see balanced accuracy${hasAuc ? " and AUC" : ""}.`
  );
}

/**
 * The verdict of a comparison on held-out data, ranked by the loss. With a learned run's decision, the headline
 * is that decision (made on validation) and how it held on the test rows. Without labels (entropy) no winner is
 * named.
 */
export function soupVerdict(input: VerdictInput): Verdict {
  const { metrics, metricName } = input;
  const name = metricName === "entropy" ? "accuracy" : metricName;
  const bestIngredient = metrics.ingredients.reduce(
    (best, m, i) => (better(name, m, metrics.ingredients[best]!) ? i : best),
    0,
  );
  if (metricName === "entropy") {
    return {
      kind: "no-labels",
      bestIngredient,
      notes: [],
      text: "Without labels only the confidence (mean prediction entropy) is compared, which does not say which model is right: judge the merge on labelled data.",
    };
  }
  const note = majorityClassNote(
    metricName === "accuracy" ? input.testClassCounts : undefined,
    metrics.ingredients.some((m) => m.auc !== undefined),
  );
  const notes = note !== undefined ? [note] : [];
  const best = metrics.ingredients[bestIngredient]!;
  const bestName = `ingredient ${bestIngredient + 1}`;
  const beats = (m: ScoredModel) => m.loss < best.loss - LEVEL_LOSS;
  const verdict = (kind: VerdictKind, text: string): Verdict => ({ kind, text, notes, bestIngredient });

  if (input.learning !== undefined && metrics.merged !== undefined) {
    const kept = keptSoup(input.learning, input.method, metrics.ingredients.length);
    if (kept.ingredient !== undefined) {
      const validation =
        input.learning.validation !== undefined
          ? ` (validation loss ${input.learning.validation.loss.toFixed(4)})`
          : "";
      const onTest =
        kept.ingredient === bestIngredient
          ? "on the test rows it also has the lowest loss of the ingredients"
          : `on the test rows ${bestName} has a lower loss (${best.loss.toFixed(4)} against ${metrics.ingredients[kept.ingredient]!.loss.toFixed(4)})`;
      return verdict(
        "ingredient-wins",
        `No merge beat ${kept.name} (ingredient ${kept.ingredient + 1}) on validation, so it is kept as it is${validation}; ${onTest}.`,
      );
    }
    const merged = metrics.merged;
    if (beats(merged))
      return verdict(
        "merge-wins",
        `The ${kept.name} is the best single-size model: ${againstBest(name, merged, best, bestName)}; ${ensembleGap(merged, metrics.ensemble)}.`,
      );
    return verdict(
      "ingredient-wins",
      `Kept the ${kept.name} (lowest validation loss), but on the test rows it does not beat the best ingredient: ${againstBest(name, merged, best, bestName)}.`,
    );
  }

  const candidates: { name: string; score: ScoredModel }[] = [];
  const add = (candidate: string, score: ScoredModel | undefined) => {
    if (score !== undefined && !candidates.some((c) => c.name === candidate))
      candidates.push({ name: candidate, score });
  };
  add(soupName(input.method), metrics.merged);
  add("uniform soup", metrics.uniform);
  add("aligned uniform soup", metrics.alignedUniform);
  for (const m of metrics.methods ?? []) add(m.method, m);
  const top = candidates.reduce((a, b) => (better(name, b.score, a.score) ? b : a));
  if (beats(top.score)) {
    const own = metrics.merged !== undefined ? candidates[0]! : undefined;
    const also =
      own !== undefined && own !== top
        ? `; the ${own.name}'s loss is ${(own.score.loss - top.score.loss).toFixed(4)} higher`
        : "";
    return verdict(
      "merge-wins",
      `The ${top.name} is the best single-size model: ${againstBest(name, top.score, best, bestName)}; ${ensembleGap(top.score, metrics.ensemble)}${also}.`,
    );
  }
  // A merge may still look better by its metric alone (on imbalanced data, a soup drifting to the majority class).
  const LEVEL_METRIC = 0.0005;
  const flattering = candidates
    .filter((c) => goodness(name, c.score) > goodness(name, best) + LEVEL_METRIC)
    .reduce<(typeof candidates)[number] | undefined>(
      (a, b) => (a === undefined || goodness(name, b.score) > goodness(name, a.score) ? b : a),
      undefined,
    );
  if (flattering !== undefined) {
    return verdict(
      "ingredient-wins",
      `No merge beat the best ingredient (${bestName}) on loss: the ${flattering.name} scores ${metricDeltas(name, flattering.score, best)}, ` +
        `but its loss is ${flattering.score.loss.toFixed(4)} against ${best.loss.toFixed(4)}; keep the best ingredient, or add data.`,
    );
  }
  return verdict("ingredient-wins", `No merge beat the best ingredient (${bestName}): keep it, or add data.`);
}

/** The headline and its notes as one paragraph (the panel shows them together). */
export function verdictParagraph(v: Verdict): string {
  return [v.text, ...v.notes].join(" ");
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
