/** Applies permutations of units to a model's tensors. */
import { UsageError } from "../errors.js";
import type { TensorArray } from "../tensor.js";
import type { AlignmentPlan, Permutations } from "./plan.js";

/** For one tensor: per permuted axis, the source index of every index along it. */
export type TensorReorder = Map<number, Int32Array>;

export function identity(size: number): number[] {
  return Array.from({ length: size }, (_, i) => i);
}

export function isIdentity(perm: readonly number[]): boolean {
  return perm.every((p, i) => p === i);
}

/** Throws when `perm` is not a permutation of 0..size-1. */
export function checkPermutation(perm: unknown, size: number, what: string): asserts perm is number[] {
  if (!Array.isArray(perm) || perm.length !== size)
    throw new UsageError(`${what}: expected a permutation of ${size} units`);
  const seen = new Uint8Array(size);
  for (const p of perm) {
    if (!Number.isInteger(p) || p < 0 || p >= size || seen[p])
      throw new UsageError(`${what}: expected a permutation of 0..${size - 1}`);
    seen[p] = 1;
  }
}

/**
 * What every tensor's axes become under `permutations` (groups without an entry stay as they are). Each
 * tensor appears only when one of its axes moves. `shapes` gives each tensor's shape by name.
 */
export function tensorReorders(
  plan: AlignmentPlan,
  permutations: Permutations,
  shapes: ReadonlyMap<string, readonly number[]>,
): Map<string, TensorReorder> {
  const reorders = new Map<string, TensorReorder>();
  for (const group of plan.groups) {
    const perm = permutations[group.id];
    if (perm === undefined || isIdentity(perm)) continue;
    checkPermutation(perm, group.size, `the permutation of "${group.id}"`);
    for (const m of group.members) {
      const shape = shapes.get(m.tensor);
      if (!shape) throw new UsageError(`the alignment names tensor "${m.tensor}", which the model does not have`);
      const width = m.width ?? 1;
      const length = shape[m.axis];
      const whole = [m.axis, m.offset, m.period, m.count, width].every((v) => Number.isInteger(v) && v >= 0);
      if (
        length === undefined ||
        !whole ||
        m.count < 1 ||
        width < 1 ||
        (m.count > 1 && m.period < group.size * width) ||
        m.offset + (m.count - 1) * m.period + group.size * width > length
      )
        throw new UsageError(
          `the alignment places ${group.size} units of "${group.id}" outside axis ${m.axis} of tensor "${m.tensor}" [${shape.join(", ")}]`,
        );
      const axes = reorders.get(m.tensor) ?? new Map<number, Int32Array>();
      const source = axes.get(m.axis) ?? Int32Array.from(identity(length));
      for (let k = 0; k < m.count; k++) {
        const base = m.offset + k * m.period;
        for (let j = 0; j < group.size; j++) {
          for (let q = 0; q < width; q++) source[base + j * width + q] = base + perm[j]! * width + q;
        }
      }
      axes.set(m.axis, source);
      reorders.set(m.tensor, axes);
    }
  }
  return reorders;
}

/** A copy of `data` (row-major, of `shape`) with each reordered axis gathered from its source indices. */
export function reorderTensor<T extends TensorArray>(
  data: T,
  shape: readonly number[],
  reorder: TensorReorder | undefined,
): T {
  if (reorder === undefined || reorder.size === 0) return data;
  let current = data;
  for (const [axis, source] of reorder) {
    const length = shape[axis]!;
    let inner = 1;
    for (let d = axis + 1; d < shape.length; d++) inner *= shape[d]!;
    const outer = current.length / (length * inner);
    const out = new (current.constructor as new (n: number) => T)(current.length);
    for (let o = 0; o < outer; o++) {
      for (let a = 0; a < length; a++) {
        const to = (o * length + a) * inner;
        const from = (o * length + source[a]!) * inner;
        (out as unknown as { set(s: ArrayLike<unknown>, at: number): void }).set(
          current.subarray(from, from + inner) as ArrayLike<unknown>,
          to,
        );
      }
    }
    current = out;
  }
  return current;
}

/** Applies `permutations` to every tensor of a model given as name → values, returning new arrays. */
export function permuteTensors(
  plan: AlignmentPlan,
  permutations: Permutations,
  tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>,
): Map<string, Float32Array> {
  const shapes = new Map([...tensors].map(([name, t]) => [name, t.shape]));
  const reorders = tensorReorders(plan, permutations, shapes);
  return new Map([...tensors].map(([name, t]) => [name, reorderTensor(t.data, t.shape, reorders.get(name))]));
}
