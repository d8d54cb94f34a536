import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RECIPE_TOOL, readRecipe, writeRecipe, type Recipe } from "../../../src/core/recipe/recipe.js";
import { rejectsWith } from "../../support/model-files.js";

const recipe: Recipe = {
  kind: "model-soup-recipe",
  version: 1,
  tool: { ...RECIPE_TOOL },
  created: "2026-01-01T00:00:00.000Z",
  origin: "manual",
  merge: {
    method: "linear",
    params: { normalize: true },
    ingredients: [
      { path: "a.keras", weight: 0.25 },
      { path: "b.keras", weight: 0.75 },
    ],
  },
  inputs: [
    { path: "a.keras", sha256: "aa" },
    { path: "b.keras", sha256: "bb" },
  ],
  output: { path: "soup.keras", format: "keras" },
};

describe("core/recipe readRecipe", () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), "recipe-"))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("records the tool version package.json states", async () => {
    const manifest = JSON.parse(await readFile("package.json", "utf8")) as { name: string; version: string };
    assert.deepEqual(RECIPE_TOOL, { name: manifest.name, version: manifest.version });
  });

  it("reads back what writeRecipe wrote", async () => {
    const path = join(dir, "soup.recipe.json");
    await writeRecipe(path, recipe);
    assert.deepEqual(await readRecipe(path), recipe);
  });

  it("refuses a malformed recipe in one line naming the file and the part that is wrong", async () => {
    const cases: [unknown, RegExp][] = [
      [[1, 2], /kind is missing/],
      [{ ...recipe, kind: "other" }, /kind must be "model-soup-recipe"/],
      [{ ...recipe, version: 2 }, /version 2 is not supported \(expected 1\)/],
      [{ ...recipe, inputs: [recipe.inputs[0]] }, /one input \(path and sha256\) per ingredient/],
      [{ ...recipe, inputs: [{ path: "a.keras" }, recipe.inputs[1]] }, /inputs\[0\]\.sha256 is missing/],
      [{ ...recipe, merge: { ...recipe.merge, method: "magic" } }, /merge\.method must be one of linear, uniform/],
      [
        { ...recipe, merge: { ...recipe.merge, ingredients: [{ path: "a.keras", weight: "1" }, { path: "b.keras" }] } },
        /merge\.ingredients\[0\]\.weight must be/,
      ],
      [{ ...recipe, overrides: { "dense/kernel": [1, "x"] } }, /overrides\.dense\/kernel\[1\] must be a number/],
      [{ ...recipe, output: { path: "soup.keras", format: "onnx" } }, /output\.format must be one of/],
      [
        { ...recipe, alignment: { method: "weight", reference: "a.keras", permutations: [{}] } },
        /one set of permutations per ingredient/,
      ],
    ];
    const path = join(dir, "bad.recipe.json");
    for (const [value, pattern] of cases) {
      await writeFile(path, JSON.stringify(value));
      await rejectsWith(
        readRecipe(path),
        path,
        new RegExp(
          `^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: is not a valid Model Soup recipe: [^\\n]*${pattern.source}`,
        ),
      );
    }
  });
});
