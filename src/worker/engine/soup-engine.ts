// The narrow interface through which the one learner (worker/learn) and the comparison rows (worker/evaluate)
// drive whatever runs the model: TensorFlow.js in the worker process (tfjs-engine.ts), or the user's own PyTorch
// in a child process (worker/torch/). Nothing engine-specific crosses it: coefficients, gradients, scores,
// predictions and statistics are plain arrays, and the data lives inside the engine (loaded and split once by the
// worker's loaders, handed over once, never copied per step).
import type { Objective } from "../learn/objective.js";

/** The splits the worker's loaders made; "learn+validation" is both, in that order (the small-data refit). */
export type SplitName = "learn" | "validation" | "test" | "learn+validation";

/** Rows of one split: all of it in order, or these row indices (a mini-batch, a fixed subset), in this order. */
export interface RowSelection {
  readonly split: SplitName;
  readonly indices?: Int32Array;
}

/**
 * Where the coefficients go: α is ingredient-major, α[i * groups + groupOf[v]] the coefficient of ingredient i
 * for merged tensor v (groups = 1 at model granularity, one per layer at layer granularity).
 */
export interface CoefficientLayout {
  readonly groupOf: readonly number[];
  readonly groups: number;
}

export interface EngineScore {
  /** Mean objective over the rows. */
  readonly loss: number;
  /** Mean task metric (accuracy or MAE); undefined without labels. */
  readonly metric?: number;
}

/** Moving statistics of every BatchNormalization layer, in the engine's layer order (mean, variance per layer). */
export interface BatchNormState {
  readonly layers: readonly string[];
  readonly values: readonly Float32Array[];
}

export interface SoupEngine {
  /** "tfjs" or "torch". */
  readonly kind: string;
  /** For the report: what ran, e.g. "TensorFlow.js 4.22 (wasm)" or "PyTorch 1.13.1, cpu, /usr/bin/python3". */
  readonly description: string;
  /** Number of ingredients. */
  readonly ingredients: number;
  /** Layer name of each merged tensor, in the engine's fixed order (the groups of layer granularity). */
  readonly layerOf: readonly string[];
  /** BatchNormalization layers of the model (empty: none). */
  readonly batchNormLayers: readonly string[];
  /** Rows in a split. */
  rows(split: SplitName): number;
  /**
   * Writes W_v = base_v + Σ_i α[i·G + groupOf[v]] S_{i,v} into the model (S: the ingredients, or their task
   * vectors when there is a base); kept until the next write. Writing the same α twice is cheap.
   */
  write(alpha: Float64Array, layout: CoefficientLayout): Promise<void>;
  /** At the written soup, inference mode: the mean objective over the rows and its gradient ∂/∂α (α's layout). */
  gradient(rows: RowSelection, objective: Objective): Promise<{ loss: number; gradAlpha: Float64Array }>;
  /** At the written soup, inference mode: mean objective and metric over the rows. */
  score(rows: RowSelection, objective: Objective): Promise<EngineScore>;
  /** At the written soup: the model's outputs on the rows, row-major, shape [rows, ...output]. */
  predict(rows: RowSelection): Promise<{ values: Float32Array; shape: readonly number[] }>;
  /** Sets the written soup's BatchNormalization statistics to those of its own activations on the rows. */
  reestimateBatchNorm(rows: RowSelection): Promise<void>;
  /** The BatchNormalization statistics now in the model. */
  readBatchNorm(): Promise<BatchNormState>;
  writeBatchNorm(state: BatchNormState): Promise<void>;
  /** The merged tensors now in the model (what is written to the file), in layerOf's order. */
  readMerged(): Promise<Float32Array[]>;
  /** Frees what the engine holds (a child process is ended). Safe to call twice. */
  dispose(): Promise<void>;
}
