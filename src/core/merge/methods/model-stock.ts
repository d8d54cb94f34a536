import type { MergeMethod, MethodInput } from "../method.js";

/**
 * Model Stock's interpolation ratio for k fine-tunes whose task vectors meet at angle θ:
 * t = k·cosθ / (1 + (k − 1)·cosθ). When the denominator vanishes (cosθ = −1/(k − 1)) the ratio is
 * undefined; Model Soup then keeps the base (t = 0), where mergekit would produce inf/NaN.
 */
export function modelStockRatio(k: number, cos: number): number {
  const denominator = 1 + (k - 1) * cos;
  return denominator === 0 ? 0 : (k * cos) / denominator;
}

/**
 * The interpolation of one group of entries [start, start + length) with stride 1, as mergekit: the mean
 * of the pairwise cosines between the task vectors (each clamped to [−1, 1], norms floored at 1e-6).
 */
function mergeGroup(
  base: Float32Array,
  models: readonly Float32Array[],
  start: number,
  length: number,
  out: Float32Array,
): void {
  const k = models.length;
  const end = start + length;
  const norms = models.map((m) => {
    let s = 0;
    for (let j = start; j < end; j++) {
      const d = m[j]! - base[j]!;
      s += d * d;
    }
    return Math.sqrt(s);
  });
  let cosSum = 0;
  let pairs = 0;
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) {
      let dot = 0;
      for (let j = start; j < end; j++) dot += (models[a]![j]! - base[j]!) * (models[b]![j]! - base[j]!);
      const cos = dot / Math.max(norms[a]! * norms[b]!, 1e-6);
      cosSum += Math.min(1, Math.max(-1, cos));
      pairs++;
    }
  }
  const t = modelStockRatio(k, cosSum / pairs);
  for (let j = start; j < end; j++) {
    let mean = 0;
    for (const m of models) mean += m[j]!;
    mean /= k;
    out[j] = t * mean + (1 - t) * base[j]!;
  }
}

/** Model Stock: the average of the fine-tunes pulled toward the base by the ratio their angle implies. */
export const modelStock: MergeMethod = {
  id: "model_stock",
  mergekit: true,
  label: "Model Stock",
  reference: "https://arxiv.org/abs/2403.19522",
  base: "required",
  minModels: 2,
  maxModels: Infinity,
  scope: "tensor",
  globalParams: [
    {
      name: "filter_wise",
      kind: "boolean",
      default: false,
      description: "One angle per row (last axis) instead of one per tensor.",
    },
  ],
  modelParams: [],
  merge(input: MethodInput): Float32Array {
    const base = input.base!;
    const out = new Float32Array(base.length);
    const shape = input.tensor.shape;
    const rowLength = input.params.filter_wise && shape.length > 0 ? shape[shape.length - 1]! : base.length;
    if (rowLength === 0) return out;
    for (let start = 0; start < base.length; start += rowLength) mergeGroup(base, input.models, start, rowLength, out);
    return out;
  },
};
