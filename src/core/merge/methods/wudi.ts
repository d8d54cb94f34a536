/**
 * WUDI merging (Cheng et al., ICML 2025, "Whoever Started the Interference Should End It: Guiding Data-Free Model
 * Merging via Task Vectors"): the rows of a linear layer's task vector τ_i ([outputs, inputs]) span, approximately,
 * the inputs that task's data feeds the layer, so the interference of a merged task vector τ on task i is measured
 * without data as ‖(τ − τ_i) τ_iᵀ‖². Per 2-D weight, τ minimises Σ_i ‖(τ − τ_i) τ_iᵀ‖²_F / ‖τ_i‖²_F by Adam from
 * τ = Σ_i τ_i (the paper's solver: it stops early rather than reach the minimiser, whose normal equations are
 * ill-conditioned when the tasks span few directions), and W = W_base + τ. Other tensors take the mean task vector.
 * No data.
 */
import { matrix, multiply, transpose, type Matrix } from "../linalg/dense.js";
import { addToBase, isMatrix, meanTaskVector, taskMatrix } from "../linalg/task-matrix.js";
import type { MergeMethod, MethodInput } from "../method.js";
import { requireBase } from "./iso-c.js";

/** The paper's solver: Adam, 300 steps (FusionBench's and the authors' code). */
export const DEFAULT_WUDI_STEPS = 300;
/**
 * `lr` 0 (the default) makes the solve scale-free: it runs on the task matrices divided by ρ = RMS(Σ τ_i), the
 * starting point's typical value, with this learning rate, and the result is multiplied back by ρ — the same as a
 * step of 1 % of ρ, with Adam's ε scaled too, so task vectors c× larger give a merge exactly c× larger. The paper's
 * absolute 1e-5 suits CLIP fine-tunes only (Adam moves each value by about lr per step, whatever the gradient's
 * size). 1 % was fixed before any accuracy was seen: 300 steps can then carry a value by up to 3ρ (far enough to
 * leave the sum of the task vectors), and Adam's jitter at the end, of order lr, stays at 1 % of ρ.
 */
export const DEFAULT_WUDI_LR = 0;
export const WUDI_RELATIVE_LR = 0.01;

/** RMS of Σ τ_i, the scale of WUDI's starting point. */
export function summedRms(tasks: readonly Matrix[]): number {
  const size = tasks[0]!.data.length;
  let squares = 0;
  for (let k = 0; k < size; k++) {
    let sum = 0;
    for (const t of tasks) sum += t.data[k]!;
    squares += sum * sum;
  }
  return Math.sqrt(squares / size);
}

/** WUDI's merged task matrix: Adam at `lr` when it is positive, else the scale-free solve of DEFAULT_WUDI_LR. */
export function wudiMerge(tasks: readonly Matrix[], steps: number, lr: number): Matrix {
  if (lr > 0) return wudiSolve(tasks, steps, lr).merged;
  const rho = summedRms(tasks);
  if (rho === 0) return matrix(tasks[0]!.rows, tasks[0]!.cols);
  const scaled = tasks.map((t) =>
    matrix(
      t.rows,
      t.cols,
      t.data.map((x) => x / rho),
    ),
  );
  const merged = wudiSolve(scaled, steps, WUDI_RELATIVE_LR).merged;
  for (let k = 0; k < merged.data.length; k++) merged.data[k]! *= rho;
  return merged;
}

export interface WudiResult {
  merged: Matrix;
  /** The objective before each step and after the last (steps + 1 values). */
  objective: number[];
}

/**
 * The objective is quadratic: Σ_i w_i ‖(τ − τ_i)τ_iᵀ‖² = ⟨τS, τ⟩ − 2⟨τ, B⟩ + c with w_i = 1/‖τ_i‖², S = Σ w_i τ_iᵀτ_i
 * and B = Σ w_i τ_i τ_iᵀ τ_i, so a step costs one product τS and its gradient is 2(τS − B).
 */
export function wudiSolve(tasks: readonly Matrix[], steps: number, lr: number): WudiResult {
  const { rows: m, cols: n } = tasks[0]!;
  const s = matrix(n, n);
  const b = matrix(m, n);
  let c = 0;
  const tau = matrix(m, n);
  for (const t of tasks) {
    let norm = 0;
    for (const x of t.data) norm += x * x;
    for (let k = 0; k < tau.data.length; k++) tau.data[k]! += t.data[k]!;
    if (norm === 0) continue;
    const w = 1 / norm;
    const gram = multiply(transpose(t), t);
    const tg = multiply(t, gram);
    for (let k = 0; k < s.data.length; k++) s.data[k]! += w * gram.data[k]!;
    for (let k = 0; k < b.data.length; k++) b.data[k]! += w * tg.data[k]!;
    // ‖τ_i τ_iᵀ‖² = ⟨τ_i τ_iᵀ τ_i, τ_i⟩
    let self = 0;
    for (let k = 0; k < t.data.length; k++) self += tg.data[k]! * t.data[k]!;
    c += w * self;
  }
  const first = new Float64Array(m * n);
  const second = new Float64Array(m * n);
  const beta1 = 0.9;
  const beta2 = 0.999;
  const eps = 1e-8;
  const objective: number[] = [];
  for (let step = 0; step <= steps; step++) {
    const ts = multiply(tau, s);
    let value = c;
    for (let k = 0; k < tau.data.length; k++) value += tau.data[k]! * (ts.data[k]! - 2 * b.data[k]!);
    objective.push(value);
    if (step === steps) break;
    const t = step + 1;
    const correction1 = 1 - beta1 ** t;
    const correction2 = 1 - beta2 ** t;
    for (let k = 0; k < tau.data.length; k++) {
      const g = 2 * (ts.data[k]! - b.data[k]!);
      first[k] = beta1 * first[k]! + (1 - beta1) * g;
      second[k] = beta2 * second[k]! + (1 - beta2) * g * g;
      tau.data[k]! -= (lr * (first[k]! / correction1)) / (Math.sqrt(second[k]! / correction2) + eps);
    }
  }
  return { merged: tau, objective };
}

export const wudi: MergeMethod = {
  id: "wudi",
  label: "WUDI merging (data-free interference minimisation)",
  reference: "https://arxiv.org/abs/2503.08099",
  base: "required",
  minModels: 1,
  maxModels: Infinity,
  scope: "tensor",
  globalParams: [
    {
      name: "steps",
      kind: "number",
      default: DEFAULT_WUDI_STEPS,
      min: 0,
      max: 100000,
      description: "Adam steps per weight matrix.",
    },
    {
      name: "lr",
      kind: "number",
      default: DEFAULT_WUDI_LR,
      min: 0,
      description:
        "Adam's learning rate: each step moves a value by about this much. 0 (the default) takes 1 % of the RMS of each matrix's summed task vectors (Adam's ε scaled alike), so the merge follows the model's scale; the paper's absolute value is 1e-5.",
    },
  ],
  modelParams: [],
  merge(input: MethodInput): Float32Array {
    const base = requireBase(input, "wudi");
    const { shape, name } = input.tensor;
    if (!isMatrix(shape)) return meanTaskVector(input.models, base, 1);
    const tasks = input.models.map((m) => taskMatrix(m, base, shape, name));
    const merged = wudiMerge(tasks, Math.round(input.params.steps as number), input.params.lr as number);
    return addToBase(base, merged, 1, name);
  },
};
