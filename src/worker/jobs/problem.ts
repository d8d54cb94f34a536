/** Builds a SoupProblem from model files: one executable model, and every ingredient's weights by name. */
import { nameMapping } from "../../core/architecture/index.js";
import { ModelFileError, UsageError } from "../../core/errors.js";
import type { ModelManifest } from "../../core/model.js";
import { nonFiniteWarning, scanNonFinite } from "../../core/non-finite.js";
import { withModels } from "../../core/soup/merge-files.js";
import type { SoupProblem } from "../learn/problem.js";
import { bindWeights, buildModel, finalOutputModel, type WeightBinding } from "../runtime/index.js";

export interface LoadedProblem {
  problem: SoupProblem;
  manifest: ModelManifest;
  bindings: WeightBinding[];
  /** The Keras training_config of the first model, when it has one. */
  trainingConfig?: unknown;
  /** NaN or infinite input weights, and the models' own manifest warnings. */
  warnings: string[];
}

/** Reads every ingredient's tensors (float32) aligned with the first model's variables; the base too when given. */
export async function loadProblem(models: readonly string[], base?: string): Promise<LoadedProblem> {
  // A model that fails part way (incompatible, unreadable) must not leave the built model's variables behind.
  const built: { model?: { dispose(): void } } = {};
  try {
    return await readProblem(models, base, built);
  } catch (error) {
    built.model?.dispose();
    throw error;
  }
}

async function readProblem(
  models: readonly string[],
  base: string | undefined,
  built: { model?: { dispose(): void } },
): Promise<LoadedProblem> {
  if (models.length < 2) throw new UsageError(`a soup needs at least two models; got ${models.length}`);
  const paths = base === undefined ? [...models] : [...models, base];
  return withModels(paths, async (files) => {
    const manifest = files[0]!.manifest;
    if (!manifest.architecture) {
      throw new ModelFileError(
        manifest.path,
        `(${manifest.format}) records no architecture that can be rebuilt, so it cannot be run to learn or evaluate a soup; ` +
          "fixed merges (model-soup merge) work on its weights without one",
      );
    }
    const full = await buildModel(manifest);
    built.model = full;
    const bindings = bindWeights(manifest, full);
    // Converters may expose intermediate layers as outputs too; a soup is judged on the final prediction.
    const model = finalOutputModel(full, manifest.architecture);
    built.model = model;
    const warnings = files.flatMap((f) => f.manifest.warnings.map((w) => `${f.manifest.path}: ${w}`));
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
    return { problem, manifest, bindings, trainingConfig: manifest.trainingConfig, warnings };
  });
}

export function disposeProblem(loaded: LoadedProblem): void {
  loaded.problem.model.dispose();
}
