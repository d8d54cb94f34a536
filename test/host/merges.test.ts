import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { analyzeModels } from "../../src/core/architecture/index.js";
import { specFromCoefficients } from "../../src/core/merge/coefficients.js";
import { saveSoup } from "../../src/core/soup/save.js";
import { findMerges } from "../../src/host/merges.js";
import { buildTree, mergesNodeOf } from "../../src/host/tree-nodes.js";

const real = join(import.meta.dirname, "..", "fixtures", "real-models", "tensorspace-converter", "tfjs_lenet");

describe("host/merges (a saved merge is listed as a merge, never as an ingredient)", () => {
  let dir: string;
  let models: string[];
  let merged: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "model-soup-merges-"));
    models = ["a_examples_rawModel", "b_test_model"].map((d) => {
      cpSync(join(real, d), join(dir, "lenets", d), { recursive: true });
      return join(dir, "lenets", d, "mnist.json");
    });
    // Saved inside the ingredients' folder on purpose: the worst case for a folder scan.
    const saved = await saveSoup({
      spec: specFromCoefficients({
        method: "linear",
        paths: models,
        coefficients: [0.5, 0.5],
        params: { normalize: false },
      }),
      target: join(dir, "lenets", "merged", "model.json"),
      origin: "manual",
    });
    merged = saved.model;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("recognises the merge by its recipe, with its ingredients", async () => {
    const merges = await findMerges([...models, merged]);
    assert.deepEqual([...merges.keys()], [merged]);
    assert.deepEqual(merges.get(merged)!.ingredients, models);
    assert.equal(merges.get(merged)!.origin, "manual");
  });

  it("ignores JSON files that are not Model Soup recipes", async () => {
    writeFileSync(
      join(dir, "lenets", "a_examples_rawModel", "notes.recipe.json"),
      JSON.stringify({ kind: "something else" }),
    );
    assert.equal((await findMerges(models)).size, 0);
  });

  it("lists the merge under its group's Merges, expanding to its ingredients; the group's ingredients stay two", async () => {
    const paths = [...models, merged];
    const tree = buildTree(await analyzeModels(paths), [dir], await findMerges(paths));
    assert.equal(tree.length, 1);
    const group = tree[0]!;
    assert.deepEqual(
      group.children.map((c) => c.path),
      models,
      "only the two ingredients are ingredients",
    );
    assert.equal(group.label, "Conv2D 6-16 → Dense 120-84-10");
    assert.equal(group.description, "2 × TF.js", "the merge is not counted among the models");
    assert.match(group.tooltip, /parameters each · 1 merge\n/);
    const node = mergesNodeOf(group)!;
    assert.equal(node.children[0]!.path, merged);
    assert.equal(node.children[0]!.label, "model.json", "the shortest path suffix that is unique");
    assert.deepEqual(
      node.children[0]!.merge!.ingredients.map((i) => i.label),
      ["a_examples_rawModel/mnist.json", "b_test_model/mnist.json"],
    );
  });
});
