/** How far two tensors of one shape are apart: relative difference, cosine and largest absolute difference. */

export interface TensorDifference {
  /** ‖b − a‖ / ‖a‖, or ‖b − a‖ when a is all zeros. */
  relativeDifference: number;
  /** ⟨a, b⟩ / (‖a‖ ‖b‖); 1 when both are all zeros (they are equal), 0 when only one is. */
  cosine: number;
  maxAbsDifference: number;
  /** The sums behind them, so tensors can be pooled into one model-wide figure. */
  sums: DifferenceSums;
}

export interface DifferenceSums {
  /** ⟨a, b⟩, ‖a‖², ‖b‖², ‖b − a‖² */
  dot: number;
  normA: number;
  normB: number;
  difference: number;
  maxAbs: number;
}

export const EMPTY_SUMS: DifferenceSums = { dot: 0, normA: 0, normB: 0, difference: 0, maxAbs: 0 };

/** One pass in float64. A non-finite value makes every figure NaN (the caller reports it). */
export function differenceSums(a: ArrayLike<number>, b: ArrayLike<number>): DifferenceSums {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  let difference = 0;
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    const d = y - x;
    dot += x * y;
    normA += x * x;
    normB += y * y;
    difference += d * d;
    const abs = Math.abs(d);
    if (abs > maxAbs || Number.isNaN(abs)) maxAbs = abs;
  }
  return { dot, normA, normB, difference, maxAbs };
}

export function addSums(s: DifferenceSums, t: DifferenceSums): DifferenceSums {
  return {
    dot: s.dot + t.dot,
    normA: s.normA + t.normA,
    normB: s.normB + t.normB,
    difference: s.difference + t.difference,
    maxAbs: Number.isNaN(s.maxAbs) || Number.isNaN(t.maxAbs) ? NaN : Math.max(s.maxAbs, t.maxAbs),
  };
}

/** The figures of a pair (or of pooled pairs) from their sums. */
export function fromSums(sums: DifferenceSums): TensorDifference {
  const { dot, normA, normB, difference } = sums;
  const relativeDifference = normA === 0 ? Math.sqrt(difference) : Math.sqrt(difference / normA);
  // √(‖a‖²‖b‖²) in one root, so a tensor against itself gives exactly 1 (unless the product overflows).
  const product = normA * normB;
  const denominator = Number.isFinite(product) ? Math.sqrt(product) : Math.sqrt(normA) * Math.sqrt(normB);
  const cosine = normA === 0 && normB === 0 ? 1 : normA === 0 || normB === 0 ? 0 : dot / denominator;
  // Rounding can put the cosine of near-equal tensors a hair above 1.
  return {
    relativeDifference,
    cosine: Number.isNaN(cosine) ? NaN : Math.max(-1, Math.min(1, cosine)),
    maxAbsDifference: sums.maxAbs,
    sums,
  };
}

export function tensorDifference(a: ArrayLike<number>, b: ArrayLike<number>): TensorDifference {
  if (a.length !== b.length) throw new RangeError(`tensors of ${a.length} and ${b.length} values cannot be compared`);
  return fromSums(differenceSums(a, b));
}
