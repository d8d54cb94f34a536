/** Writes a merged model and the recipe beside it; and re-runs a recipe (`apply`). */
import { mkdir, rmdir, unlink } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { HUGGING_FACE_CONFIG } from "../formats/pytorch/huggingface-folder.js";
import { throwIfCancelled, type Cancellation } from "../cancellation.js";
import { ModelFileError, UsageError } from "../errors.js";
import { readArchitecture, readManifest } from "../formats/registry.js";
import type { MergeStatistics } from "../merge/plan.js";
import { getMergeMethod } from "../merge/registry.js";
import type { MergeSpec } from "../merge/spec.js";
import { FileHashes, sha256Files } from "../recipe/hash.js";
import { canonicalPath, type ProtectedPath } from "../io/output-guard.js";
import { resolveOutputTarget } from "../io/output-target.js";
import { stageOutputs } from "../io/atomic.js";
import { lockOutputFolder, type OutputLock } from "../io/output-lock.js";
import {
  RECIPE_TOOL,
  describeInput,
  readRecipe,
  resolveInput,
  writeRecipe,
  type Recipe,
  type RecipeInput,
} from "../recipe/recipe.js";
import { huggingFaceConfigFor, stageHuggingFaceConfig } from "./huggingface-output.js";
import { planSoupOutput } from "./output.js";
import { mergeModelFiles, type MergeFilesOptions } from "./merge-files.js";

export interface SaveSoupOptions {
  spec: MergeSpec;
  target: string;
  origin: Recipe["origin"];
  learning?: Recipe["learning"];
  data?: Recipe["data"];
  metrics?: unknown;
  backend?: string;
  /** Tensor values that replace the merge's (see MergeFilesOptions.overrides); recorded in the recipe. */
  overrides?: Record<string, number[]>;
  /** Aligned merges: the permutations applied to each ingredient first; recorded in the recipe. */
  alignment?: Recipe["alignment"];
  /** Data statistics for RegMean and Fisher (see MergeFilesOptions.statistics); the recipe records their data. */
  statistics?: MergeStatistics;
  onProgress?: MergeFilesOptions["onProgress"];
  cancel?: Cancellation;
  /** Paths the output must not touch besides the inputs' files (the data, the recipe being applied, ...). */
  protect?: ProtectedPath[];
  /** The architecture file of weights-only checkpoints (`--architecture`); recorded in the recipe. */
  architecture?: string;
  /** Checks the written model while the output folder is still locked (see SavedSoupCheck). */
  check?: SavedSoupCheck;
}

/**
 * Checks a soup once it is in place (the worker scores the written file: worker/jobs/session/verify.ts) and gives
 * the metrics its recipe records (the file's own figures), or throws: the soup is then removed. It runs under the
 * output folder's lock, so no other writer sees the recipe before its final metrics, nor a refused soup.
 */
export type SavedSoupCheck = (saved: SavedSoup, metrics: unknown) => Promise<unknown>;

export interface SavedSoup {
  model: string;
  recipe: string;
  warnings: string[];
  /** The config.json this save copied beside a Hugging Face soup (huggingface-output.ts), removed with it. */
  copiedConfig?: string;
}

/** Removes the folders this run made (innermost first) as long as they are empty: a concurrent writer's files stay. */
async function removeEmptyFolders(folder: string, createdTop: string | undefined): Promise<void> {
  if (createdTop === undefined) return;
  const top = resolve(createdTop);
  for (let dir = resolve(folder); ; dir = dirname(dir)) {
    if (
      !(await rmdir(dir).then(
        () => true,
        () => false,
      ))
    )
      return;
    if (dir === top || dirname(dir) === dir) return;
  }
}

async function removeWritten(target: string): Promise<void> {
  const written = await readManifest(target).catch(() => undefined);
  // A Hugging Face config.json beside the model may be an input's (a soup written beside its ingredients).
  const config = written?.metadata.huggingFaceConfig;
  const files = (written?.files ?? [target]).filter((f) => f !== config);
  await Promise.all(files.map((f) => unlink(f).catch(() => undefined)));
}

/** Removes a saved soup again (its model files and its recipe): what a check of the written file refused. */
export async function removeSavedSoup(saved: Pick<SavedSoup, "model" | "recipe" | "copiedConfig">): Promise<void> {
  await removeWritten(saved.model);
  if (saved.copiedConfig !== undefined) await unlink(saved.copiedConfig).catch(() => undefined);
  await unlink(saved.recipe).catch(() => undefined);
}

/** Runs `check` on a soup in place; rewrites its recipe's metrics when they changed, or removes the soup and throws. */
async function runSavedCheck(saved: SavedSoup, check: SavedSoupCheck): Promise<void> {
  try {
    const recipe = await readRecipe(saved.recipe);
    const metrics = await check(saved, recipe.metrics);
    if (metrics !== undefined && JSON.stringify(metrics) !== JSON.stringify(recipe.metrics))
      await writeRecipe(saved.recipe, { ...recipe, metrics });
  } catch (error) {
    await removeSavedSoup(saved);
    throw error;
  }
}

/** `check` on a soup saved earlier, under its output folder's lock (io/output-lock.ts) as saveSoup runs it. */
export async function checkSavedSoup(saved: SavedSoup, check: SavedSoupCheck): Promise<void> {
  const lock = await lockOutputFolder(dirname(resolve(saved.recipe)));
  try {
    await runSavedCheck(saved, check);
  } finally {
    await lock.release();
  }
}

/** A data record's paths relative to the recipe's folder (absolute ones; relative ones are already so). */
function dataRelativeTo(data: NonNullable<Recipe["data"]>, recipeDir: string): NonNullable<Recipe["data"]> {
  const rel = (p: string) => (isAbsolute(p) ? relative(recipeDir, p) : p);
  return { ...data, path: rel(data.path), ...(data.test ? { test: { ...data.test, path: rel(data.test.path) } } : {}) };
}

/**
 * Merges and writes the model and its recipe as one output: under the output folder's lock (io/output-lock.ts)
 * every file is written under a temporary name, then all are renamed into place, the shards first, the model's
 * entry file after them and the recipe last (io/atomic.ts stageOutputs). The recipe records the hash of every
 * file of the model it describes. A failure or cancellation leaves nothing.
 */
export async function saveSoup(options: SaveSoupOptions): Promise<SavedSoup> {
  const spec = options.spec;
  // The output folder is locked before the guard looks at it (io/output-lock.ts): another writer's files are then
  // seen complete, never half renamed into place. A missing folder is made, and removed again on failure.
  const folder = (await resolveOutputTarget(options.target, spec.ingredients[0]!.path)).folder;
  const createdDir = await mkdir(folder, { recursive: true });
  let lock: OutputLock | undefined;
  // The inputs are hashed for the recipe on a thread while they are merged (recipe/hash.ts).
  const hashes = new FileHashes();
  try {
    lock = await lockOutputFolder(folder);
    // The output's meaning and the guard, before any work (io/output-target.ts, io/output-guard.ts).
    const planned = await planSoupOutput({
      out: options.target,
      models: spec.ingredients.map((g) => g.path),
      base: spec.base,
      protect: [
        ...(options.protect ?? []),
        ...(options.architecture !== undefined
          ? [{ path: options.architecture, role: `the architecture file ${options.architecture}` }]
          : []),
      ],
    });
    const architectureSource =
      options.architecture !== undefined ? await readArchitecture(options.architecture) : undefined;
    const target = planned.model;
    const recipePath = planned.recipe;
    const recipeDir = dirname(recipePath);
    const ingredientFiles = await Promise.all(spec.ingredients.map(async (g) => (await readManifest(g.path)).files));
    const baseFiles = spec.base !== undefined ? (await readManifest(spec.base)).files : undefined;
    const huggingFaceConfig = await huggingFaceConfigFor(planned, spec.ingredients[0]!.path);
    const saved = await stageOutputs(async (staged): Promise<SavedSoup> => {
      const outcome = await mergeModelFiles({
        spec,
        target,
        overrides: options.overrides,
        ...(options.alignment ? { alignment: options.alignment } : {}),
        statistics: options.statistics,
        ...(architectureSource ? { architecture: architectureSource } : {}),
        onProgress: options.onProgress,
        cancel: options.cancel,
        hashes,
      });
      const copied = huggingFaceConfig !== undefined && (await stageHuggingFaceConfig(huggingFaceConfig, planned));
      // The config already in place (the output beside its ingredient's config.json) is still one of its files.
      const configInPlace = huggingFaceConfig !== undefined && !copied ? huggingFaceConfig : undefined;
      const inputs = await Promise.all(ingredientFiles.map((files) => describeInput(files, recipeDir, hashes)));
      const base = baseFiles ? await describeInput(baseFiles, recipeDir, hashes) : undefined;
      // Every file staged so far is the model's; each is recorded by its final name with its bytes' hash.
      const digests = await Promise.all(staged.files.map((file) => hashes.digest(file.temp)));
      const outputFiles = Object.fromEntries(staged.files.map((f, i) => [relative(recipeDir, f.path), digests[i]!]));
      if (configInPlace !== undefined)
        outputFiles[relative(recipeDir, configInPlace)] = await hashes.digest(configInPlace);
      const recipe: Recipe = {
        kind: "model-soup-recipe",
        version: 1,
        tool: { ...RECIPE_TOOL },
        created: new Date().toISOString(),
        origin: options.origin,
        merge: {
          ...spec,
          ingredients: spec.ingredients.map((g, i) => ({ ...g, path: inputs[i]!.path })),
          ...(base ? { base: base.path } : {}),
        },
        inputs,
        ...(base ? { base } : {}),
        ...(options.learning ? { learning: options.learning } : {}),
        ...(options.data ? { data: dataRelativeTo(options.data, recipeDir) } : {}),
        ...(options.architecture !== undefined
          ? { architecture: await describeInput([options.architecture], recipeDir) }
          : {}),
        ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
        ...(options.backend ? { backend: options.backend } : {}),
        ...(options.alignment ? { alignment: options.alignment } : {}),
        ...(options.overrides ? { overrides: options.overrides } : {}),
        output: { path: relative(recipeDir, target), format: planned.format, files: outputFiles },
      };
      await writeRecipe(recipePath, recipe);
      throwIfCancelled(options.cancel);
      await lock!.verify();
      await staged.commit();
      return {
        model: target,
        recipe: recipePath,
        warnings: outcome.warnings,
        ...(copied ? { copiedConfig: join(planned.folder, HUGGING_FACE_CONFIG) } : {}),
      };
    });
    // After the renames (a recipe rewritten inside stageOutputs would only be staged), before the lock is released.
    if (options.check) await runSavedCheck(saved, options.check);
    return saved;
  } catch (error) {
    await lock?.release();
    lock = undefined;
    await removeEmptyFolders(folder, createdDir);
    throw error;
  } finally {
    await lock?.release();
    await hashes.close();
  }
}

/**
 * Re-computes the data statistics of a data-aware recipe (RegMean, Fisher) from its models and its recorded data;
 * the worker provides it, since it runs the models.
 */
export type RecipeStatistics = (recipe: Recipe, spec: MergeSpec, recipePath: string) => Promise<MergeStatistics>;

/** A recipe's own output path, which must stay inside the recipe's folder (a recipe may come from anywhere). */
function recipeOutputPath(recipePath: string, outputPath: string): string {
  const folder = resolve(dirname(recipePath));
  const target = resolve(folder, outputPath);
  const rel = relative(folder, target);
  if (isAbsolute(outputPath) || rel === "" || rel.startsWith("..") || isAbsolute(rel)) {
    throw new ModelFileError(
      recipePath,
      `its output.path "${outputPath}" is not inside the recipe's folder; refusing to write there (give --out to choose where to write)`,
    );
  }
  return target;
}

/** Recreates a recipe's merged model from its inputs, refusing when any input's content changed. */
export async function applyRecipe(
  recipePath: string,
  out?: string,
  hooks: Pick<SaveSoupOptions, "onProgress" | "cancel"> & { statistics?: RecipeStatistics } = {},
): Promise<SavedSoup> {
  const recipe = await readRecipe(recipePath);
  const check = async (input: { path: string; sha256: string }): Promise<string> => {
    const path = resolveInput(recipePath, input);
    const files = (await readManifest(path)).files;
    const actual = await sha256Files(files);
    if (actual !== input.sha256) {
      throw new ModelFileError(
        path,
        `has changed since the recipe ${recipePath} was written (SHA-256 ${actual}, the recipe expects ${input.sha256}); refusing to apply it`,
      );
    }
    return path;
  };
  const paths: string[] = [];
  for (const input of recipe.inputs) paths.push(await check(input));
  const architecture = recipe.architecture ? await checkArchitecture(recipePath, recipe.architecture) : undefined;
  const basePath = recipe.base ? await check(recipe.base) : undefined;
  const spec: MergeSpec = {
    ...recipe.merge,
    ingredients: recipe.merge.ingredients.map((g, i) => ({ ...g, path: paths[i]! })),
    ...(basePath ? { base: basePath } : {}),
  };
  const target = out ?? recipeOutputPath(recipePath, recipe.output.path);
  // Without --out the recipe is the output's own and is rewritten with it; with another output it is an input.
  const ownRecipe =
    out === undefined ||
    (await canonicalPath((await resolveOutputTarget(out, paths[0]!)).recipe)) === (await canonicalPath(recipePath));
  let statistics: MergeStatistics | undefined;
  let data = recipe.data;
  if (getMergeMethod(spec.method).data === "required") {
    if (hooks.statistics === undefined)
      throw new UsageError(
        `${recipePath}: ${spec.method} re-computes statistics of the models on data, which needs the worker`,
      );
    statistics = await hooks.statistics(recipe, spec, recipePath);
  }
  // A recipe records its data relative to its own folder, like its inputs: re-based for the new recipe.
  if (data !== undefined) {
    const from = (p: string) => resolve(dirname(recipePath), p);
    data = {
      ...data,
      path: from(data.path),
      ...(data.test ? { test: { ...data.test, path: from(data.test.path) } } : {}),
    };
  }
  return saveSoup({
    protect: ownRecipe ? [] : [{ path: recipePath, role: `the recipe ${recipePath} being applied` }],
    spec,
    target,
    origin: recipe.origin,
    learning: recipe.learning,
    data,
    metrics: recipe.metrics,
    backend: recipe.backend,
    overrides: recipe.overrides,
    ...(recipe.alignment ? { alignment: recipe.alignment } : {}),
    statistics,
    ...(architecture !== undefined ? { architecture } : {}),
    onProgress: hooks.onProgress,
    cancel: hooks.cancel,
  });
}

/** The architecture file a recipe records, refused when its content changed (its path resolved from the recipe's folder). */
export async function checkArchitecture(recipePath: string, input: RecipeInput): Promise<string> {
  const path = resolveInput(recipePath, input);
  const actual = await sha256Files([path]).catch((error: Error) => {
    throw new ModelFileError(
      path,
      `is the architecture the recipe ${recipePath} was made with and cannot be read (${error.message})`,
    );
  });
  if (actual !== input.sha256)
    throw new ModelFileError(
      path,
      `has changed since the recipe ${recipePath} was written (SHA-256 ${actual}, the recipe expects ${input.sha256}); refusing to apply it`,
    );
  return path;
}
