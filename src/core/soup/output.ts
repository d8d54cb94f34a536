/**
 * Where a soup is written, decided and checked before any work (the CLI before it starts the worker, the worker
 * before it learns, saveSoup before it merges): the output path's meaning (io/output-target.ts), then the output
 * guard against every input's files, the base, the data and whatever else the caller protects.
 */
import { readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ModelFileError, UsageError } from "../errors.js";
import { detectFormat, filesOfModels, readManifest } from "../formats/registry.js";
import { modelCandidates } from "../io/model-candidates.js";
import { TEMP_PREFIX } from "../io/atomic.js";
import { guardOutputs, type PlannedOutput, type ProtectedPath } from "../io/output-guard.js";
import { resolveOutputTarget, type OutputTarget } from "../io/output-target.js";
import { readRecipe } from "../recipe/recipe.js";

export interface SoupOutputRequest {
  /** The output path as the user gave it. */
  out: string;
  /** The ingredients (model files); the first is the template whose format the output takes. */
  models: readonly string[];
  base?: string;
  /** More paths no output may touch: the data, a recipe or config being read, ... */
  protect?: readonly ProtectedPath[];
}

/** The data file (or image folder) of a learned soup, as a protected path. */
export function dataProtection(path: string): ProtectedPath {
  return { path, role: `the data ${path}` };
}

/** The files an output is made of, for the guard (the model with its shards, and the recipe). */
export function plannedFiles(target: OutputTarget): PlannedOutput[] {
  return [
    {
      path: target.model,
      what: "the merged model",
      siblings: target.siblings,
      ...(target.form === "folder" ? { folder: target.folder } : {}),
    },
    { path: target.recipe, what: "the recipe" },
  ];
}

/** An existing file at the output is replaced only when it is what would be written there (a model, a recipe). */
async function refuseReplacingOtherFiles(target: OutputTarget): Promise<void> {
  if (
    await stat(target.model).then(
      (s) => s.isFile(),
      () => false,
    )
  ) {
    const format = await detectFormat(target.model).then(
      (f) => f.id,
      () => undefined,
    );
    if (format !== target.format) {
      throw new ModelFileError(
        target.model,
        `refused as the merged model: a file that is not a ${target.format} model is there; move it or choose another output`,
      );
    }
  }
  if (
    await stat(target.recipe).then(
      (s) => s.isFile(),
      () => false,
    )
  ) {
    const recipe = await readRecipe(target.recipe).catch(() => undefined);
    if (!recipe)
      throw new ModelFileError(
        target.recipe,
        "refused as the recipe: a file that is not a Model Soup recipe is there; move it or choose another output",
      );
  }
}

/**
 * Shard names the writer will use may already be taken in the output folder by another model (a converter's
 * `other.json` + `group1-shard1of1.bin` beside a new `model.json`): refused, naming that model. Files of the model
 * being replaced at the target, and shards no model refers to, may be overwritten.
 */
async function refuseTakingOtherModelsShards(target: OutputTarget): Promise<void> {
  if (!target.siblings) return;
  // Another writer's complete temporaries (io/atomic.ts) are not models of this folder: they wait for its lock.
  const names = (await readdir(target.folder).catch(() => [] as string[])).filter((n) => !n.startsWith(TEMP_PREFIX));
  const taken = names.filter((n) => target.siblings!.test(n)).map((n) => join(target.folder, n));
  if (taken.length === 0) return;
  const others = (await modelCandidates(names.map((n) => join(target.folder, n)))).filter((m) => m !== target.model);
  for (const other of others) {
    const files = new Set(
      (
        await readManifest(other).then(
          (m) => m.files,
          () => [] as string[],
        )
      ).map((f) => resolve(f)),
    );
    const shared = taken.find((t) => files.has(t));
    if (shared)
      throw new ModelFileError(
        target.model,
        `refused as the merged model: its shard ${shared} would overwrite a file of the model ${other}; choose another name or folder`,
      );
  }
}

/** Resolves and checks a soup's output; throws before any work when it is refused. */
export async function planSoupOutput(request: SoupOutputRequest): Promise<OutputTarget> {
  if (request.models.length === 0) throw new UsageError("no models to merge");
  const target = await resolveOutputTarget(request.out, request.models[0]!);
  const protectedPaths = [
    ...(await filesOfModels(request.models)),
    ...(request.base !== undefined ? await filesOfModels([request.base], "base model") : []),
    ...(request.protect ?? []),
  ];
  await guardOutputs(plannedFiles(target), protectedPaths);
  await refuseReplacingOtherFiles(target);
  await refuseTakingOtherModelsShards(target);
  return target;
}
