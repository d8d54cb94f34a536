// SoupEngine on the user's own PyTorch: engine.py in a child Python process (protocol at the top of engine.py).
// The ingredients and the data splits are written once to a private temporary folder that engine.py
// memory-maps; each request after that carries only coefficients, row indices and answers.
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../../core/errors.js";
import { forgetTemp, trackTemp } from "../../core/io/temp-files.js";
import type { Cancellation } from "../../core/cancellation.js";
import { openModel } from "../../core/formats/registry.js";
import type { PythonWithTorch } from "../../core/python/find-python.js";
import type { Tensor } from "../../core/tensor.js";
import type { TorchGraphNode } from "../../core/align/index.js";
import type { Objective } from "../learn/objective.js";
import type {
  BatchNormState,
  CoefficientLayout,
  EngineScore,
  RowSelection,
  SoupEngine,
  SplitName,
} from "../engine/soup-engine.js";
import { EngineProcess } from "./engine-process.js";
import { FollowerRanks, rankEnvironment, rankLayout, type RankOptions } from "./engine-ranks.js";

/** How the model is built: a TorchScript file as it is, or an architecture for the ingredients' state dicts. */
export type TorchModelSource =
  | { readonly torchScript: string }
  /** `torchvision:<name>`, `<file.py>:<function>`, `<module>:<callable>` or `huggingface:<folder>`. */
  | { readonly architecture: string };

/** A layer whose weight RegMean merges: its module, its weight tensor, and the rows d of its d×d Gram matrix. */
export interface TorchLinearMap {
  readonly module: string;
  readonly weight: string;
  readonly inputs: number;
}

/** One ingredient's tensors, as the core readers give them (any dtype; floating ones are merged). */
export interface IngredientTensors {
  /** The checkpoint file, for messages. */
  readonly file: string;
  readonly tensors: readonly Tensor[];
}

/** One data split as the worker's loaders made it: x row-major [rows, ...], y (labels or targets) likewise. */
export interface TorchDataSplit {
  readonly x: Float32Array;
  readonly xShape: readonly number[];
  readonly y?: Float32Array | Int32Array;
  readonly yShape?: readonly number[];
}

export interface TorchEngineOptions extends RankOptions {
  readonly python: PythonWithTorch;
  readonly model: TorchModelSource;
  readonly ingredients: readonly IngredientTensors[];
  /** Task-vector form: W = base + Σ α_i (W_i − base). */
  readonly base?: IngredientTensors;
  readonly splits: Partial<Record<Exclude<SplitName, "learn+validation">, TorchDataSplit>>;
  /** auto | cpu | cuda | cuda:N | mps (default auto: the first GPU when there is one). */
  readonly device?: string;
  /** The forward pass's dtype: float32 (default), bfloat16 or float16 (GPUs). */
  readonly dtype?: "float32" | "bfloat16" | "float16";
  /** Rows per forward pass inside one request (default 256). */
  readonly batchSize?: number;
  /** torch.set_num_threads; default torch's own. */
  readonly threads?: number;
  /** Polled while a request runs: the child is killed and the request rejects with CancelledError. */
  readonly cancel?: Cancellation;
  // From RankOptions: nproc N data-parallel ranks on this machine (default 1; threads is per rank), and nnodes,
  // nodeRank (0 here: the other nodes run serveTorchRanks), masterAddr, masterPort as torchrun takes them.
}

/**
 * engine.py beside this module: in the source tree (src/worker/torch/), or beside the bundle (dist/engine.py,
 * copied by scripts/build.mjs and shipped in the .vsix).
 */
export function enginePath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const path = join(here, "engine.py");
  if (!existsSync(path)) throw new Error(`engine.py not found in ${here}; the build copies it into dist/`);
  return path;
}

/** Reads a checkpoint (PyTorch, safetensors, …) through the core readers, as IngredientTensors. */
export async function readIngredient(path: string): Promise<IngredientTensors> {
  const file = await openModel(path);
  try {
    const tensors: Tensor[] = [];
    for (const info of file.manifest.tensors) {
      const floating = info.dtype.startsWith("float") || info.dtype === "bfloat16";
      tensors.push(await file.readTensor(info.name, { float32: floating }));
    }
    return { file: path, tensors };
  } finally {
    await file.close();
  }
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function float32Of(t: Tensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  throw new UsageError(`tensor ${t.name} was not read as float32`);
}

export class TorchEngine implements SoupEngine {
  readonly kind = "torch";
  private closed = false;
  /** A write not sent yet: it goes, unanswered unless it fails, just before the next request (one round trip a step). */
  private pendingWrite?: { header: Record<string, unknown>; payload: Uint8Array };

  private constructor(
    private readonly process: EngineProcess,
    private readonly followers: FollowerRanks | undefined,
    private readonly folder: string,
    readonly description: string,
    readonly ingredients: number,
    readonly layerOf: readonly string[],
    readonly batchNormLayers: readonly string[],
    private readonly merged: ReadonlyArray<{ name: string; shape: readonly number[]; size: number }>,
    private readonly copied: readonly string[],
    private readonly rowCounts: Record<string, number>,
    private readonly options: TorchEngineOptions,
  ) {}

  /** Starts engine.py, loads the model, hands it the ingredients and the splits. Nothing is left on failure. */
  static async start(options: TorchEngineOptions): Promise<TorchEngine> {
    const { ingredients } = options;
    if (ingredients.length === 0) throw new UsageError("A soup needs at least one ingredient.");
    const layout = await rankLayout(options);
    if (layout.nodeRank !== 0)
      throw new UsageError(`node ${layout.nodeRank} follows node 0: run serveTorchRanks there, not TorchEngine.start`);
    // Named and tracked as core/io/temp-files.ts names its folders: an interrupted worker removes it as it exits.
    const folder = await mkdtemp(join(tmpdir(), `model-soup-torch-${globalThis.process.pid}-`));
    trackTemp(folder);
    const script = enginePath();
    const process = new EngineProcess(options.python.path, script, rankEnvironment(layout, 0));
    const followers =
      layout.world > 1
        ? new FollowerRanks(
            options.python.path,
            script,
            layout,
            Array.from({ length: layout.nproc - 1 }, (_, i) => i + 1),
          )
        : undefined;
    // A rank that dies ends rank 0 too, with its line (else rank 0 would wait in a collective).
    void followers?.failed.then((line) => line !== undefined && process.fail(line));
    void process.exited.then(() => followers?.kill());
    try {
      return await TorchEngine.setUp(process, followers, folder, options, layout.world);
    } catch (error) {
      await process.close().catch(() => undefined);
      process.kill("closed");
      followers?.kill();
      await rm(folder, { recursive: true, force: true });
      forgetTemp(folder);
      throw error;
    }
  }

  private static async setUp(
    process: EngineProcess,
    followers: FollowerRanks | undefined,
    folder: string,
    options: TorchEngineOptions,
    world: number,
  ): Promise<TorchEngine> {
    const { ingredients, base, cancel } = options;
    const ready = await process.ready();
    const first = ingredients[0]!;
    const source = options.model;
    const model =
      "torchScript" in source
        ? { kind: "torchscript", path: source.torchScript }
        : { kind: "architecture", spec: source.architecture, file: first.file };
    const loaded = (
      await process.request(
        {
          op: "load",
          model,
          tensors: first.tensors.map((t) => [t.name, t.shape]),
          device: options.device ?? "auto",
          dtype: options.dtype ?? "float32",
          threads: options.threads,
        },
        undefined,
        cancel,
      )
    ).header as {
      device: string;
      merged: Array<[string, number[]]>;
      layers: string[];
      batchNorm: string[];
      copied: string[];
    };
    const merged = loaded.merged.map(([name, shape]) => ({ name, shape, size: shape.reduce((a, b) => a * b, 1) }));

    await sendIngredients(process, folder, merged, loaded.copied, ingredients, base, cancel);

    const rowCounts: Record<string, number> = {};
    for (const [split, data] of Object.entries(options.splits) as Array<[string, TorchDataSplit]>) {
      const rows = data.xShape[0] ?? 0;
      const xFile = join(folder, `${split}-x.f32`);
      await writeFile(xFile, bytesOf(data.x), { mode: 0o600 });
      let y: { file: string; shape: readonly number[] } | undefined;
      if (data.y !== undefined) {
        const yFile = join(folder, `${split}-y.f32`);
        const values = data.y instanceof Float32Array ? data.y : Float32Array.from(data.y);
        await writeFile(yFile, bytesOf(values), { mode: 0o600 });
        y = { file: yFile, shape: data.yShape ?? [rows] };
      }
      await process.request({ op: "data", split, x: { file: xFile, shape: data.xShape }, y }, undefined, cancel);
      rowCounts[split] = rows;
    }
    const version = String(ready.header.torch);
    return new TorchEngine(
      process,
      followers,
      folder,
      `PyTorch ${version}, ${loaded.device}${world > 1 ? `, ${world} ranks` : ""}, ${options.python.path}`,
      ingredients.length,
      loaded.layers,
      loaded.batchNorm,
      merged,
      loaded.copied,
      rowCounts,
      options,
    );
  }

  /** The merged tensors' names, in the order readMerged gives them. */
  get mergedNames(): string[] {
    return this.merged.map((m) => m.name);
  }

  /** The engine's process id (for a test, or a report). */
  get pid(): number | undefined {
    return this.process.pid;
  }

  /** The process ids of the other ranks on this machine (none with one rank). */
  get rankPids(): number[] {
    return this.followers?.pids ?? [];
  }

  rows(split: SplitName): number {
    if (split === "learn+validation") return (this.rowCounts.learn ?? 0) + (this.rowCounts.validation ?? 0);
    return this.rowCounts[split] ?? 0;
  }

  private request(header: Record<string, unknown>, payload?: Uint8Array) {
    if (this.closed) throw new UsageError("The PyTorch engine was closed.");
    const before = this.pendingWrite ? [this.pendingWrite] : [];
    this.pendingWrite = undefined;
    return this.process.requestAfter(before, header, payload, this.options.cancel);
  }

  private rowsHeader(rows: RowSelection) {
    return {
      header: { split: rows.split, indexed: rows.indices !== undefined },
      payload: rows.indices === undefined ? undefined : bytesOf(rows.indices),
    };
  }

  private batchSize(): number {
    return this.options.batchSize ?? 256;
  }

  async write(alpha: Float64Array, layout: CoefficientLayout): Promise<void> {
    if (alpha.length !== this.ingredients * layout.groups)
      throw new UsageError(
        `${alpha.length} coefficients for ${this.ingredients} ingredients × ${layout.groups} groups`,
      );
    if (layout.groupOf.length !== this.merged.length)
      throw new UsageError(`groupOf has ${layout.groupOf.length} entries for ${this.merged.length} merged tensors`);
    // Sent with the next request; a copy, as the caller may change its array before then.
    this.pendingWrite = {
      header: { op: "write", groupOf: layout.groupOf, groups: layout.groups },
      payload: bytesOf(Float64Array.from(alpha)),
    };
  }

  /** Requests carried out by engine.py so far and the seconds spent inside them, per op (benchmarks). */
  async timings(): Promise<Record<string, [number, number]>> {
    return (await this.request({ op: "timing" })).header.timings as Record<string, [number, number]>;
  }

  async gradient(rows: RowSelection, objective: Objective): Promise<{ loss: number; gradAlpha: Float64Array }> {
    const r = this.rowsHeader(rows);
    const answer = await this.request(
      { op: "gradient", rows: r.header, objective, batchSize: this.batchSize() },
      r.payload,
    );
    const p = answer.payload;
    return {
      loss: answer.header.loss as number,
      gradAlpha: new Float64Array(p.buffer.slice(p.byteOffset, p.byteOffset + p.byteLength)),
    };
  }

  async score(rows: RowSelection, objective: Objective): Promise<EngineScore> {
    const r = this.rowsHeader(rows);
    const answer = await this.request(
      { op: "score", rows: r.header, objective, batchSize: this.batchSize() },
      r.payload,
    );
    const metric = answer.header.metric;
    return { loss: answer.header.loss as number, metric: typeof metric === "number" ? metric : undefined };
  }

  async predict(rows: RowSelection): Promise<{ values: Float32Array; shape: readonly number[] }> {
    const r = this.rowsHeader(rows);
    const answer = await this.request({ op: "predict", rows: r.header, batchSize: this.batchSize() }, r.payload);
    return { values: float32s(answer.payload), shape: answer.header.shape as number[] };
  }

  async reestimateBatchNorm(rows: RowSelection): Promise<void> {
    if (this.batchNormLayers.length === 0) return;
    const r = this.rowsHeader(rows);
    await this.request({ op: "reestimateBatchNorm", rows: r.header, batchSize: this.batchSize() }, r.payload);
  }

  async readBatchNorm(): Promise<BatchNormState> {
    const answer = await this.request({ op: "readBatchNorm" });
    return {
      layers: answer.header.layers as string[],
      values: split(float32s(answer.payload), answer.header.sizes as number[]),
    };
  }

  async writeBatchNorm(state: BatchNormState): Promise<void> {
    const sizes = state.values.map((v) => v.length);
    const flat = new Float32Array(sizes.reduce((a, b) => a + b, 0));
    let offset = 0;
    for (const v of state.values) {
      flat.set(v, offset);
      offset += v.length;
    }
    await this.request({ op: "writeBatchNorm", sizes }, bytesOf(flat));
  }

  async readMerged(): Promise<Float32Array[]> {
    const answer = await this.request({ op: "readMerged" });
    return split(float32s(answer.payload), answer.header.sizes as number[]);
  }

  /** The merged (floating) tensors of the model, in the engine's order: what readMerged gives and setTensors takes. */
  get mergedTensors(): ReadonlyArray<{ name: string; size: number }> {
    return this.merged;
  }

  /** Writes the given values into the named merged tensors (a merge computed in the worker). */
  async setTensors(names: readonly string[], values: readonly Float32Array[]): Promise<void> {
    const flat = new Float32Array(values.reduce((a, v) => a + v.length, 0));
    let offset = 0;
    for (const v of values) {
      flat.set(v, offset);
      offset += v.length;
    }
    await this.request({ op: "setTensors", names }, bytesOf(flat));
  }

  /** The layers whose weight RegMean merges as a linear map, in forward-pass order, and notes on the others. */
  async linearMaps(): Promise<{ maps: TorchLinearMap[]; notes: string[] }> {
    const answer = await this.request({ op: "linearMaps" });
    return { maps: answer.header.maps as TorchLinearMap[], notes: answer.header.notes as string[] };
  }

  /** XᵀX (float64, d×d row-major) of each named layer's input rows over the selected rows, the weights now written. */
  async gramMatrices(rows: RowSelection, modules: readonly string[]): Promise<Float64Array[]> {
    const r = this.rowsHeader(rows);
    const answer = await this.request({ op: "grams", rows: r.header, modules, batchSize: this.batchSize() }, r.payload);
    const flat = float64s(answer.payload);
    const out: Float64Array[] = [];
    let offset = 0;
    for (const size of answer.header.sizes as number[]) {
      out.push(flat.slice(offset, offset + size));
      offset += size;
    }
    return out;
  }

  /**
   * Hands the engine other tensors for the same ingredients (aligned ones: their units permuted); every soup
   * written after this is made of them.
   */
  async replaceIngredients(ingredients: readonly IngredientTensors[]): Promise<void> {
    if (ingredients.length !== this.ingredients)
      throw new UsageError(`${ingredients.length} ingredients given for an engine of ${this.ingredients}`);
    if (this.options.base !== undefined) throw new UsageError("the ingredients of a task-vector soup stay as given");
    if (this.closed) throw new UsageError("The PyTorch engine was closed.");
    this.pendingWrite = undefined;
    await sendIngredients(
      this.process,
      this.folder,
      this.merged,
      this.copied,
      ingredients,
      undefined,
      this.options.cancel,
    );
  }

  /** The model's torch.fx graph, for its permutation symmetry (core/align/torch-symmetry.ts). */
  async structure(): Promise<TorchGraphNode[]> {
    return (await this.request({ op: "structure" })).header.nodes as TorchGraphNode[];
  }

  /**
   * Pearson correlation of ingredient a's units with ingredient b's at each probe (a node and its channel axis),
   * over the first `rows` learn rows: per probe a row-major C×C matrix, a's unit j by b's unit i.
   */
  async correlate(a: number, b: number, probes: ReadonlyArray<readonly [string, number]>, rows: number) {
    const answer = await this.request({ op: "correlate", a, b, probes, rows, batchSize: this.batchSize() });
    const flat = float64s(answer.payload);
    const out: Float64Array[] = [];
    let offset = 0;
    for (const c of answer.header.channels as number[]) {
      out.push(flat.slice(offset, offset + c * c));
      offset += c * c;
    }
    return out;
  }

  /** The diagonal empirical Fisher of every parameter over the selected rows, by name. */
  async fisherDiagonals(
    rows: RowSelection,
    task: Objective["task"],
    target: "labels" | "prediction",
  ): Promise<Map<string, Float32Array>> {
    const r = this.rowsHeader(rows);
    const answer = await this.request(
      { op: "fisher", rows: r.header, task, target, batchSize: this.batchSize() },
      r.payload,
    );
    const values = split(float32s(answer.payload), answer.header.sizes as number[]);
    return new Map((answer.header.names as string[]).map((name, k) => [name, values[k]!]));
  }

  /** Per probe, each channel's mean and standard deviation over the first `rows` learn rows, for the soup written. */
  async moments(probes: ReadonlyArray<readonly [string, number]>, rows: number) {
    const answer = await this.request({ op: "moments", probes, rows, batchSize: this.batchSize() });
    const flat = float64s(answer.payload);
    const out: Array<{ mean: Float64Array; std: Float64Array }> = [];
    let offset = 0;
    for (const c of answer.header.channels as number[]) {
      out.push({ mean: flat.slice(offset, offset + c), std: flat.slice(offset + c, offset + 2 * c) });
      offset += 2 * c;
    }
    return out;
  }

  /** Ends the child now, whatever it is doing (the request in flight rejects with CancelledError). */
  kill(reason = "Cancelled"): void {
    this.process.kill(reason);
    this.followers?.kill();
  }

  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.process.close().catch(() => undefined);
    await this.followers?.end();
    await rm(this.folder, { recursive: true, force: true });
    forgetTemp(this.folder);
  }
}

/**
 * Writes the ingredients (and the base) as engine.py's `ingredients` request reads them, and sends it. Every one
 * must hold every merged tensor with the model's shape; integer tensors (num_batches_tracked) are copied from the
 * first ingredient.
 */
async function sendIngredients(
  process: EngineProcess,
  folder: string,
  merged: ReadonlyArray<{ name: string; shape: readonly number[]; size: number }>,
  copiedNames: readonly string[],
  ingredients: readonly IngredientTensors[],
  base: IngredientTensors | undefined,
  cancel: Cancellation | undefined,
): Promise<void> {
  const rowsOf = base ? [base, ...ingredients] : [...ingredients];
  const lookup = rowsOf.map((ing) => new Map(ing.tensors.map((t) => [t.name, t])));
  const total = merged.reduce((a, m) => a + m.size, 0) * rowsOf.length;
  const stacked = new Float32Array(total);
  let offset = 0;
  for (const m of merged) {
    rowsOf.forEach((ing, r) => {
      const t = lookup[r]!.get(m.name);
      if (!t) throw new UsageError(`${ing.file} has no tensor ${m.name} that the model needs`);
      const values = float32Of(t);
      if (values.length !== m.size)
        throw new UsageError(
          `${ing.file}: tensor ${m.name} has shape [${t.shape.join(", ")}], the model expects [${m.shape.join(", ")}]`,
        );
      stacked.set(values, offset);
      offset += m.size;
    });
  }
  const ingredientsFile = join(folder, "ingredients.f32");
  await writeFile(ingredientsFile, bytesOf(stacked), { mode: 0o600 });
  const copied: Array<[string, string, number, number]> = [];
  const copiedParts: Uint8Array[] = [];
  let copiedBytes = 0;
  for (const name of copiedNames) {
    const t = lookup[base ? 1 : 0]!.get(name);
    if (!t) continue;
    const bytes = bytesOf(t.data);
    copied.push([name, t.dtype, copiedBytes, bytes.byteLength]);
    copiedParts.push(bytes);
    copiedBytes += bytes.byteLength;
  }
  const copiedFile = join(folder, "copied.bin");
  await writeFile(copiedFile, Buffer.concat(copiedParts), { mode: 0o600 });
  await process.request(
    { op: "ingredients", file: ingredientsFile, n: ingredients.length, base: base !== undefined, copied, copiedFile },
    undefined,
    cancel,
  );
}

function float64s(payload: Buffer): Float64Array {
  return new Float64Array(payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.byteLength));
}

function float32s(payload: Buffer): Float32Array {
  return new Float32Array(payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.byteLength));
}

function split(flat: Float32Array, sizes: readonly number[]): Float32Array[] {
  const out: Float32Array[] = [];
  let offset = 0;
  for (const size of sizes) {
    out.push(flat.slice(offset, offset + size));
    offset += size;
  }
  return out;
}
