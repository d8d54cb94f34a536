/**
 * The recipe saved beside every merged model: enough to recreate the same tensors from the same inputs
 * without any data (`model-soup apply`), and a record of how the coefficients were found.
 */
import { readFile, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { ModelFileError } from "../errors.js";
import { writeFilesAtomically } from "../io/atomic.js";
import * as v from "valibot";
import { MERGE_METHOD_IDS, paramValueSchema } from "../merge/spec.js";
import type { FormatId } from "../model.js";
import { MODEL_EXTENSIONS } from "../io/output-names.js";
import { check } from "../../protocol/schema.js";
// Bundled into dist/ by esbuild (which keeps only this field) and read by tsx in tests and the CLI from src/.
import { version as packageVersion } from "../../../package.json";
import { type FileHashes, sha256Files } from "./hash.js";
import { parseBoundedJson, requireRegularFile } from "../formats/limits.js";

const text = v.string("must be a string");
const finite = v.pipe(v.number("must be a number"), v.finite("must be a finite number"));
const object = <E extends v.ObjectEntries>(entries: E) => v.object(entries, "must be an object");
const mapOf = <S extends v.GenericSchema>(value: S, message = "must be an object") =>
  v.record(v.string(), value, message);

const inputSchema = object({
  /** Relative to the recipe's folder when the recipe is beside the output (portable), else absolute. */
  path: text,
  sha256: text,
});

const ingredientSchema = object({
  path: text,
  weight: v.optional(paramValueSchema),
  weightsByLayer: v.optional(mapOf(finite, "must map layer names to numbers")),
  params: v.optional(mapOf(paramValueSchema)),
});

const mergeSchema = object({
  method: v.picklist(MERGE_METHOD_IDS, `must be one of ${MERGE_METHOD_IDS.join(", ")}`),
  params: v.optional(mapOf(paramValueSchema), {}),
  ingredients: v.array(ingredientSchema, "must be a list of ingredients"),
  base: v.optional(v.string("must be a path")),
  outDtype: v.optional(v.string("must be a dtype name")),
});

/** The tool a recipe records as its writer: this package, at the version package.json states. */
export const RECIPE_TOOL = { name: "model-soup", version: packageVersion } as const;

const FORMAT_IDS = Object.keys(MODEL_EXTENSIONS) as FormatId[];

const recipeSchema = v.pipe(
  v.object(
    {
      kind: v.literal("model-soup-recipe", 'must be "model-soup-recipe"'),
      version: v.literal(1, (issue) => `${String(issue.input)} is not supported (expected 1)`),
      tool: object({ name: v.literal(RECIPE_TOOL.name, `must be "${RECIPE_TOOL.name}"`), version: text }),
      created: text,
      /** How the coefficients were found: "manual", "uniform", "learned", "greedy". */
      origin: text,
      /**
       * What `apply` re-runs: the method, its parameters and the final coefficients (a learned or greedy soup is a
       * linear merge with the coefficients found). Paths are the inputs' paths below.
       */
      merge: mergeSchema,
      /** One per ingredient of `merge`, in the same order, with the hash `apply` checks. */
      inputs: v.array(inputSchema, "must be a list of inputs (path and sha256)"),
      base: v.optional(inputSchema),
      learning: v.optional(mapOf(v.unknown())),
      data: v.optional(
        object({
          path: text,
          sha256: text,
          label: v.optional(text),
          seed: v.optional(finite),
          fractions: v.optional(mapOf(finite)),
          /** `--max-rows`: each data file was a seeded sample of this many rows. */
          maxRows: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
          scale: v.optional(finite),
          inputKey: v.optional(text),
          /** The loss learning and scoring used (a Keras loss name: sparse_categorical_crossentropy, ...). */
          loss: v.optional(text),
          /** The user's own held-out rows (`--test`), used only for the final comparison. */
          test: v.optional(inputSchema),
        }),
      ),
      /** Where weights-only checkpoints took their architecture from (`--architecture`): a full model or a topology JSON. */
      architecture: v.optional(inputSchema),
      metrics: v.optional(v.unknown()),
      backend: v.optional(text),
      /**
       * The ingredients were aligned before merging: each ingredient's units are permuted (groups as
       * src/core/align derives them from the first ingredient's architecture) before its tensors are merged.
       */
      alignment: v.optional(
        object({
          method: text,
          /** The model the ingredients were aligned to (its own permutations are empty). */
          reference: text,
          /** One per ingredient: group id → permutation (unit j of the aligned model is unit perm[j] of the original). */
          permutations: v.array(mapOf(v.array(finite, "must be a list of unit indices")), "must be a list"),
          /**
           * The permutation groups themselves, where the files cannot give them (PyTorch: the engine traces them from
           * the architecture's graph): which axes of which tensors each group's units occupy.
           */
          groups: v.optional(
            v.array(
              object({
                id: text,
                size: finite,
                members: v.array(
                  object({
                    tensor: text,
                    axis: finite,
                    offset: finite,
                    period: finite,
                    count: finite,
                    width: v.optional(finite),
                  }),
                  "must be a list",
                ),
              }),
              "must be a list",
            ),
          ),
        }),
      ),
      /** Tensors whose values are given here rather than merged (re-estimated BatchNormalization statistics). */
      overrides: v.optional(
        mapOf(v.array(finite, "must be a list of numbers"), "must map tensor names to lists of numbers"),
      ),
      output: object({
        path: text,
        format: v.picklist(FORMAT_IDS, `must be one of ${FORMAT_IDS.join(", ")}`),
        /** Every file of the model written (relative to the recipe's folder) → SHA-256; `apply --check` compares them. */
        files: v.optional(mapOf(text, "must map file paths to SHA-256 hashes")),
      }),
    },
    'expected a JSON object with "kind": "model-soup-recipe"',
  ),
  v.check(
    (r) => r.inputs.length === r.merge.ingredients.length,
    "expected one input (path and sha256) per ingredient of merge",
  ),
  v.check(
    (r) => r.alignment === undefined || r.alignment.permutations.length === r.inputs.length,
    "its alignment needs one set of permutations per ingredient",
  ),
);

export type Recipe = v.InferOutput<typeof recipeSchema>;
export type RecipeInput = v.InferOutput<typeof inputSchema>;
export type RecipeAlignment = NonNullable<Recipe["alignment"]>;

export { recipePathFor } from "../io/output-names.js";

/** The recipe's record of a model; `hashes` gives the hash when the files were hashed while they were merged. */
export async function describeInput(
  modelFiles: readonly string[],
  recipeDir: string,
  hashes?: FileHashes,
): Promise<RecipeInput> {
  const sha256 = hashes ? await hashes.digestFiles(modelFiles) : await sha256Files(modelFiles);
  return { path: relative(recipeDir, resolve(modelFiles[0]!)), sha256 };
}

export function resolveInput(recipePath: string, input: RecipeInput): string {
  return isAbsolute(input.path) ? input.path : resolve(dirname(recipePath), input.path);
}

export async function writeRecipe(path: string, recipe: Recipe): Promise<void> {
  const text = `${JSON.stringify(recipe, null, 2)}\n`;
  await writeFilesAtomically([{ path, write: (temp) => writeFile(temp, text) }]);
}

export async function readRecipe(path: string): Promise<Recipe> {
  let parsed: unknown;
  try {
    requireRegularFile(path);
    parsed = parseBoundedJson(path, "a recipe", await readFile(path, "utf8"));
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    throw new ModelFileError(path, `cannot be read as a recipe JSON (${(error as Error).message})`);
  }
  const checked = check(recipeSchema, parsed, "");
  if (!checked.ok) throw new ModelFileError(path, `is not a valid Model Soup recipe: ${checked.problem}`);
  return checked.value;
}
