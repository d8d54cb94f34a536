// The metrics that fit the task, from plain arrays: balanced accuracy and ROC AUC for classifiers, R² and MAE for
// regression. Accuracy alone misleads on imbalanced data ("always the majority class" scores its share), so the
// reports carry these beside it. score.ts feeds them from the model's predictions.

/** Mean per-class recall over the classes present in `truth` (scikit-learn's balanced_accuracy_score). */
export function balancedAccuracy(truth: ArrayLike<number>, predicted: ArrayLike<number>): number {
  const hits = new Map<number, number>();
  const rows = new Map<number, number>();
  for (let i = 0; i < truth.length; i++) {
    const c = truth[i]!;
    rows.set(c, (rows.get(c) ?? 0) + 1);
    if (predicted[i] === c) hits.set(c, (hits.get(c) ?? 0) + 1);
  }
  if (rows.size === 0) return Number.NaN;
  let sum = 0;
  for (const [c, n] of rows) sum += (hits.get(c) ?? 0) / n;
  return sum / rows.size;
}

/**
 * Area under the ROC curve of `scores` for the positive rows (`positive[i]` true): the probability that a random
 * positive scores above a random negative, ties counting one half (Mann–Whitney U with mid-ranks). NaN when one
 * of the two classes is absent.
 */
export function rocAuc(positive: ArrayLike<boolean>, scores: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let start = 0; start < n;) {
    let end = start;
    while (end + 1 < n && scores[order[end + 1]!] === scores[order[start]!]) end++;
    const midRank = (start + end) / 2 + 1; // ranks are 1-based
    for (let k = start; k <= end; k++) {
      if (positive[order[k]!]) {
        positives++;
        rankSum += midRank;
      }
    }
    start = end + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Coefficient of determination of row-major [rows, outputs] arrays, averaged over the outputs (scikit-learn's
 * r2_score, "uniform_average"). An output whose truth is constant has no R²; NaN when none has one.
 */
export function rSquared(truth: ArrayLike<number>, predicted: ArrayLike<number>, outputs = 1): number {
  const rows = Math.floor(truth.length / outputs);
  let sum = 0;
  let counted = 0;
  for (let o = 0; o < outputs; o++) {
    let mean = 0;
    for (let r = 0; r < rows; r++) mean += truth[r * outputs + o]!;
    mean /= rows;
    let residual = 0;
    let total = 0;
    for (let r = 0; r < rows; r++) {
      const t = truth[r * outputs + o]!;
      residual += (t - predicted[r * outputs + o]!) ** 2;
      total += (t - mean) ** 2;
    }
    if (total > 0) {
      sum += 1 - residual / total;
      counted++;
    }
  }
  return counted === 0 ? Number.NaN : sum / counted;
}

/** Mean absolute error over every value. */
export function meanAbsoluteError(truth: ArrayLike<number>, predicted: ArrayLike<number>): number {
  if (truth.length === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < truth.length; i++) sum += Math.abs(truth[i]! - predicted[i]!);
  return sum / truth.length;
}

/** Rows of each class 0..k-1 (k: the largest class index seen + 1, at least `classes`). */
export function classCounts(truth: ArrayLike<number>, classes = 0): number[] {
  let k = classes;
  for (let i = 0; i < truth.length; i++) k = Math.max(k, truth[i]! + 1);
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < truth.length; i++) counts[truth[i]!] = counts[truth[i]!]! + 1;
  return counts;
}
