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

/**
 * Ends the worker's basin warnings: alignment is the remedy for models trained from different initialisations.
 * In the command line's words; the editor, which offers "Align first" instead, drops it (withoutAlignHint).
 */
export const ALIGN_HINT = " Aligning their units first (--align weight or --align activation) may fix this.";

/** A report's warnings without the command-line hint, for a front end that offers alignment its own way. */
export function withoutAlignHint(warnings: readonly string[]): string[] {
  return warnings.map((w) => (w.endsWith(ALIGN_HINT) ? w.slice(0, -ALIGN_HINT.length) : w));
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

/** A pair as the worker measures it: indices into the models, each end's loss and the loss at the midpoint. */
export interface BarrierPair {
  a: number;
  b: number;
  lossA: number;
  lossB: number;
  lossMidpoint: number;
  high: boolean;
}

const range = (values: readonly number[]): string => {
  const lo = Math.min(...values).toFixed(3);
  const hi = Math.max(...values).toFixed(3);
  return lo === hi ? lo : `${lo}–${hi}`;
};

/**
 * The basin warnings, each ending with `hint`. When one model is in every pair that shares no basin (one odd
 * ingredient among fine-tunes of one start), one warning names it instead of one warning per pair.
 */
export function basinWarnings(pairs: readonly BarrierPair[], names: readonly string[], hint: string): string[] {
  const apart = pairs.filter((p) => p.high);
  const odd = apart.length >= 2 ? names.findIndex((_, m) => apart.every((p) => p.a === m || p.b === m)) : -1;
  if (odd >= 0) {
    const others = apart.map((p) => (p.a === odd ? p.b : p.a));
    const otherLosses = apart.map((p) => (p.a === odd ? p.lossB : p.lossA));
    const own = apart[0]!.a === odd ? apart[0]!.lossA : apart[0]!.lossB;
    const listed =
      others.length > 3
        ? `${others
            .slice(0, 3)
            .map((i) => names[i])
            .join(", ")} and ${others.length - 3} more`
        : others.map((i) => names[i]).join(", ");
    return [
      `${names[odd]} does not seem to share a basin with ${others.length} of the other ${names.length - 1} models ` +
        `(${listed}): halfway between its weights and theirs the loss is ${range(apart.map((p) => p.lossMidpoint))}, ` +
        `against ${own.toFixed(3)} for it and ${range(otherLosses)} for them. ` +
        `It was likely trained from another initialisation, or moved far from the others by its training; averaging it in will likely hurt.${hint}`,
    ];
  }
  return apart.map(
    (p) =>
      `${names[p.a]} and ${names[p.b]} do not seem to share a basin: halfway between their weights the loss is ` +
      `${p.lossMidpoint.toFixed(3)}, against ${p.lossA.toFixed(3)} and ${p.lossB.toFixed(3)} for the models themselves. ` +
      `They were likely trained from different initialisations; weight averaging will likely fail.${hint}`,
  );
}
