/** Builds a SoupProblem from model files: one executable model, and every ingredient's weights by name. */
import { basename } from "node:path";
import { notRunnableReason } from "../../../protocol/capability.js";
import { nameMapping } from "../../../core/architecture/index.js";
import { ModelFileError, UsageError } from "../../../core/errors.js";
import { architectureAdvice } from "../../../core/formats/architecture-file.js";
import { fullModelBeside, readArchitecture } from "../../../core/formats/registry.js";
import { fitModelFile, isWeightsOnly } from "../../../core/formats/weights-layout.js";
import type { ModelManifest } from "../../../core/model.js";
import { nonFiniteWarning, scanNonFinite } from "../../../core/non-finite.js";
import { withModels } from "../../../core/soup/merge-files.js";
import type { SoupProblem } from "../../learn/problem.js";
import { bindWeights, buildModel, finalOutputModel, type WeightBinding } from "../../runtime/index.js";

export interface LoadedProblem {
  problem: SoupProblem;
  manifest: ModelManifest;
  bindings: WeightBinding[];
  /** The Keras training_config of the first model, when it has one. */
  trainingConfig?: unknown;
  /** NaN or infinite input weights, and the models' own manifest warnings. */
  warnings: string[];
  /** The file the weights-only checkpoints took their architecture from (`--architecture`), when one was used. */
  architecture?: string;
}

/** The refusal of a model that records no architecture: for a weights-only checkpoint, what to pass instead. */
async function noArchitecture(manifest: ModelManifest): Promise<ModelFileError> {
  if (isWeightsOnly(manifest))
    return new ModelFileError(
      manifest.path,
      `(${manifest.format}) ${architectureAdvice(await fullModelBeside(manifest))}`,
    );
  return new ModelFileError(manifest.path, `(${manifest.format}) ${notRunnableReason("cli")}`);
}

/**
 * Reads every ingredient's tensors (float32) aligned with the first model's variables; the base too when given.
 * `architecture` (a full model or a topology JSON) gives weights-only checkpoints the layers they lack.
 */
export async function loadProblem(
  models: readonly string[],
  base?: string,
  architecture?: string,
): Promise<LoadedProblem> {
  // A model that fails part way (an incompatible or unreadable ingredient) must not leave the built model behind.
  const built: { model?: { dispose(): void } } = {};
  try {
    return await readProblem(models, base, architecture, built);
  } catch (error) {
    built.model?.dispose();
    throw error;
  }
}

async function readProblem(
  models: readonly string[],
  base: string | undefined,
  architecture: string | undefined,
  toDispose: { model?: { dispose(): void } },
): Promise<LoadedProblem> {
  if (models.length < 2) throw new UsageError(`a soup needs at least two models; got ${models.length}`);
  const paths = base === undefined ? [...models] : [...models, base];
  const source = architecture === undefined ? undefined : await readArchitecture(architecture);
  return withModels(paths, async (opened) => {
    const files = opened.map((f) => fitModelFile(f, source));
    const manifest = files[0]!.manifest;
    if (!manifest.architecture) throw await noArchitecture(manifest);
    const built = await buildModel(manifest);
    let bindings: WeightBinding[];
    try {
      bindings = bindWeights(manifest, built);
    } catch (error) {
      built.dispose();
      // The layers TF.js built come from the architecture file: a checkpoint that does not fit them names both.
      if (source !== undefined && manifest.metadata.architecture === source.path && error instanceof ModelFileError)
        throw new ModelFileError(manifest.path, `does not fit the architecture of ${source.path}: ${error.expected}`);
      throw error;
    }
    // Converters may expose intermediate layers as outputs too; a soup is judged on the final prediction.
    const model = finalOutputModel(built, manifest.architecture);
    toDispose.model = model;
    const warnings = ingredientWarnings(files.map((f) => f.manifest));
    const read = async (index: number): Promise<Float32Array[]> => {
      const file = files[index]!;
      const mapping = nameMapping(manifest, file.manifest);
      const values: Float32Array[] = [];
      for (const b of bindings) {
        const name = mapping.get(b.tensor)!;
        const data = (await file.readTensor(name, { float32: true })).data as Float32Array;
        const warning = nonFiniteWarning(file.manifest.path, name, scanNonFinite(data));
        if (warning) warnings.push(warning);
        values.push(data);
      }
      return values;
    };
    const ingredients: Float32Array[][] = [];
    for (let i = 0; i < models.length; i++) ingredients.push(await read(i));
    const problem: SoupProblem = {
      model,
      variables: bindings.map((b) => b.variable),
      layerOf: bindings.map((b) => b.layer),
      ingredients,
      ...(base !== undefined ? { base: await read(models.length) } : {}),
    };
    return {
      problem,
      manifest,
      bindings,
      trainingConfig: manifest.trainingConfig,
      warnings,
      ...(source !== undefined && files.some((f) => f.manifest.metadata.architecture === source.path)
        ? { architecture: source.path }
        : {}),
    };
  });
}

/**
 * The models' own warnings, each prefixed with its file. Weights-only checkpoints run with the architecture of the
 * first model: instead of one "the architecture is unknown" per checkpoint, one line says whose architecture ran.
 */
function ingredientWarnings(manifests: readonly ModelManifest[]): string[] {
  const first = manifests[0]!;
  const unknown = /architecture is unknown|records no architecture/;
  const borrowed = manifests.filter((m) => m !== first && !m.architecture && m.warnings.some((w) => unknown.test(w)));
  const warnings = manifests.flatMap((m) =>
    m.warnings.filter((w) => !borrowed.includes(m) || !unknown.test(w)).map((w) => `${m.path}: ${w}`),
  );
  if (borrowed.length > 0) {
    warnings.push(
      `${borrowed.map((m) => basename(m.path)).join(", ")}: weights-only, run with the architecture of ${first.path}`,
    );
  }
  return warnings;
}

export function disposeProblem(loaded: LoadedProblem): void {
  loaded.problem.model.dispose();
}
