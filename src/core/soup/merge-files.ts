/**
 * Runs a merge description over model files: one output tensor at a time, each ingredient's tensor read on
 * demand, so memory stays near (N+1) tensors whatever the models' size. Any format, any method.
 */
import { nameMapping } from "../architecture/index.js";
import { throwIfCancelled, type Cancellation } from "../cancellation.js";
import { UsageError } from "../errors.js";
import { openModel, readManifest, writeModel } from "../formats/registry.js";
import { canStream } from "../formats/stream-readers.js";
import { keptFrom, prepareMerge, type MergeStatistics, type PreparedMerge } from "../merge/plan.js";
import { streamMerge } from "../merge/streaming/index.js";
import { layerPositions } from "../merge/params.js";
import type { MergeSpec } from "../merge/spec.js";
import { type ArchitectureSource, fitModelFile } from "../formats/weights-layout.js";
import type { ModelFile, ModelManifest } from "../model.js";
import { isAllFinite, nonFiniteWarning, overflowError, overflowsOnStore, scanNonFinite } from "../non-finite.js";
import type { FileHashes } from "../recipe/hash.js";
import { elementCount, isFloat, type TensorArray } from "../tensor.js";
import {
  permutationSymmetry,
  reorderTensor,
  tensorReorders,
  type PermutationGroup,
  type Permutations,
  type TensorReorder,
} from "../align/index.js";

export interface MergeFilesOptions {
  spec: MergeSpec;
  target: string;
  /** The model whose file is copied with new tensor data (default: the first ingredient). */
  template?: string;
  /** Called as the merge goes: tensors done of all, or (for streamed safetensors) bytes read of all. */
  onProgress?: (done: number, total: number, unit: ProgressUnit) => void;
  cancel?: Cancellation;
  metadata?: Record<string, string>;
  /**
   * Hashes the inputs for the recipe while the merge runs: a streamed merge hands it the bytes it reads (each
   * input byte read once); any other merge has the hashing thread read the files alongside.
   */
  hashes?: FileHashes;
  /**
   * Values that replace the merge's result for some tensors (by the template's tensor names): the
   * BatchNormalization statistics re-estimated for a learned soup, which no weight average gives.
   */
  overrides?: Record<string, number[]>;
  /** Aligned merges: per ingredient, the permutations of its units (by the template's group ids) applied before merging. */
  alignment?: { permutations: Permutations[]; groups?: ReadonlyArray<Omit<PermutationGroup, "probes">> };
  /** Data statistics for the methods that need them (RegMean, Fisher), by the template's tensor names. */
  statistics?: MergeStatistics;
  /** The architecture of weights-only checkpoints (`--architecture`), which aligned merges need to permute units. */
  architecture?: ArchitectureSource;
}

/**
 * safetensors (or PyTorch checkpoints stored as torch.save stores them) in, safetensors out: streamed (src/core/merge/streaming), so memory stays near N+1 tensors, or N+1
 * pieces of one for methods that treat every element on its own. Progress counts bytes.
 */
async function streamSafetensors(
  options: MergeFilesOptions,
  prepared: PreparedMerge,
  inputs: string[],
  separateBase: boolean,
): Promise<MergeOutcome> {
  const elementwise = prepared.method.scope === "element";
  const warnings: string[] = [];
  const ingredientCount = prepared.spec.ingredients.length;
  const positions = layerPositions((await readManifest(inputs[0]!)).tensors.map((t) => t.layer));
  const kept = keptFrom(prepared);
  const result = await streamMerge({
    inputs,
    // The base is the last input when it is not an ingredient.
    copyFrom: kept === "base" ? inputs.length - 1 : kept,
    target: options.target,
    elementwise,
    cancel: options.cancel,
    metadata: options.metadata,
    onRead: options.hashes ? (file, position, bytes) => options.hashes!.observe(file, position, bytes) : undefined,
    onProgress: (done, total) => options.onProgress?.(done, total, "bytes"),
    weightedSum: separateBase ? undefined : (info) => prepared.weightedSumTerms(info, positions.get(info.layer)),
    combine: (tensors, info) => {
      // A piece of an elementwise merge is merged as a flat tensor of its own length.
      const pieceInfo = elementwise ? { ...info, shape: [tensors[0]!.length] } : info;
      return prepared.mergeTensor({
        info: pieceInfo,
        position: positions.get(info.layer),
        ingredients: tensors.slice(0, ingredientCount),
        base: separateBase ? tensors[ingredientCount] : undefined,
        ...statisticsOf(options.statistics, info.name),
        warn: (message) => warnings.push(message),
        output: info.output,
      }) as Float32Array;
    },
  });
  return { warnings: [...result.warnings, ...warnings] };
}

/** The `statistics` field of one tensor's inputs: absent when the merge has none, `{}` for a tensor without any. */
function statisticsOf(statistics: MergeStatistics | undefined, name: string) {
  return statistics === undefined ? {} : { statistics: statistics.get(name) ?? {} };
}

/** Per ingredient, how its tensors are reordered by an aligned merge (none without alignment). */
function alignmentReorders(
  template: ModelManifest,
  alignment: MergeFilesOptions["alignment"],
  count: number,
): Array<Map<string, TensorReorder> | undefined> {
  if (alignment === undefined) return [];
  if (alignment.permutations.length !== count) {
    throw new UsageError(
      `the alignment has permutations for ${alignment.permutations.length} model(s); the merge has ${count}`,
    );
  }
  // Groups the recipe records (PyTorch: traced from the architecture by the engine), else the file's own architecture's.
  const plan =
    alignment.groups !== undefined
      ? { groups: alignment.groups.map((g) => ({ ...g, probes: [] })), fixed: [] }
      : permutationSymmetry(template);
  const shapes = new Map(template.tensors.map((t) => [t.name, t.shape]));
  const known = new Set(plan.groups.map((g) => g.id));
  return alignment.permutations.map((perms) => {
    for (const id of Object.keys(perms)) {
      if (!known.has(id))
        throw new UsageError(`the alignment permutes "${id}", which is no permutation group of ${template.path}`);
    }
    return tensorReorders(plan, perms, shapes);
  });
}

/** Opens every model once, closing them all when `work` ends. */
export async function withModels<T>(paths: readonly string[], work: (files: ModelFile[]) => Promise<T>): Promise<T> {
  const files: ModelFile[] = [];
  try {
    for (const p of paths) files.push(await openModel(p));
    return await work(files);
  } finally {
    await Promise.all(files.map((f) => f.close().catch(() => undefined)));
  }
}

export type ProgressUnit = "tensors" | "bytes";

/** Things the user should know about a merge that did not stop it (NaN or infinite input weights, ...). */
export interface MergeOutcome {
  warnings: string[];
}

export async function mergeModelFiles(options: MergeFilesOptions): Promise<MergeOutcome> {
  const { spec, target } = options;
  const prepared = prepareMerge(spec);
  const paths = spec.ingredients.map((g) => g.path);
  const separateBase = spec.base !== undefined && prepared.baseIndex === undefined ? spec.base : undefined;
  const templatePath = options.template ?? paths[prepared.modelIndices[0] ?? 0]!;
  const all = separateBase ? [...paths, separateBase] : paths;
  if (!all.includes(templatePath)) all.push(templatePath);

  if (
    options.overrides === undefined &&
    options.template === undefined &&
    options.alignment === undefined &&
    (await canStream(all, target))
  ) {
    return streamSafetensors(options, prepared, all, separateBase !== undefined);
  }

  const warnings: string[] = [];
  if (options.hashes)
    for (const p of all)
      for (const file of (await readManifest(p)).files) void options.hashes.digest(file).catch(() => undefined);
  await withModels(all, async (opened) => {
    const files = opened.map((f) => fitModelFile(f, options.architecture));
    const byPath = new Map(all.map((p, i) => [p, files[i]!]));
    const template = byPath.get(templatePath)!;
    const ingredientFiles = paths.map((p) => byPath.get(p)!);
    const baseFile = separateBase ? byPath.get(separateBase) : undefined;
    // Tensors are matched by name; models whose names differ but whose structure agrees are matched by topology.
    const mappings = ingredientFiles.map((f) => nameMapping(template.manifest, f.manifest));
    const baseMapping = baseFile ? nameMapping(template.manifest, baseFile.manifest) : undefined;
    const positions = layerPositions(template.manifest.tensors.map((t) => t.layer));
    const reorders = alignmentReorders(template.manifest, options.alignment, ingredientFiles.length);
    const total = template.manifest.tensors.length;
    for (const name of Object.keys(options.overrides ?? {})) {
      const info = template.manifest.tensors.find((t) => t.name === name);
      if (info === undefined) throw new UsageError(`${templatePath} has no tensor "${name}" to override`);
      if (options.overrides![name]!.length !== elementCount(info.shape)) {
        throw new UsageError(
          `the override of "${name}" has ${options.overrides![name]!.length} values; the tensor has ${elementCount(info.shape)}`,
        );
      }
    }
    let done = 0;

    const read = async (
      file: ModelFile,
      mapping: Map<string, string>,
      name: string,
      float: boolean,
    ): Promise<TensorArray> => {
      const mapped = mapping.get(name);
      if (mapped === undefined) throw new UsageError(`${file.manifest.path} has no tensor matching "${name}"`);
      const data = (await file.readTensor(mapped, { float32: float })).data;
      const warning = float ? nonFiniteWarning(file.manifest.path, mapped, scanNonFinite(data)) : undefined;
      if (warning) warnings.push(warning);
      return data;
    };

    await writeModel(
      templatePath,
      target,
      async (info) => {
        throwIfCancelled(options.cancel);
        const override = options.overrides?.[info.name];
        if (override !== undefined) {
          options.onProgress?.(++done, total, "tensors");
          return Float32Array.from(override);
        }
        const float = isFloat(info.dtype);
        const ingredients: TensorArray[] = [];
        for (let i = 0; i < ingredientFiles.length; i++) {
          const values = await read(ingredientFiles[i]!, mappings[i]!, info.name, float);
          ingredients.push(reorderTensor(values, info.shape, reorders[i]?.get(info.name)));
        }
        const base = baseFile ? await read(baseFile, baseMapping!, info.name, float) : undefined;
        const merged = prepared.mergeTensor({
          info,
          position: positions.get(info.layer),
          ingredients,
          base,
          ...statisticsOf(options.statistics, info.name),
          warn: (message) => warnings.push(message),
        });
        if (float && merged instanceof Float32Array) {
          const overflow = overflowsOnStore(merged, info.dtype);
          const inputs = base === undefined ? ingredients : [...ingredients, base];
          if (overflow > 0 && inputs.every((t) => isAllFinite(scanNonFinite(t))))
            throw overflowError(target, info.name, overflow, info.dtype);
        }
        options.onProgress?.(++done, total, "tensors");
        return merged;
      },
      { metadata: options.metadata },
      all,
    );
  });
  return { warnings };
}
