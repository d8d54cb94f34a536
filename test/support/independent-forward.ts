/**
 * An independent scorer for tests: reads a model file through the format readers and runs its forward pass in
 * plain float64 JavaScript (no TensorFlow.js, none of the worker's code), so the figures a job reports for a file
 * it wrote can be checked against the file itself.
 *
 * Covers Sequential stacks of Dense, BatchNormalization (inference: moving statistics and the config's epsilon),
 * Dropout and its kin (identity at inference), Activation and InputLayer, with relu / softmax / sigmoid / linear
 * activations. Anything else is refused, so a test never scores a model it does not understand.
 */
import { openModel } from "../../src/core/formats/registry.js";
import type { Architecture, LayerSpec } from "../../src/core/model.js";
import { loadDataset } from "../../src/core/data/load.js";
import { DEFAULT_SPLIT, splitDataset } from "../../src/core/data/split.js";
import type { Dataset } from "../../src/core/data/dataset.js";

/** Keras' backend epsilon: probabilities are clipped to [ε, 1 − ε] before the log, as Keras' cross-entropy does. */
const EPSILON = 1e-7;
const IDENTITY_LAYERS = new Set(["InputLayer", "Dropout", "GaussianDropout", "GaussianNoise", "AlphaDropout"]);

type Matrix = Float64Array[];

interface DenseStep {
  kind: "dense";
  kernel: Float64Array;
  bias: Float64Array | undefined;
  inputs: number;
  units: number;
  activation: string;
}
interface BatchNormStep {
  kind: "batchnorm";
  gamma: Float64Array | undefined;
  beta: Float64Array | undefined;
  mean: Float64Array;
  variance: Float64Array;
  epsilon: number;
}
interface ActivationStep {
  kind: "activation";
  activation: string;
}
type Step = DenseStep | BatchNormStep | ActivationStep;

export interface ScoreOptions {
  /** For a weights-only file: a full model file of the same architecture whose layers and tensor names it shares. */
  architecture?: string;
}

export interface IndependentScore {
  /** Mean cross-entropy on the labels. */
  loss: number;
  accuracy: number;
  rows: number;
  /** Per-row probabilities of each class (one column for a single sigmoid unit: P(class 1)). */
  outputs: Matrix;
}

function activationName(config: Record<string, unknown>): string {
  const a = config.activation ?? "linear";
  if (typeof a === "string") return a;
  // Keras 3 may serialise an activation as {module, class_name, config, registered_name}.
  if (a && typeof a === "object" && "config" in a && typeof (a as { config: unknown }).config === "string")
    return (a as { config: string }).config;
  throw new Error(`unsupported activation ${JSON.stringify(a)}`);
}

async function stepsOf(modelPath: string, options: ScoreOptions): Promise<Step[]> {
  const model = await openModel(modelPath);
  try {
    let architecture: Architecture | undefined = model.manifest.architecture;
    if (!architecture && options.architecture) {
      const full = await openModel(options.architecture);
      architecture = full.manifest.architecture;
      await full.close();
    }
    if (!architecture) throw new Error(`${modelPath}: no architecture to run`);
    if (architecture.layers.some((l) => l.inbound.length > 1))
      throw new Error(`${modelPath}: only a chain of layers is scored`);
    const names = new Set(model.manifest.tensors.map((t) => t.name));
    const read = async (name: string | undefined): Promise<Float64Array | undefined> => {
      if (name === undefined) return undefined;
      if (!names.has(name)) throw new Error(`${modelPath}: no tensor ${name}`);
      return Float64Array.from((await model.readTensor(name, { float32: true })).data as Float32Array);
    };
    const steps: Step[] = [];
    for (const layer of architecture.layers) steps.push(...(await stepOf(layer, read, model.manifest.tensors)));
    return steps;
  } finally {
    await model.close();
  }
}

async function stepOf(
  layer: LayerSpec,
  read: (name: string | undefined) => Promise<Float64Array | undefined>,
  tensors: ReadonlyArray<{ name: string; shape: number[] }>,
): Promise<Step[]> {
  const c = layer.config;
  if (IDENTITY_LAYERS.has(layer.className)) return [];
  if (layer.className === "Activation") return [{ kind: "activation", activation: activationName(c) }];
  if (layer.className === "Dense") {
    const kernelName = layer.weights[0];
    const shape = tensors.find((t) => t.name === kernelName)?.shape;
    if (!shape || shape.length !== 2) throw new Error(`Dense ${layer.name}: kernel ${kernelName} is not 2-D`);
    const useBias = c.use_bias !== false;
    return [
      {
        kind: "dense",
        kernel: (await read(kernelName))!,
        bias: useBias ? await read(layer.weights[1]) : undefined,
        inputs: shape[0]!,
        units: shape[1]!,
        activation: activationName(c),
      },
    ];
  }
  if (layer.className === "BatchNormalization") {
    const scale = c.scale !== false;
    const center = c.center !== false;
    const w = [...layer.weights];
    const gamma = scale ? await read(w.shift()) : undefined;
    const beta = center ? await read(w.shift()) : undefined;
    const epsilon = typeof c.epsilon === "number" ? c.epsilon : 0.001;
    return [{ kind: "batchnorm", gamma, beta, mean: (await read(w[0]))!, variance: (await read(w[1]))!, epsilon }];
  }
  throw new Error(`the independent scorer does not run ${layer.className} layers (${layer.name})`);
}

function activate(row: Float64Array, activation: string): Float64Array {
  switch (activation) {
    case "linear":
      return row;
    case "relu":
      return row.map((v) => (v > 0 ? v : 0));
    case "sigmoid":
      return row.map((v) => 1 / (1 + Math.exp(-v)));
    case "softmax": {
      const max = Math.max(...row);
      const e = row.map((v) => Math.exp(v - max));
      const sum = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / sum);
    }
    default:
      throw new Error(`unsupported activation ${activation}`);
  }
}

function run(step: Step, row: Float64Array): Float64Array {
  if (step.kind === "activation") return activate(row, step.activation);
  if (step.kind === "batchnorm")
    return row.map((v, j) => {
      const normed = (v - step.mean[j]!) / Math.sqrt(step.variance[j]! + step.epsilon);
      return normed * (step.gamma ? step.gamma[j]! : 1) + (step.beta ? step.beta[j]! : 0);
    });
  if (row.length !== step.inputs) throw new Error(`Dense expects ${step.inputs} inputs, got ${row.length}`);
  const out = new Float64Array(step.units);
  for (let u = 0; u < step.units; u++) {
    let s = step.bias ? step.bias[u]! : 0;
    for (let i = 0; i < step.inputs; i++) s += row[i]! * step.kernel[i * step.units + u]!;
    out[u] = s;
  }
  return activate(out, step.activation);
}

/** Scores the model on every row of `data` (class-index labels). */
export async function scoreOnDataset(
  modelPath: string,
  data: Dataset,
  options: ScoreOptions = {},
): Promise<IndependentScore> {
  const steps = await stepsOf(modelPath, options);
  const rows = data.xShape[0]!;
  const width = data.x.length / rows;
  let loss = 0;
  let right = 0;
  const outputs: Matrix = [];
  for (let r = 0; r < rows; r++) {
    let h: Float64Array = Float64Array.from(data.x.subarray(r * width, (r + 1) * width));
    for (const step of steps) h = run(step, h);
    outputs.push(h);
    const label = data.y![r]!;
    const clip = (p: number) => Math.min(Math.max(p, EPSILON), 1 - EPSILON);
    if (h.length === 1) {
      loss -= Math.log(clip(label === 1 ? h[0]! : 1 - h[0]!));
      right += (h[0]! >= 0.5 ? 1 : 0) === label ? 1 : 0;
    } else {
      loss -= Math.log(clip(h[label]!));
      let best = 0;
      for (let j = 1; j < h.length; j++) if (h[j]! > h[best]!) best = j;
      right += best === label ? 1 : 0;
    }
  }
  return { loss: loss / rows, accuracy: right / rows, rows, outputs };
}

/** Scores the model on every row of a data file. */
export async function scoreOnFile(
  modelPath: string,
  dataPath: string,
  options: ScoreOptions = {},
): Promise<IndependentScore> {
  return scoreOnDataset(modelPath, await loadDataset(dataPath), options);
}

/** Scores the model on the test split that the jobs draw from a data file with the default split (seed 0). */
export async function scoreOnDefaultTestSplit(
  modelPath: string,
  dataPath: string,
  options: ScoreOptions = {},
): Promise<IndependentScore> {
  const data = await loadDataset(dataPath);
  return scoreOnDataset(modelPath, splitDataset(data, DEFAULT_SPLIT).test, options);
}
