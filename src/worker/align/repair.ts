/**
 * REPAIR (Jordan et al., "REPAIR: REnormalizing Permuted Activations for Interpolation Repair", 2022): in a merge
 * of aligned models, each unit's pre-activation statistics collapse (variance shrinks). For every Dense and
 * convolution layer, in graph order, the merged unit is rescaled and shifted so that its pre-activation mean and
 * standard deviation on data are the coefficient-weighted interpolation of the ingredients' own. Only for models
 * without BatchNormalization (whose re-estimated statistics already do this).
 */
import * as tf from "@tensorflow/tfjs";
import { canonicalLayerClass } from "../../core/keras/layers.js";
import type { AlignmentPlan } from "../../core/align/index.js";
import type { Cancellation } from "../../core/cancellation.js";
import { hasBatchNorm } from "../learn/batchnorm.js";
import { sliceRows } from "../learn/batches.js";
import type { SoupData, SoupProblem } from "../learn/problem.js";
import { nextStep } from "../learn/yield.js";
import { taskFor } from "../evaluate/evaluate.js";
import { predictAll, scorePredictions, type Score } from "../evaluate/score.js";
import { MixWriter, singleMix, type Mix } from "../evaluate/soup.js";

/** Samples of the learn split whose statistics are matched. */
const REPAIR_ROWS = 1024;
const REPAIRABLE = new Set(["Dense", "Conv1D", "Conv2D"]);

export interface RepairLayer {
  layer: tf.layers.Layer;
  className: string;
  kernel: number;
  bias: number;
}

export interface RepairedSoup extends RepairOutcome {
  /** The soup's test score with REPAIR, when kept. */
  test?: Score;
}

export interface RepairOutcome {
  layers: string[];
  validation: { before: Score; after: Score };
  /** Kept only when it lowered the validation loss. */
  kept: boolean;
  /** The repaired kernels and biases, by tensor name (for the saved model and its recipe). */
  overrides: Record<string, number[]>;
}

export function layersToRepair(problem: SoupProblem, plan: AlignmentPlan): RepairLayer[] {
  const creators = new Set(plan.groups.flatMap((g) => g.probes.map((p) => p.layer)));
  const out: RepairLayer[] = [];
  for (const layer of problem.model.layers) {
    const className = canonicalLayerClass(layer.getClassName());
    if (!creators.has(layer.name) || !REPAIRABLE.has(className)) continue;
    const indices = problem.layerOf.map((l, k) => (l === layer.name ? k : -1)).filter((k) => k >= 0);
    if (indices.length !== 2) continue; // no bias: the mean cannot be moved
    out.push({ layer, className, kernel: indices[0]!, bias: indices[1]! });
  }
  return out;
}

/** The pre-activation of `r` for its input `x`: the layer's linear part. */
function preActivation(r: RepairLayer, x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const config = r.layer.getConfig() as {
      strides?: number[] | number;
      padding?: "valid" | "same";
      dilationRate?: number[] | number;
    };
    let z: tf.Tensor;
    if (r.className === "Dense") z = tf.matMul(x.reshape([-1, x.shape[x.shape.length - 1]!]), kernel as tf.Tensor2D);
    else if (r.className === "Conv2D") {
      const strides = (Array.isArray(config.strides) ? config.strides : [config.strides ?? 1, config.strides ?? 1]) as [
        number,
        number,
      ];
      const dilations = (
        Array.isArray(config.dilationRate) ? config.dilationRate : [config.dilationRate ?? 1, config.dilationRate ?? 1]
      ) as [number, number];
      z = tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, strides, config.padding ?? "valid", "NHWC", dilations);
    } else {
      const stride = Array.isArray(config.strides) ? config.strides[0]! : (config.strides ?? 1);
      const dilation = Array.isArray(config.dilationRate) ? config.dilationRate[0]! : (config.dilationRate ?? 1);
      z = tf.conv1d(x as tf.Tensor3D, kernel as tf.Tensor3D, stride, config.padding ?? "valid", "NWC", dilation);
    }
    return z.add(bias).reshape([-1, bias.shape[0]!]) as tf.Tensor2D;
  });
}

/** Per unit: mean and standard deviation of each layer's pre-activation with the weights now in the model. */
export async function statistics(
  problem: SoupProblem,
  layers: readonly RepairLayer[],
  x: tf.Tensor,
  only?: number,
  cancel?: Cancellation,
) {
  // A layer that reads the model's input directly is fed x itself; the others, their input layer's output.
  const inputs = layers.map((r) => r.layer.input as tf.SymbolicTensor);
  const inner = inputs.filter((t) => !problem.model.inputs.includes(t));
  const probe = inner.length > 0 ? tf.model({ inputs: problem.model.inputs, outputs: inner }) : undefined;
  const out: Array<{ mean: Float32Array; std: Float32Array } | undefined> = [];
  await nextStep(cancel);
  const feeds = tf.tidy(() => {
    const p = probe === undefined ? [] : probe.predict(x);
    const computed = Array.isArray(p) ? p : [p];
    let next = 0;
    return inputs.map((t) => (problem.model.inputs.includes(t) ? x.clone() : computed[next++]!));
  });
  try {
    layers.forEach((r, k) => {
      if (only !== undefined && k !== only) return out.push(undefined);
      const stats = tf.tidy(() => {
        const z = preActivation(r, feeds[k]!, problem.variables[r.kernel]!.read(), problem.variables[r.bias]!.read());
        const { mean, variance } = tf.moments(z, 0);
        return [mean, variance.sqrt()];
      });
      out.push({ mean: stats[0]!.dataSync() as Float32Array, std: stats[1]!.dataSync() as Float32Array });
      tf.dispose(stats);
    });
  } finally {
    tf.dispose(feeds);
  }
  return out;
}

function coefficientOf(mix: Mix, ingredient: number, layer: string): number {
  const column = mix.groups === undefined || mix.groups[0] === "*" ? 0 : mix.groups.indexOf(layer);
  return mix.coefficients[ingredient]![Math.max(0, column)]!;
}

async function score(
  problem: SoupProblem,
  data: SoupData,
  trainingConfig: unknown,
  cancel?: Cancellation,
): Promise<Score> {
  const task = taskFor(problem, data, { trainingConfig });
  const pred = await predictAll(problem.model, data.x, 1024, cancel);
  try {
    return scorePredictions(task, pred, data.y!);
  } finally {
    pred.dispose();
  }
}

/**
 * REPAIRs the soup `mix` of an aligned problem, and keeps it when it lowers the validation loss. Leaves the
 * repaired (or plain) soup in the model's variables. Undefined when the model has BatchNormalization, no layer
 * to repair, or no labels.
 */
export async function repairSoup(
  problem: SoupProblem,
  plan: AlignmentPlan,
  mix: Mix,
  data: { learn: SoupData; validation: SoupData },
  tensorNames: readonly string[],
  options: { trainingConfig?: unknown; cancel?: Cancellation } = {},
): Promise<RepairOutcome | undefined> {
  if (hasBatchNorm(problem.model) || data.validation.y === undefined) return undefined;
  const layers = layersToRepair(problem, plan);
  if (layers.length === 0) return undefined;
  const x = sliceRows(data.learn.x, 0, Math.min(REPAIR_ROWS, data.learn.x.shape[0]!));
  const writer = new MixWriter(problem);
  try {
    await writer.write(mix);
    const before = await score(problem, data.validation, options.trainingConfig, options.cancel);
    const overrides = await renormalise(problem, layers, mix, x, writer, tensorNames, options.cancel);
    const after = await score(problem, data.validation, options.trainingConfig, options.cancel);
    const kept = after.loss < before.loss;
    if (!kept) await writer.write(mix);
    return {
      layers: layers.map((r) => r.layer.name),
      validation: { before, after },
      kept,
      overrides: kept ? overrides : {},
    };
  } finally {
    writer.dispose();
    x.dispose();
  }
}

/** REPAIR of a learned (or any) soup of aligned models, with its test score when kept. */
export async function repairAndScore(
  problem: SoupProblem,
  plan: AlignmentPlan,
  mix: Mix,
  data: { learn: SoupData; validation: SoupData; test: SoupData },
  tensorNames: readonly string[],
  options: { trainingConfig?: unknown; cancel?: Cancellation } = {},
): Promise<RepairedSoup | undefined> {
  const outcome = await repairSoup(problem, plan, mix, data, tensorNames, options);
  if (outcome === undefined || !outcome.kept || data.test.y === undefined) return outcome;
  return { ...outcome, test: await score(problem, data.test, options.trainingConfig, options.cancel) };
}

interface UnitMoments {
  readonly mean: ArrayLike<number>;
  readonly std: ArrayLike<number>;
}

/**
 * REPAIR's per-unit rescaling of one layer, for either engine: the scale and shift that give the merged model's
 * units (`merged`) the mean and spread interpolated, with the mix's `weights`, from each ingredient's (`own`).
 */
export function repairScaleShift<A extends Float32Array | Float64Array>(
  weights: readonly number[],
  own: readonly UnitMoments[],
  merged: UnitMoments,
  make: (units: number) => A,
): { scale: A; shift: A } {
  const total = weights.reduce((a, b) => a + b, 0);
  const units = merged.mean.length;
  const scale = make(units);
  const shift = make(units);
  for (let u = 0; u < units; u++) {
    let mean = 0;
    let std = 0;
    for (let i = 0; i < own.length; i++) {
      mean += (weights[i]! / total) * own[i]!.mean[u]!;
      std += (weights[i]! / total) * own[i]!.std[u]!;
    }
    scale[u] = merged.std[u]! > 1e-8 ? std / merged.std[u]! : 1;
    shift[u] = mean - merged.mean[u]! * scale[u]!;
  }
  return { scale, shift };
}

/**
 * Writes `mix` into the model, then resets each layer's pre-activation statistics on `x`, layer by layer in graph
 * order, to the interpolation of the ingredients'. Returns the new kernels and biases by tensor name.
 */
export async function renormalise(
  problem: SoupProblem,
  layers: readonly RepairLayer[],
  mix: Mix,
  x: tf.Tensor,
  writer: MixWriter,
  tensorNames: readonly string[],
  cancel?: Cancellation,
): Promise<Record<string, number[]>> {
  const options = { cancel };
  const n = problem.ingredients.length;
  const own: Array<Array<{ mean: Float32Array; std: Float32Array } | undefined>> = [];
  for (let i = 0; i < n; i++) {
    await writer.write(singleMix(n, i));
    own.push(await statistics(problem, layers, x, undefined, options.cancel));
  }
  await writer.write(mix);
  const overrides: Record<string, number[]> = {};
  for (const [k, r] of layers.entries()) {
    const weights = Array.from({ length: n }, (_, i) => coefficientOf(mix, i, r.layer.name));
    const total = weights.reduce((a, b) => a + b, 0);
    if (!(total > 0)) continue;
    const merged = (await statistics(problem, layers, x, k, options.cancel))[k]!;
    const { scale, shift } = repairScaleShift(
      weights,
      own.map((o) => o[k]!),
      merged,
      (units) => new Float32Array(units),
    );
    // z' = (z − mean_m)·s + mean_t: the kernel's output columns scale by s; the bias becomes b·s + shift.
    const kernelVar = problem.variables[r.kernel]!;
    const biasVar = problem.variables[r.bias]!;
    const [kernel, bias] = tf.tidy(() => [
      kernelVar.read().mul(tf.tensor1d(scale)),
      biasVar.read().mul(tf.tensor1d(scale)).add(tf.tensor1d(shift)),
    ]);
    kernelVar.write(kernel!);
    biasVar.write(bias!);
    overrides[tensorNames[r.kernel]!] = Array.from(kernel!.dataSync());
    overrides[tensorNames[r.bias]!] = Array.from(bias!.dataSync());
    tf.dispose([kernel!, bias!]);
  }
  return overrides;
}
