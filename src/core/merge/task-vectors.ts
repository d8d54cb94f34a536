/** The building blocks shared by task-vector methods: deltas, trimming, random drops, sign consensus. */

export function taskVector(model: Float32Array, base: Float32Array): Float32Array {
  const out = new Float32Array(model.length);
  for (let j = 0; j < model.length; j++) out[j] = model[j]! - base[j]!;
  return out;
}

/** The value at ascending rank `index` (0-based) of `values`, which it reorders. Linear-time quickselect. */
function selectInPlace(values: Float32Array, index: number): number {
  let lo = 0;
  let hi = values.length - 1;
  const swap = (i: number, j: number): void => {
    const t = values[i]!;
    values[i] = values[j]!;
    values[j] = t;
  };
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const a = values[lo]!;
    const b = values[mid]!;
    const c = values[hi]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    // Three-way partition, so tensors with many equal magnitudes (zeros) do not degrade to quadratic time.
    let lt = lo;
    let i = lo;
    let gt = hi;
    while (i <= gt) {
      const v = values[i]!;
      if (v < pivot) swap(lt++, i++);
      else if (v > pivot) swap(i, gt--);
      else i++;
    }
    if (index < lt) hi = lt - 1;
    else if (index > gt) lo = gt + 1;
    else return pivot;
  }
  return values[lo]!;
}

/**
 * TIES trimming (mergekit's `magnitude` sparsification): keeps the k = ⌊density·n⌋ entries of largest
 * magnitude and zeroes the rest. Among equal magnitudes at the cut, earlier entries are kept (mergekit
 * leaves that order to torch's sort). k = 0 keeps nothing (mergekit refuses that case with an assertion).
 */
export function trimToTopK(delta: Float32Array, density: number): Float32Array {
  const n = delta.length;
  if (density >= 1) return delta.slice();
  const k = Math.trunc(density * n);
  const out = new Float32Array(n);
  if (k <= 0) return out;
  const magnitudes = new Float32Array(n);
  for (let j = 0; j < n; j++) magnitudes[j] = Math.abs(delta[j]!);
  const threshold = selectInPlace(magnitudes, n - k);
  let above = 0;
  for (let j = 0; j < n; j++) if (Math.abs(delta[j]!) > threshold) above++;
  let equalBudget = k - above;
  for (let j = 0; j < n; j++) {
    const m = Math.abs(delta[j]!);
    if (m > threshold) out[j] = delta[j]!;
    else if (m === threshold && equalBudget > 0) {
      out[j] = delta[j]!;
      equalBudget--;
    }
  }
  return out;
}

/**
 * DARE: drops each entry with probability p = 1 − density and, when `rescale`, divides the kept ones by
 * density = 1 − p so the expected task vector is unchanged. `random` yields uniforms in [0, 1).
 */
export function dropAndRescale(
  delta: Float32Array,
  density: number,
  rescale: boolean,
  random: () => number,
): Float32Array {
  if (density >= 1) return delta.slice();
  const out = new Float32Array(delta.length);
  const scale = rescale ? 1 / density : 1;
  for (let j = 0; j < delta.length; j++) {
    if (random() < density) out[j] = delta[j]! * scale;
  }
  return out;
}

export interface CombineOptions {
  /** TIES sign election: per entry, keep only the weighted deltas whose sign is that of their sum. */
  consensus: boolean;
  /** Divide by the sum of the weights (of the agreeing entries, under consensus). */
  normalize: boolean;
  /** Scale of the combined task vector before it is added to the base. */
  lambda: number;
}

/**
 * W_base + λ·mix(w_i·δ_i), as mergekit's generalized task arithmetic. Under consensus, the elected sign is
 * that of Σ w_i·δ_i (a zero sum elects +), entries that are exactly zero never count as agreeing, and with
 * `normalize` the agreeing entries are averaged with their weights (the "disjoint mean").
 */
export function combineTaskVectors(
  base: Float32Array,
  deltas: readonly Float32Array[],
  weights: readonly number[],
  options: CombineOptions,
): Float32Array {
  const n = base.length;
  const out = new Float32Array(n);
  let weightSum = 0;
  for (const w of weights) weightSum += w;
  const linearDivisor = Math.abs(weightSum) < 1e-8 ? 1 : weightSum;
  for (let j = 0; j < n; j++) {
    let mixed = 0;
    let divisor = linearDivisor;
    if (options.consensus) {
      let sum = 0;
      for (let i = 0; i < deltas.length; i++) sum += weights[i]! * deltas[i]![j]!;
      const elected = sum >= 0 ? 1 : -1;
      divisor = 0;
      for (let i = 0; i < deltas.length; i++) {
        const wd = weights[i]! * deltas[i]![j]!;
        if (Math.sign(wd) === elected) {
          mixed += wd;
          divisor += weights[i]!;
        }
      }
      if (divisor === 0) divisor = 1;
    } else {
      for (let i = 0; i < deltas.length; i++) mixed += weights[i]! * deltas[i]![j]!;
    }
    if (options.normalize) mixed /= divisor;
    out[j] = base[j]! + options.lambda * mixed;
  }
  return out;
}
