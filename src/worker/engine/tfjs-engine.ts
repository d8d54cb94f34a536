// The SoupEngine of TensorFlow.js, in the worker process: the existing Merger (merge.ts), the coefficient gradient
// (gradient.ts), scoring and BatchNormalization re-estimation (batchnorm.ts) behind the narrow interface the one
// learner drives. Rows are gathered here from the session's split tensors, one chunk of at most `batchSize` rows
// at a time, so the learner only ever holds index arrays.
import * as tf from "@tensorflow/tfjs";
import { UsageError } from "../../core/errors.js";
import type { Cancellation } from "../../core/cancellation.js";
import {
  batchNormLayers,
  batchNormSnapshot,
  reestimateBatchNorm,
  statVariables,
  writeBatchNormStatistics,
  type BatchNormStatistics,
} from "../learn/batchnorm.js";
import { gatherRows, ranges, sliceRows } from "../learn/batches.js";
import { coefficientSpace } from "../learn/coefficients.js";
import { gradAlphaOnBatch, scoreModel } from "../learn/gradient.js";
import { Merger, readVariables } from "../learn/merge.js";
import { forward, type Objective } from "../learn/objective.js";
import { dataSize, type SoupData, type SoupProblem } from "../learn/problem.js";
import { nextStep } from "../learn/yield.js";
import type {
  BatchNormState,
  CoefficientLayout,
  EngineScore,
  RowSelection,
  SoupEngine,
  SplitName,
} from "./soup-engine.js";

/** The session's splits, as the worker's loaders made them (absent or empty: no such rows). */
export interface TfjsSplits {
  readonly learn: SoupData;
  readonly validation?: SoupData;
  readonly test?: SoupData;
}

export interface TfjsEngineOptions {
  /** Rows per forward pass of a gradient, score, prediction or re-estimation (default 1024). */
  readonly batchSize?: number;
  /** Checked (after a turn of the event loop) before every chunk of rows. */
  readonly cancel?: Cancellation;
}

export class TfjsEngine implements SoupEngine {
  readonly kind = "tfjs";
  readonly ingredients: number;
  readonly layerOf: readonly string[];
  readonly batchNormLayers: readonly string[];
  private readonly merger: Merger;
  private readonly batchSize: number;
  private readonly cancel?: Cancellation;
  /** learn + validation, concatenated when first asked for (the small-data refit). */
  private both?: SoupData;

  constructor(
    readonly problem: SoupProblem,
    private readonly splits: TfjsSplits,
    options: TfjsEngineOptions = {},
  ) {
    this.ingredients = problem.ingredients.length;
    this.layerOf = problem.layerOf;
    this.batchNormLayers = batchNormLayers(problem.model).map((l) => l.name);
    this.batchSize = options.batchSize ?? 1024;
    this.cancel = options.cancel;
    this.merger = new Merger(problem, coefficientSpace(problem.layerOf, this.ingredients, "model", "free"));
  }

  get description(): string {
    return `TensorFlow.js ${tf.version_core} (${tf.getBackend()})`;
  }

  rows(split: SplitName): number {
    const data = this.data(split);
    return data === undefined ? 0 : dataSize(data);
  }

  async write(alpha: Float64Array, layout: CoefficientLayout): Promise<void> {
    this.merger.write(alpha, layout);
  }

  async gradient(rows: RowSelection, objective: Objective): Promise<{ loss: number; gradAlpha: Float64Array }> {
    const data = this.labelled(rows.split, objective);
    const n = selected(rows, data);
    let loss = 0;
    const gradAlpha = new Float64Array(this.ingredients * this.groups());
    for (const [start, end] of ranges(n, this.batchSize)) {
      await nextStep(this.cancel);
      const { x, y } = this.chunk(data, rows, start, end);
      let part: { loss: number; gradAlpha: Float64Array };
      try {
        part = gradAlphaOnBatch(this.merger, objective, x, y);
      } finally {
        tf.dispose([x, y].filter((t): t is tf.Tensor => t !== undefined));
      }
      const weight = (end - start) / n;
      loss += part.loss * weight;
      for (let k = 0; k < gradAlpha.length; k++) gradAlpha[k] += part.gradAlpha[k]! * weight;
    }
    return { loss, gradAlpha };
  }

  async score(rows: RowSelection, objective: Objective): Promise<EngineScore> {
    const data = this.labelled(rows.split, objective);
    if (rows.indices === undefined) return scoreModel(this.problem.model, objective, data, this.batchSize, this.cancel);
    const picked = this.gathered(data, rows.indices);
    try {
      return await scoreModel(this.problem.model, objective, picked, this.batchSize, this.cancel);
    } finally {
      tf.dispose([picked.x, picked.y].filter((t): t is tf.Tensor => t !== undefined));
    }
  }

  async predict(rows: RowSelection): Promise<{ values: Float32Array; shape: readonly number[] }> {
    const data = this.split(rows.split);
    const n = selected(rows, data);
    const parts: tf.Tensor[] = [];
    try {
      for (const [start, end] of ranges(n, this.batchSize)) {
        await nextStep(this.cancel);
        const x = this.chunkX(data, rows, start, end);
        try {
          parts.push(tf.tidy(() => forward(this.problem.model, x)));
        } finally {
          x.dispose();
        }
      }
      const outputShape = (this.problem.model.outputs[0]!.shape as Array<number | null>).slice(1) as number[];
      if (parts.length === 0) return { values: new Float32Array(0), shape: [0, ...outputShape] };
      const all = parts.length === 1 ? parts[0]! : tf.concat(parts);
      try {
        return { values: Float32Array.from(all.dataSync() as Float32Array), shape: all.shape };
      } finally {
        if (all !== parts[0]) all.dispose();
      }
    } finally {
      tf.dispose(parts);
    }
  }

  async reestimateBatchNorm(rows: RowSelection): Promise<void> {
    if (this.batchNormLayers.length === 0) return;
    const data = this.split(rows.split);
    if (rows.indices === undefined) {
      await reestimateBatchNorm(this.problem.model, data.x, this.batchSize, this.cancel);
      return;
    }
    const x = gatherRows(data.x, rows.indices);
    try {
      await reestimateBatchNorm(this.problem.model, x, this.batchSize, this.cancel);
    } finally {
      x.dispose();
    }
  }

  async readBatchNorm(): Promise<BatchNormState> {
    const { layers, values } = batchNormSnapshot(this.problem.model);
    return { layers, values };
  }

  async writeBatchNorm(state: BatchNormState): Promise<void> {
    writeBatchNormStatistics(this.statistics(state));
  }

  async readMerged(): Promise<Float32Array[]> {
    return readVariables(this.problem);
  }

  /** A BatchNormState of this model with the variables it belongs in (what the TF.js writers take). */
  statistics(state: BatchNormState): BatchNormStatistics {
    const variables = statVariables(this.problem.model);
    if (state.values.length !== variables.length) {
      throw new Error(`BatchNormalization state has ${state.values.length} arrays for ${variables.length} statistics`);
    }
    return { layers: state.layers, variables, values: state.values };
  }

  async dispose(): Promise<void> {
    this.merger.dispose();
    if (this.both !== undefined) tf.dispose([this.both.x, this.both.y].filter((t): t is tf.Tensor => t !== undefined));
    this.both = undefined;
  }

  private groups(): number {
    return this.merger.currentLayout.groups;
  }

  private data(split: SplitName): SoupData | undefined {
    if (split === "learn") return this.splits.learn;
    if (split === "validation") return this.splits.validation;
    if (split === "test") return this.splits.test;
    const validation = this.splits.validation;
    if (validation === undefined || dataSize(validation) === 0) return this.splits.learn;
    this.both ??= concatData(this.splits.learn, validation);
    return this.both;
  }

  private split(split: SplitName): SoupData {
    const data = this.data(split);
    if (data === undefined) throw new UsageError(`There is no ${split} split.`);
    return data;
  }

  /** The split, refused when the supervised objective needs labels it does not have. */
  private labelled(split: SplitName, objective: Objective): SoupData {
    const data = this.split(split);
    if (objective.name === "supervised" && data.y === undefined) {
      throw new UsageError(`The ${split} split has no labels.`);
    }
    return data;
  }

  private chunkX(data: SoupData, rows: RowSelection, start: number, end: number): tf.Tensor {
    return rows.indices === undefined
      ? sliceRows(data.x, start, end)
      : gatherRows(data.x, rows.indices.subarray(start, end));
  }

  private chunk(data: SoupData, rows: RowSelection, start: number, end: number): SoupData {
    const x = this.chunkX(data, rows, start, end);
    if (data.y === undefined) return { x };
    const y =
      rows.indices === undefined
        ? sliceRows(data.y, start, end)
        : gatherRows(data.y, rows.indices.subarray(start, end));
    return { x, y };
  }

  private gathered(data: SoupData, indices: Int32Array): SoupData {
    return {
      x: gatherRows(data.x, indices),
      ...(data.y !== undefined ? { y: gatherRows(data.y, indices) } : {}),
    };
  }
}

function selected(rows: RowSelection, data: SoupData): number {
  const n = dataSize(data);
  if (rows.indices === undefined) return n;
  for (const i of rows.indices) {
    if (!(i >= 0 && i < n)) throw new Error(`row ${i} is outside the ${rows.split} split's ${n} rows`);
  }
  return rows.indices.length;
}

function concatData(a: SoupData, b: SoupData): SoupData {
  return {
    x: tf.concat([a.x, b.x]),
    ...(a.y !== undefined && b.y !== undefined ? { y: tf.concat([a.y, b.y]) } : {}),
  };
}
