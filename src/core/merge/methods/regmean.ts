/**
 * RegMean (Jin et al. 2023, "Dataless Knowledge Fusion by Merging Weights of Language Models"): for each linear
 * map, the merged kernel minimises Σ_i ‖X_i W − X_i W_i‖², i.e. W = (Σ G_i)⁻¹ Σ G_i W_i with G_i = X_iᵀX_i the
 * Gram matrix of the map's inputs in model i. Off-diagonal entries of every G_i are scaled by α (the paper's
 * regularisation, 0.9 by default). Tensors that are not the kernel of a linear map (biases, normalisation
 * parameters, embeddings) have no Gram matrix and are plainly averaged.
 */
import { UsageError } from "../../errors.js";
import type { MergeMethod, MethodInput } from "../method.js";
import { uniformAverage } from "./linear.js";

/** Cholesky factor L (lower, row-major) of the symmetric n×n matrix a; undefined when a is not positive definite. */
export function cholesky(a: Float64Array, n: number): Float64Array | undefined {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let k = 0; k < j; k++) d -= l[j * n + k]! * l[j * n + k]!;
    if (!(d > 0) || !Number.isFinite(d)) return undefined;
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = s / ljj;
    }
  }
  return l;
}

/** Solves (L Lᵀ) X = B in place for the n×m right-hand side B (row-major). */
export function choleskySolve(l: Float64Array, n: number, b: Float64Array, m: number): void {
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < n; i++) {
      let s = b[i * m + c]!;
      for (let k = 0; k < i; k++) s -= l[i * n + k]! * b[k * m + c]!;
      b[i * m + c] = s / l[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = b[i * m + c]!;
      for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * b[k * m + c]!;
      b[i * m + c] = s / l[i * n + i]!;
    }
  }
}

/**
 * The RegMean kernel: (Σ G̃_i)⁻¹ Σ G̃_i W_i with G̃_i = G_i with its off-diagonal entries times α. When Σ G̃_i is
 * singular (an input that is constant zero on the data, fewer rows than inputs), a ridge λ·I is added that pulls
 * the solution towards the plain average, (Σ G̃_i + λI)⁻¹ (Σ G̃_i W_i + λ W̄): an input never seen keeps the
 * average weights. λ starts at 1e-8 of the mean diagonal and grows tenfold until the factorisation succeeds.
 */
export function regmeanKernel(
  shape: readonly number[],
  models: readonly Float32Array[],
  grams: readonly Float64Array[],
  alpha: number,
  tensor: string,
  warn?: (message: string) => void,
): Float32Array {
  const size = models[0]!.length;
  const dd = grams[0]!.length;
  // The kernel maps d inputs to its last dimension's outputs (Dense [in, out]; Conv2D [kh, kw, in, out] over patches).
  const m = shape.length > 0 ? shape[shape.length - 1]! : 1;
  const d = m > 0 ? size / m : 0;
  if (d * d !== dd) {
    throw new UsageError(
      `${tensor}: a Gram matrix of ${dd} values does not fit a kernel of shape [${shape.join(", ")}] (expected ${d}×${d})`,
    );
  }
  if (grams.length !== models.length || grams.some((g) => g.length !== dd)) {
    throw new UsageError(`${tensor}: expected one ${d}×${d} Gram matrix per model`);
  }
  const sum = new Float64Array(dd);
  const rhs = new Float64Array(size);
  const scaled = new Float64Array(dd);
  models.forEach((w, i) => {
    const g = grams[i]!;
    for (let r = 0; r < d; r++) {
      for (let c = 0; c < d; c++) scaled[r * d + c] = r === c ? g[r * d + c]! : alpha * g[r * d + c]!;
    }
    for (let k = 0; k < dd; k++) sum[k]! += scaled[k]!;
    // rhs += G̃_i W_i
    for (let r = 0; r < d; r++) {
      for (let k = 0; k < d; k++) {
        const s = scaled[r * d + k]!;
        if (s === 0) continue;
        for (let c = 0; c < m; c++) rhs[r * m + c]! += s * w[k * m + c]!;
      }
    }
  });
  let l = cholesky(sum, d);
  if (l === undefined) {
    let trace = 0;
    for (let r = 0; r < d; r++) trace += sum[r * d + r]!;
    const scale = trace > 0 ? trace / d : 1;
    const average = uniformAverage(models, tensor);
    let lambda = 1e-8 * scale;
    for (let attempt = 0; attempt < 12 && l === undefined; attempt++, lambda *= 10) {
      const ridged = Float64Array.from(sum);
      for (let r = 0; r < d; r++) ridged[r * d + r]! += lambda;
      l = cholesky(ridged, d);
      if (l !== undefined) {
        for (let k = 0; k < size; k++) rhs[k]! += lambda * average[k]!;
        warn?.(
          `${tensor}: the inputs' Gram matrix (${d}×${d}) is singular; RegMean added a ridge of ${lambda.toPrecision(3)} pulling towards the plain average`,
        );
      }
    }
    if (l === undefined)
      throw new UsageError(
        `${tensor}: the inputs' Gram matrix (${d}×${d}) could not be factorised even with a ridge; it holds non-finite values`,
      );
  }
  choleskySolve(l, d, rhs, m);
  return Float32Array.from(rhs);
}

/** A rows×cols row-major matrix transposed (cols×rows). */
function transposed(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}

/**
 * One tensor's RegMean merge (RegMean and RegMean++ alike): the RegMean kernel where the tensor has Gram matrices,
 * else the plain average. A kernel with its outputs first (PyTorch's [out, in, k…]) is solved as the [in·k…, out]
 * matrix it is the transpose of, and transposed back.
 */
export function regmeanMerge(input: MethodInput): Float32Array {
  const grams = input.statistics?.gram;
  const { shape, name } = input.tensor;
  if (grams === undefined) return uniformAverage(input.models, name);
  const alpha = input.params.alpha as number;
  if (input.statistics?.kernelLayout !== "outputs-first" || shape.length < 2)
    return regmeanKernel(shape, input.models, grams, alpha, name, input.warn);
  const outputs = shape[0]!;
  const rows = outputs > 0 ? input.models[0]!.length / outputs : 0;
  const models = input.models.map((w) => transposed(w, outputs, rows));
  return transposed(regmeanKernel([rows, outputs], models, grams, alpha, name, input.warn), rows, outputs);
}

/** The paper's off-diagonal scaling. */
export const DEFAULT_REGMEAN_ALPHA = 0.9;

export const regmean: MergeMethod = {
  id: "regmean",
  label: "RegMean",
  reference: "https://arxiv.org/abs/2212.09849",
  base: "none",
  minModels: 1,
  maxModels: Infinity,
  scope: "tensor",
  data: "required",
  globalParams: [
    {
      name: "alpha",
      kind: "number",
      default: DEFAULT_REGMEAN_ALPHA,
      min: 0,
      max: 1,
      description:
        "Scale of the off-diagonal entries of every Gram matrix (1: exact least squares; 0: a per-input weighted average).",
    },
  ],
  modelParams: [],
  merge: regmeanMerge,
};
