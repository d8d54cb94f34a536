/**
 * Weight matching (Ainsworth, Hayase & Srinivasa, "Git Re-Basin", 2022): permute model B's units so that its
 * weights are as close as possible to reference A's, without data. Coordinate descent over the permutation
 * groups: for one group, with every other group held, the best permutation is a linear assignment on the
 * summed inner products of the unit slices of every tensor the group touches; repeat until no group changes.
 */
import { mulberry32, shuffleInPlace } from "../random.js";
import { assignmentScore, maximiseAssignment } from "./assignment.js";
import { identity, reorderTensor, tensorReorders } from "./permute.js";
import type { AlignmentPlan, AxisMember, Permutations } from "./plan.js";

export interface NamedTensor {
  shape: readonly number[];
  data: Float32Array;
}

export interface WeightMatchingOptions {
  /** Orders the groups of each sweep (seeded, so a run repeats). */
  seed?: number;
  maxSweeps?: number;
}

export interface WeightMatchingResult {
  permutations: Permutations;
  sweeps: number;
}

/** The rows of one member's unit slices: row u holds every value of `t` at unit u's indices along the axis. */
function unitRows(t: NamedTensor, m: AxisMember, units: number): { rows: Float32Array; width: number } {
  const { shape, data } = t;
  const length = shape[m.axis]!;
  let inner = 1;
  for (let d = m.axis + 1; d < shape.length; d++) inner *= shape[d]!;
  const outer = data.length / (length * inner);
  const block = m.width ?? 1;
  const width = m.count * block * outer * inner;
  const rows = new Float32Array(units * width);
  for (let u = 0; u < units; u++) {
    let at = u * width;
    for (let k = 0; k < m.count; k++) {
      for (let q = 0; q < block; q++) {
        const index = m.offset + u * block + q + k * m.period;
        if (inner === 1) {
          for (let o = 0; o < outer; o++) rows[at++] = data[o * length + index]!;
        } else {
          for (let o = 0; o < outer; o++) {
            const from = (o * length + index) * inner;
            rows.set(data.subarray(from, from + inner), at);
            at += inner;
          }
        }
      }
    }
  }
  return { rows, width };
}

/** score[j][i] += ⟨A's unit j, B's unit i⟩ over one member (A's rows, which never change, come ready). */
function addInnerProducts(
  score: Float64Array,
  units: number,
  ra: { rows: Float32Array; width: number },
  b: NamedTensor,
  m: AxisMember,
): void {
  const rb = unitRows(b, m, units);
  const w = ra.width;
  const A = ra.rows;
  const B = rb.rows;
  for (let j = 0; j < units; j++) {
    const aj = j * w;
    for (let i = 0; i < units; i++) {
      const bi = i * w;
      let sum = 0;
      for (let x = 0; x < w; x++) sum += A[aj + x]! * B[bi + x]!;
      score[j * units + i] += sum;
    }
  }
}

/**
 * Permutations of B's groups that bring B's weights closest to A's (largest Σ⟨A, P(B)⟩). Tensors are named as
 * the plan names them; both maps must hold every tensor the plan's groups touch.
 */
export function weightMatching(
  plan: AlignmentPlan,
  a: ReadonlyMap<string, NamedTensor>,
  b: ReadonlyMap<string, NamedTensor>,
  options: WeightMatchingOptions = {},
): WeightMatchingResult {
  const permutations: Permutations = Object.fromEntries(plan.groups.map((g) => [g.id, identity(g.size)]));
  const shapes = new Map([...b].map(([name, t]) => [name, t.shape]));
  const current = new Map(b);
  const random = mulberry32(options.seed ?? 0);
  const maxSweeps = options.maxSweeps ?? 100;
  const order = plan.groups.map((_, i) => i);
  const referenceRows = new Map<AxisMember, { rows: Float32Array; width: number }>();
  for (const group of plan.groups)
    for (const m of group.members) referenceRows.set(m, unitRows(a.get(m.tensor)!, m, group.size));
  let sweeps = 0;
  for (; sweeps < maxSweeps; sweeps++) {
    shuffleInPlace(order, random);
    let changed = false;
    for (const g of order) {
      const group = plan.groups[g]!;
      const n = group.size;
      const score = new Float64Array(n * n);
      for (const m of group.members) addInnerProducts(score, n, referenceRows.get(m)!, current.get(m.tensor)!, m);
      const sigma = maximiseAssignment(score, n);
      const before = assignmentScore(score, n, identity(n));
      const after = assignmentScore(score, n, sigma);
      // Only a strict improvement counts, so rounding cannot make two equal assignments swap forever.
      if (!(after > before + 1e-9 * Math.max(1, Math.abs(before)))) continue;
      const perm = permutations[group.id]!;
      permutations[group.id] = sigma.map((s) => perm[s]!);
      changed = true;
      const touched = new Set(group.members.map((m) => m.tensor));
      const reorders = tensorReorders(plan, permutations, shapes);
      for (const name of touched) {
        const original = b.get(name)!;
        current.set(name, {
          shape: original.shape,
          data: reorderTensor(original.data, original.shape, reorders.get(name)),
        });
      }
    }
    if (!changed) break;
  }
  return { permutations, sweeps: sweeps + 1 };
}
