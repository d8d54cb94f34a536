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

/** Ends the basin warnings of models that were aligned first (replacing ALIGN_HINT). */
export const ALIGNED_HINT = " They were aligned first and still do not share one.";

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

/** A pair of models (any key: an index, a path) and whether their midpoint shows a high barrier. */
export interface BasinPair<K> {
  a: K;
  b: K;
  high: boolean;
}

/**
 * The models grouped by shared basins: two models are in one cluster when a path of pairs that share a basin
 * joins them (a pair not measured counts as shared: nothing says otherwise).
 */
export interface BasinGroups<K, P extends BasinPair<K> = BasinPair<K>> {
  /** The largest cluster (the first on a tie); empty when no two models share a basin. */
  main: K[];
  /** Every other cluster, in model order: models sharing no basin with any model outside their cluster. */
  apart: K[][];
  /** No two models share a basin (each is its own cluster). */
  none: boolean;
  /** High-barrier pairs inside one cluster (each model linked to the cluster only through others). */
  inside: P[];
}

export function basinGroups<K, P extends BasinPair<K>>(models: readonly K[], pairs: readonly P[]): BasinGroups<K, P> {
  const index = new Map(models.map((m, i) => [m, i]));
  const parent = models.map((_, i) => i);
  const root = (i: number): number => (parent[i] === i ? i : (parent[i] = root(parent[i]!)));
  const high = new Set(pairs.filter((p) => p.high).map((p) => `${index.get(p.a)}:${index.get(p.b)}`));
  for (let i = 0; i < models.length; i++)
    for (let j = i + 1; j < models.length; j++)
      if (!high.has(`${i}:${j}`) && !high.has(`${j}:${i}`)) parent[root(j)] = root(i);
  const clusters = new Map<number, K[]>();
  models.forEach((m, i) => {
    const r = root(i);
    clusters.set(r, [...(clusters.get(r) ?? []), m]);
  });
  const all = [...clusters.values()];
  const none = models.length >= 2 && all.length === models.length;
  const main = none ? [] : all.reduce((a, b) => (b.length > a.length ? b : a), all[0] ?? []);
  const inside = pairs.filter((p) => p.high && root(index.get(p.a)!) === root(index.get(p.b)!));
  return { main, apart: none ? all : all.filter((c) => c !== main), none, inside };
}

/** The model in every one of at least two pairs, if there is one. */
export function commonModel<K>(pairs: ReadonlyArray<{ a: K; b: K }>): K | undefined {
  if (pairs.length < 2) return undefined;
  const { a, b } = pairs[0]!;
  return [a, b].find((m) => pairs.every((p) => p.a === m || p.b === m));
}

/** "m1, m2 and m3", or the first three and how many more; `separator` between items that hold "and" themselves. */
export function listed(names: readonly string[], separator = ", "): string {
  const last = separator === ", " ? " and " : `${separator}and `;
  if (names.length > 4) return `${names.slice(0, 3).join(separator)}${last}${names.length - 3} more`;
  return names.length <= 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(separator)}${last}${names.at(-1)}`;
}

/**
 * The basin warnings, each ending with `hint`: one line per cluster of models that shares no basin with the
 * rest (one line when no two models share one), and one for high barriers inside a cluster. Ten pairs of five
 * models trained apart make one line, not ten.
 */
export function basinWarnings(pairs: readonly BarrierPair[], names: readonly string[], hint: string): string[] {
  const apartPairs = pairs.filter((p) => p.high);
  if (apartPairs.length === 0) return [];
  const models = names.map((_, i) => i);
  const groups = basinGroups(models, pairs);
  const ends = (ps: readonly BarrierPair[], side?: (m: number) => boolean) =>
    ps.flatMap((p) => [
      ...(side === undefined || side(p.a) ? [p.lossA] : []),
      ...(side === undefined || side(p.b) ? [p.lossB] : []),
    ]);
  const midpoints = (ps: readonly BarrierPair[]) => range(ps.map((p) => p.lossMidpoint));
  const lines: string[] = [];
  const single = (p: BarrierPair) =>
    `${names[p.a]} and ${names[p.b]} do not seem to share a basin: halfway between their weights the loss is ` +
    `${p.lossMidpoint.toFixed(3)}, against ${p.lossA.toFixed(3)} and ${p.lossB.toFixed(3)} for the models themselves. ` +
    `They were likely trained from different initialisations; weight averaging will likely fail.${hint}`;
  if (groups.none) {
    if (names.length === 2) return [single(apartPairs[0]!)];
    lines.push(
      `No two of the ${names.length} models share a basin (${listed(names)}): halfway between any two of them the loss is ` +
        `${midpoints(apartPairs)}, against ${range(ends(apartPairs))} for the models themselves. ` +
        `They were likely trained from different initialisations; weight averaging will likely fail.${hint}`,
    );
  }
  for (const cluster of groups.none ? [] : groups.apart) {
    const inCluster = (m: number) => cluster.includes(m);
    const across = apartPairs.filter((p) => inCluster(p.a) !== inCluster(p.b));
    const others = models.filter((m) => !inCluster(m));
    const them = `the other ${others.length} model${others.length === 1 ? "" : "s"} (${listed(others.map((m) => names[m]!))})`;
    const losses =
      `halfway between ${cluster.length === 1 ? "its weights" : "their weights"} and theirs the loss is ${midpoints(across)}, ` +
      `against ${range(ends(across, inCluster))} for ${cluster.length === 1 ? "it" : "them"} and ${range(ends(across, (m) => !inCluster(m)))} for the others`;
    lines.push(
      cluster.length === 1
        ? `${names[cluster[0]!]} does not seem to share a basin with ${them}: ${losses}. ` +
            `It was likely trained from another initialisation, or moved far from the others by its training; averaging it in will likely hurt.${hint}`
        : `${listed(cluster.map((m) => names[m]!))} share a basin with each other but not with ${them}: ${losses}. ` +
            `They were likely trained from another initialisation than the others; averaging across the groups will likely hurt.${hint}`,
    );
  }
  const inside = groups.inside;
  const hub = commonModel(inside);
  if (inside.length === 1) lines.push(single(inside[0]!));
  else if (hub !== undefined) {
    // One model apart from several others while sharing a basin with some (a fine-tune moved far by its training).
    const others = inside.map((p) => (p.a === hub ? p.b : p.a));
    const own = inside[0]!.a === hub ? inside[0]!.lossA : inside[0]!.lossB;
    lines.push(
      `${names[hub]} does not seem to share a basin with ${others.length} of the other ${names.length - 1} models ` +
        `(${listed(others.map((m) => names[m]!))}): halfway between its weights and theirs the loss is ${midpoints(inside)}, ` +
        `against ${own.toFixed(3)} for it and ${range(ends(inside, (m) => m !== hub))} for them. ` +
        `It was likely trained from another initialisation, or moved far from the others by its training; averaging it in will likely hurt.${hint}`,
    );
  } else if (inside.length > 1) {
    lines.push(
      `These pairs do not seem to share a basin: ${listed(
        inside.map((p) => `${names[p.a]} and ${names[p.b]}`),
        "; ",
      )}. ` +
        `Halfway between their weights the loss is ${midpoints(inside)}, against ${range(ends(inside))} for the models themselves. ` +
        `They were likely trained from different initialisations; weight averaging will likely fail.${hint}`,
    );
  }
  return lines;
}
