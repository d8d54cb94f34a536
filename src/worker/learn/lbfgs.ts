// Limited-memory BFGS with a backtracking (Armijo) line search, for deterministic (full-batch) objectives over
// few parameters: at model granularity the soup has only N coefficients, where quasi-Newton steps are cheap.

export interface Evaluation {
  readonly f: number;
  readonly g: Float64Array;
}

export interface LbfgsOptions {
  readonly maxIterations: number;
  /** Pairs (s, y) kept for the inverse-Hessian estimate. */
  readonly memory?: number;
  /** Stop when the gradient's max-norm falls below this. */
  readonly gradientTolerance?: number;
  /** Stop when an iteration improves f by less than this (relative). */
  readonly functionTolerance?: number;
  /** Most function evaluations in one line search. */
  readonly maxLineSearch?: number;
  /** Called after each accepted iteration with the new point; return (or resolve to) true to stop. */
  readonly onIteration?: (
    iteration: number,
    x: Float64Array,
    f: number,
    evaluations: number,
  ) => boolean | Promise<boolean>;
}

export interface LbfgsResult {
  readonly x: Float64Array;
  readonly f: number;
  readonly iterations: number;
  readonly evaluations: number;
  readonly reason: "gradient" | "function" | "iterations" | "line-search" | "callback";
}

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k]! * b[k]!;
  return s;
};

const maxAbs = (a: Float64Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Two-loop recursion: the quasi-Newton direction −H·g. */
function direction(g: Float64Array, s: Float64Array[], y: Float64Array[]): Float64Array {
  const q = Float64Array.from(g);
  const k = s.length;
  const a = new Float64Array(k);
  const rho = s.map((sk, i) => 1 / dot(y[i]!, sk));
  for (let i = k - 1; i >= 0; i--) {
    a[i] = rho[i]! * dot(s[i]!, q);
    for (let j = 0; j < q.length; j++) q[j] -= a[i]! * y[i]![j]!;
  }
  const gamma = k > 0 ? dot(s[k - 1]!, y[k - 1]!) / dot(y[k - 1]!, y[k - 1]!) : 1;
  for (let j = 0; j < q.length; j++) q[j] *= gamma;
  for (let i = 0; i < k; i++) {
    const b = rho[i]! * dot(y[i]!, q);
    for (let j = 0; j < q.length; j++) q[j] += s[i]![j]! * (a[i]! - b);
  }
  for (let j = 0; j < q.length; j++) q[j] = -q[j]!;
  return q;
}

/**
 * `evaluate` may be asynchronous (the soup's full-batch pass yields to the event loop between batches, and throws
 * there when cancelled); it is awaited, so its errors reject the result.
 */
export async function minimizeLbfgs(
  evaluate: (x: Float64Array) => Evaluation | Promise<Evaluation>,
  start: Float64Array,
  options: LbfgsOptions,
): Promise<LbfgsResult> {
  const memory = options.memory ?? 10;
  const gtol = options.gradientTolerance ?? 1e-6;
  const ftol = options.functionTolerance ?? 1e-9;
  const maxLineSearch = options.maxLineSearch ?? 20;
  let x: Float64Array = Float64Array.from(start);
  const first = await evaluate(x);
  let f = first.f;
  let g: Float64Array = first.g;
  let evaluations = 1;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  for (let iteration = 1; iteration <= options.maxIterations; iteration++) {
    if (maxAbs(g) < gtol) return { x, f, iterations: iteration - 1, evaluations, reason: "gradient" };
    let d = direction(g, S, Y);
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Not a descent direction (curvature estimate went stale): restart from steepest descent.
      S.length = 0;
      Y.length = 0;
      d = g.map((v) => -v);
      slope = dot(g, d);
    }
    // The first step has no curvature information: scale it to move the largest coordinate by at most 1.
    let step = S.length === 0 ? Math.min(1, 1 / maxAbs(g)) : 1;
    let accepted: { x: Float64Array; f: number; g: Float64Array } | undefined;
    for (let trial = 0; trial < maxLineSearch; trial++) {
      const candidate = x.map((v, k) => v + step * d[k]!);
      const e = await evaluate(candidate);
      evaluations++;
      if (Number.isFinite(e.f) && e.f <= f + 1e-4 * step * slope) {
        accepted = { x: candidate, f: e.f, g: e.g };
        break;
      }
      step *= 0.5;
    }
    if (accepted === undefined) return { x, f, iterations: iteration, evaluations, reason: "line-search" };
    const s = accepted.x.map((v, k) => v - x[k]!);
    const y = accepted.g.map((v, k) => v - g[k]!);
    // Keep only pairs with positive curvature so the inverse-Hessian estimate stays positive definite.
    if (dot(s, y) > 1e-12 * Math.max(1, dot(y, y))) {
      S.push(s);
      Y.push(y);
      if (S.length > memory) {
        S.shift();
        Y.shift();
      }
    }
    const previous = f;
    x = accepted.x;
    f = accepted.f;
    g = accepted.g;
    if ((await options.onIteration?.(iteration, x, f, evaluations)) === true) {
      return { x, f, iterations: iteration, evaluations, reason: "callback" };
    }
    if (previous - f <= ftol * Math.max(1, Math.abs(previous))) {
      return { x, f, iterations: iteration, evaluations, reason: "function" };
    }
  }
  return { x, f, iterations: options.maxIterations, evaluations, reason: "iterations" };
}
