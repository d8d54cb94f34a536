/**
 * Do two ingredients share a basin? The rule on the loss barrier at the midpoint of their weights, decided
 * here once: the worker warns with it, the editor offers "Align first" with it.
 */

/**
 * A barrier is "high" when the midpoint is clearly worse than the ends: by more than 0.05 in loss and by more than
 * a quarter of the ends' mean loss. Fine-tunes of one initialisation usually show a barrier ≤ 0; independently
 * initialised networks, a midpoint near chance.
 */
export function isHighBarrier(barrier: number, meanEndLoss: number): boolean {
  return barrier > 0.05 && barrier > 0.25 * meanEndLoss;
}

/** A measured pair, as reports carry it (protocol PairMergeability). */
export interface MeasuredPair {
  a: string;
  b: string;
  barrier: number;
  endpointLoss: readonly [number, number];
}

/** The pairs that share no basin: averaging them will likely fail unless their units are aligned first. */
export function pairsWithoutSharedBasin<P extends MeasuredPair>(pairs: readonly P[]): P[] {
  return pairs.filter((p) => isHighBarrier(p.barrier, (p.endpointLoss[0] + p.endpointLoss[1]) / 2));
}
