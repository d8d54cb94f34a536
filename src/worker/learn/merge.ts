// Writes W_v = base_v + Σ_i α_{i,g(v)} S_{i,v} into the model, and turns ∂L/∂W into ∂L/∂α by the identity
// ∂L/∂α_{i,g} = Σ_{v in g} ⟨∂L/∂W_v, S_{i,v}⟩ (S = ingredient weights, or task vectors in the task form).
import * as tf from "@tensorflow/tfjs";
import type { CoefficientLayout } from "../engine/soup-engine.js";
import type { CoefficientSpace } from "./coefficients.js";
import { checkProblem, tensorOf, variableSize, type SoupProblem } from "./problem.js";

export class Merger {
  /**
   * [size, N] per variable: the ingredients' weights, or their task vectors W_i − base, one column per ingredient.
   * The dot products multiply a fresh gradient row by it: on wasm ~7× faster than the [N, size] · gradient column
   * (0.9 against 6.5 ms for the CNN benchmark's Dense 1024×512 kernel; tfjs-wasm is fast when the right-hand
   * operand stays the same from call to call, as XNNPACK packs it). The merge multiplies it by a column of
   * coefficients (~2.5 ms slower there than a row times [N, size]; the dot products gain more).
   */
  private readonly stacked: tf.Tensor2D[];
  private readonly base: Array<tf.Tensor | undefined>;
  readonly variables: tf.LayerVariable[];
  /** Where the coefficients go: the space's, until a write gives another (an engine serves any granularity). */
  private layout: CoefficientLayout;

  constructor(
    readonly problem: SoupProblem,
    readonly space: CoefficientSpace,
  ) {
    checkProblem(problem);
    const { ingredients, base, variables } = problem;
    this.variables = variables;
    this.layout = { groupOf: space.groupOf, groups: space.groups.length };
    const n = ingredients.length;
    this.stacked = variables.map((v, k) => {
      const size = variableSize(v);
      const columns = new Float32Array(size * n);
      for (let i = 0; i < n; i++) {
        const w = ingredients[i]![k]!;
        const b = base?.[k];
        for (let j = 0; j < size; j++) columns[j * n + i] = b === undefined ? w[j]! : w[j]! - b[j]!;
      }
      return tf.keep(tf.tensor2d(columns, [size, n]));
    });
    this.base = variables.map((v, k) =>
      base === undefined ? undefined : tf.keep(tf.tensor(base[k]!, tensorOf(v).shape)),
    );
  }

  /** What the last write left in the variables: its α and the buffer each variable then held. */
  private written?: { alpha: Float64Array; dataIds: unknown[] };

  /**
   * Overwrites the model's variables with the soup for coefficients α (flat, ingredient-major). Skipped when the
   * variables still hold this merger's last write of the same α (an assignment by anyone else, e.g. a
   * BatchNormalization re-estimation or another merger, gives a variable a new buffer and forces the write).
   * `layout`: where α's coefficients go from now on (default: as before), for the merge and for gradAlpha.
   */
  write(alpha: Float64Array, layout: CoefficientLayout = this.layout): void {
    if (!sameLayout(layout, this.layout)) {
      this.layout = { groupOf: [...layout.groupOf], groups: layout.groups };
      this.written = undefined;
    }
    if (this.holds(alpha)) return;
    this.merge(alpha);
    this.written = { alpha: Float64Array.from(alpha), dataIds: this.variables.map((v) => tensorOf(v).dataId) };
  }

  /** Where the coefficients of the last write went. */
  get currentLayout(): CoefficientLayout {
    return this.layout;
  }

  private holds(alpha: Float64Array): boolean {
    const w = this.written;
    if (w === undefined || w.alpha.length !== alpha.length) return false;
    for (let k = 0; k < alpha.length; k++) if (!Object.is(w.alpha[k], alpha[k])) return false;
    return this.variables.every((v, k) => tensorOf(v).dataId === w.dataIds[k]);
  }

  private merge(alpha: Float64Array): void {
    const n = this.problem.ingredients.length;
    const G = this.layout.groups;
    tf.tidy(() => {
      // One [N, 1] column of coefficients per group, shared by that group's variables.
      const columns = Array.from({ length: G }, (_, g) =>
        tf.tensor2d(
          Float32Array.from({ length: n }, (_, i) => alpha[i * G + g]!),
          [n, 1],
        ),
      );
      this.variables.forEach((v, k) => {
        let merged = tf.matMul(this.stacked[k]!, columns[this.layout.groupOf[k]!]!).reshape(tensorOf(v).shape);
        const b = this.base[k];
        // A reshape shares the matMul output's buffer, which the wasm backend keeps tagged with the [1, size, 1]
        // shape; its kernels read that tag (a Dense bias must be rank 1), so give the variable a buffer of its own.
        merged = b !== undefined ? merged.add(b) : tf.clone(merged);
        v.write(merged);
      });
    });
  }

  /** ∂L/∂α (flat, ingredient-major) from the gradients with respect to each variable (null = no dependence). */
  gradAlpha(gradW: ReadonlyArray<tf.Tensor | null>): Float64Array {
    const n = this.problem.ingredients.length;
    const G = this.layout.groups;
    const out = new Float64Array(n * G);
    const used: number[] = [];
    // One [1, N] row of dot products per variable, all read back at once.
    const rows = tf.tidy(() => {
      const perVariable: tf.Tensor[] = [];
      gradW.forEach((g, k) => {
        if (g === null) return;
        used.push(k);
        perVariable.push(tf.matMul(g.reshape([1, -1]), this.stacked[k]!));
      });
      return perVariable.length === 0 ? tf.zeros([0, n]) : tf.concat(perVariable, 0);
    });
    const dots = rows.dataSync();
    rows.dispose();
    used.forEach((k, c) => {
      const g = this.layout.groupOf[k]!;
      for (let i = 0; i < n; i++) out[i * G + g] += dots[c * n + i]!;
    });
    return out;
  }

  dispose(): void {
    tf.dispose(this.stacked);
    tf.dispose(this.base.filter((b): b is tf.Tensor => b !== undefined));
  }
}

function sameLayout(a: CoefficientLayout, b: CoefficientLayout): boolean {
  if (a === b) return true;
  if (a.groups !== b.groups || a.groupOf.length !== b.groupOf.length) return false;
  return a.groupOf.every((g, k) => g === b.groupOf[k]);
}

/** The values now in the model's variables (e.g. the merged soup after learning), one array per variable. */
export function readVariables(problem: SoupProblem): Float32Array[] {
  return problem.variables.map((v) => Float32Array.from(v.read().dataSync() as Float32Array));
}
