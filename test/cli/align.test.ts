/**
 * Alignment through the CLI. Models in different "basins" are made from the digits sample's fine-tunes (which
 * share one) by shuffling each one's hidden units at random: a shuffled model computes the same function, but
 * averaging it with the others fails. Alignment must find the units again.
 */
import assert from "node:assert/strict";
import { cp, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { identity, permutationSymmetry, permuteTensors } from "../../src/core/align/index.js";
import { openModel, readManifest, writeModel } from "../../src/core/formats/registry.js";
import { mulberry32, shuffleInPlace } from "../../src/core/random.js";
import { bindWeights, buildModel, loadWeights } from "../../src/worker/runtime/index.js";
import { saveWithTfjs } from "../core/formats/tfjs-helpers.js";
import { runCli } from "./run-cli.js";

const SAMPLE = "samples/digits";
const DATA = join(SAMPLE, "soup.csv.gz");

async function floatTensors(path: string): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const file = await openModel(path);
  try {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const t of file.manifest.tensors)
      out.set(t.name, {
        shape: t.shape,
        data: (await file.readTensor(t.name, { float32: true })).data as Float32Array,
      });
    return out;
  } finally {
    await file.close();
  }
}

/** Writes `source` with every hidden unit shuffled (seeded): the same function, another unit order. */
async function shuffled(source: string, target: string, seed: number): Promise<void> {
  const manifest = await readManifest(source);
  const plan = permutationSymmetry(manifest);
  const random = mulberry32(seed);
  const perms = Object.fromEntries(
    plan.groups.map((g) => {
      const p = identity(g.size);
      shuffleInPlace(p, random);
      return [g.id, p];
    }),
  );
  const moved = permuteTensors(plan, perms, await floatTensors(source));
  await writeModel(source, target, async (info) => moved.get(info.name));
}

async function predictions(path: string, x: tf.Tensor): Promise<Float32Array> {
  const file = await openModel(path);
  const model = await buildModel(file.manifest);
  try {
    await loadWeights(model, bindWeights(file.manifest, model), file);
    return tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
  } finally {
    model.dispose();
    await file.close();
  }
}

function close(a: Float32Array, b: Float32Array, tolerance = 1e-5): boolean {
  return a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) <= tolerance * (1 + Math.abs(v)));
}

describe("model-soup align, merge --align, learn --align on shuffled models", function () {
  let dir: string;
  let originals: string[];
  let models: string[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-align-"));
    originals = [];
    models = [];
    for (const i of [1, 2, 3]) {
      const original = join(dir, `ingredient-${i}`, "model.json");
      await cp(join(SAMPLE, "models", `ingredient-${i}`), join(dir, `ingredient-${i}`), { recursive: true });
      originals.push(original);
      const target = join(dir, `shuffled-${i}`, "model.json");
      // The first stays as it is: it is the reference below.
      if (i === 1) models.push(original);
      else {
        await mkdir(join(dir, `shuffled-${i}`));
        await shuffled(original, target, i);
        models.push(target);
      }
    }
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("align writes models that compute the same function as their originals, with their units found again", async () => {
    const out = join(dir, "aligned");
    const run = await runCli("align", ...models, "--out", out, "--reference", models[0]!, "--json");
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.alignment.method, "weight");
    assert.equal(result.alignment.referenceChosenBy, "user");
    assert.equal(result.alignment.groups, 2);
    assert.equal(result.outputs.length, 3);
    const x = tf.randomUniform([16, 64], 0, 16, "float32", 1);
    for (const [i, output] of result.outputs.entries()) {
      assert.ok(
        close(await predictions(output.model, x), await predictions(models[i]!, x)),
        `aligned model ${i + 1} computes what its original does`,
      );
      // Fine-tunes of one initialisation: weight matching to ingredient 1 puts every unit back where it was.
      const aligned = await floatTensors(output.model);
      for (const [name, t] of await floatTensors(originals[i]!))
        assert.deepEqual(aligned.get(name)!.data, t.data, `${name} of model ${i + 1}`);
      const recipe = JSON.parse(await readFile(output.recipe, "utf8"));
      assert.equal(recipe.alignment.method, "weight");
      assert.equal(recipe.alignment.permutations.length, 1);
    }
    // An aligned model's recipe recreates it from its original alone.
    const again = join(dir, "aligned-again", "model.json");
    const applied = await runCli("apply", result.outputs[2].recipe, "--out", again);
    assert.equal(applied.code, 0, applied.stderr);
    const recreated = await floatTensors(again);
    for (const [name, t] of await floatTensors(result.outputs[2].model))
      assert.deepEqual(recreated.get(name)!.data, t.data, `${name} after apply`);
    x.dispose();
  });

  it("merge --align weight equals the merge of the unshuffled models, and its recipe re-applies exactly", async () => {
    const aligned = join(dir, "merged-aligned", "model.json");
    const run = await runCli("merge", ...models, "--align", "weight", "--reference", models[0]!, "--out", aligned);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Alignment \(weight matching\)/);
    const plain = join(dir, "merged-plain", "model.json");
    assert.equal((await runCli("merge", ...originals, "--out", plain)).code, 0);
    const a = await floatTensors(aligned);
    const b = await floatTensors(plain);
    for (const [name, t] of b) assert.ok(close(a.get(name)!.data, t.data, 1e-6), `tensor ${name}`);
    const again = join(dir, "merged-again", "model.json");
    const applied = await runCli("apply", join(dir, "merged-aligned", "model.recipe.json"), "--out", again);
    assert.equal(applied.code, 0, applied.stderr);
    const c = await floatTensors(again);
    for (const [name, t] of a) assert.deepEqual(c.get(name)!.data, t.data, `tensor ${name} after apply`);
    const refused = await runCli(
      "merge",
      ...models,
      "--align",
      "weight",
      "--method",
      "ties",
      "--out",
      join(dir, "no", "model.json"),
    );
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--align merges with uniform or given weights/);
  });

  it("merge and greedy --align with labelled data try REPAIR, keep it only when it lowers the validation loss, and recipes re-apply it", async () => {
    const out = join(dir, "merged-repair", "model.json");
    const run = await runCli(
      "merge",
      ...models,
      "--align",
      "activation",
      "--data",
      DATA,
      "--out",
      out,
      "--json",
      "--backend",
      "cpu",
    );
    assert.equal(run.code, 0, run.stderr);
    const repair = JSON.parse(run.stdout).alignment.repair;
    assert.ok(repair !== undefined, "REPAIR is reported for a model without BatchNormalization");
    assert.deepEqual(repair.layers.length, 2, "both hidden Dense layers are repaired");
    assert.equal(repair.kept, repair.validation.after.loss < repair.validation.before.loss);
    const recipe = JSON.parse(await readFile(join(dir, "merged-repair", "model.recipe.json"), "utf8"));
    assert.equal(
      recipe.overrides !== undefined,
      repair.kept,
      "the recipe carries the repaired tensors exactly when REPAIR was kept",
    );
    const again = join(dir, "merged-repair-again", "model.json");
    const applied = await runCli("apply", join(dir, "merged-repair", "model.recipe.json"), "--out", again);
    assert.equal(applied.code, 0, applied.stderr);
    const a = await floatTensors(out);
    for (const [name, t] of await floatTensors(again))
      assert.deepEqual(a.get(name)!.data, t.data, `tensor ${name} after apply`);
    const text = await runCli(
      "merge",
      ...models,
      "--align",
      "weight",
      "--data",
      DATA,
      "--out",
      join(dir, "merged-repair-text", "model.json"),
      "--backend",
      "cpu",
    );
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /REPAIR of 2 layer\(s\): validation loss [\d.]+ → [\d.]+ \((kept|not kept)/);

    const greedy = await runCli(
      "greedy",
      ...models,
      "--data",
      DATA,
      "--align",
      "weight",
      "--out",
      join(dir, "greedy-aligned", "model.json"),
      "--json",
      "--backend",
      "cpu",
    );
    assert.equal(greedy.code, 0, greedy.stderr);
    const report = JSON.parse(greedy.stdout);
    assert.ok(report.alignment.repair !== undefined, "greedy --align reports REPAIR");
    assert.equal(
      report.alignment.repair.kept,
      report.alignment.repair.validation.after.loss < report.alignment.repair.validation.before.loss,
    );
    const greedyRecipe = JSON.parse(await readFile(join(dir, "greedy-aligned", "model.recipe.json"), "utf8"));
    assert.equal(greedyRecipe.overrides !== undefined, report.alignment.repair.kept);
  });

  it("evaluate --align adds the aligned uniform and aligned learned soups beside the models as given", async () => {
    const run = await runCli(
      "evaluate",
      ...models,
      "--data",
      DATA,
      "--align",
      "activation",
      "--json",
      "--backend",
      "cpu",
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.alignment.method, "activation");
    const best = Math.max(...report.metrics.ingredients.map((m: { metric: number }) => m.metric));
    assert.ok(
      report.metrics.alignedUniform.metric > report.metrics.uniform.metric,
      "alignment helps the uniform soup of shuffled models",
    );
    const learned = report.metrics.methods.find((m: { method: string }) => m.method === "aligned learned soup");
    assert.ok(learned !== undefined, "the aligned learned soup is a row");
    assert.ok(learned.metric >= best - 0.02, `aligned learned soup ${learned.metric} vs best ingredient ${best}`);
    const text = await runCli("evaluate", ...models, "--data", DATA, "--align", "weight", "--backend", "cpu");
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /aligned uniform soup/);
    assert.match(text.stdout, /aligned learned soup/);
    assert.match(text.stdout, /Alignment \(weight matching\)/);
    const refused = await runCli("evaluate", ...models, "--data", DATA, "--align", "weight", "--methods", "greedy");
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--align and --methods cannot be combined/);
  });

  it("learn --align activation reports the aligned uniform and learned soups, and barriers before and after", async () => {
    const out = join(dir, "learned-aligned", "model.json");
    const run = await runCli(
      "learn",
      ...models,
      "--data",
      DATA,
      "--align",
      "activation",
      "--out",
      out,
      "--json",
      "--backend",
      "cpu",
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.alignment.method, "activation");
    assert.equal(report.alignment.referenceChosenBy, "validation");
    assert.equal(report.alignment.pairs.length, 3);
    const shuffledPairs = report.alignment.pairs.filter(
      (p: { a: string; b: string }) => p.a !== report.alignment.reference && p.b !== report.alignment.reference,
    );
    assert.ok(shuffledPairs.length >= 1);
    for (const p of report.alignment.pairs) {
      assert.ok(p.barrierAfter <= p.barrierBefore + 1e-6, `barrier ${p.barrierBefore} → ${p.barrierAfter}`);
      assert.ok(p.cosineAfter >= p.cosineBefore - 1e-6, `cosine ${p.cosineBefore} → ${p.cosineAfter}`);
    }
    const best = Math.max(...report.metrics.ingredients.map((m: { metric: number }) => m.metric));
    assert.ok(
      report.metrics.alignedUniform.metric > report.metrics.uniform.metric,
      "alignment helps the uniform soup of shuffled models",
    );
    assert.ok(
      report.metrics.merged.metric >= best - 0.02,
      `aligned learned soup ${report.metrics.merged.metric} vs best ingredient ${best}`,
    );
    const recipe = JSON.parse(await readFile(join(dir, "learned-aligned", "model.recipe.json"), "utf8"));
    assert.equal(recipe.alignment.permutations.length, 3);
    const again = join(dir, "learned-again", "model.json");
    assert.equal((await runCli("apply", join(dir, "learned-aligned", "model.recipe.json"), "--out", again)).code, 0);
    const a = await floatTensors(out);
    const c = await floatTensors(again);
    for (const [name, t] of a) assert.deepEqual(c.get(name)!.data, t.data, `tensor ${name} after apply`);
    const text = await runCli("learn", ...models, "--data", DATA, "--align", "weight", "--backend", "cpu");
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /aligned uniform soup/);
    assert.match(text.stdout, /aligned learned soup/);
    const refused = await runCli("learn", ...models, "--data", DATA, "--align", "weight", "--base", models[0]!);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--align does not apply with --base/);
  });
});

describe("model-soup align on a model with a layer whose symmetry is not handled", function () {
  let dir: string;
  let models: string[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-align-fixed-"));
    models = [];
    for (const seed of [1, 2]) {
      const init = tf.initializers.glorotUniform({ seed });
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ name: "first", inputShape: [4], units: 6, kernelInitializer: init }),
          tf.layers.reshape({ name: "fold", targetShape: [3, 2] }),
          tf.layers.flatten({ name: "unfold" }),
          tf.layers.dense({ name: "hidden", units: 5, activation: "relu", kernelInitializer: init }),
          tf.layers.dense({ name: "out", units: 2, kernelInitializer: init }),
        ],
      });
      await mkdir(join(dir, `m${seed}`));
      models.push(await saveWithTfjs(model, join(dir, `m${seed}`)));
      model.dispose();
    }
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("keeps the neighbours' units in place, names the layer in the report, and still aligns the rest", async () => {
    const run = await runCli("align", ...models, "--out", join(dir, "aligned"), "--json");
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.deepEqual(
      result.alignment.fixedLayers.map((f: { layer: string; className: string }) => [f.layer, f.className]),
      [["fold", "Reshape"]],
    );
    assert.equal(result.alignment.groups, 1, "only the hidden Dense's units can move");
    const x = tf.randomNormal([5, 4], 0, 1, "float32", 3);
    for (const [i, output] of result.outputs.entries()) {
      assert.ok(
        close(await predictions(output.model, x), await predictions(models[i]!, x)),
        `aligned model ${i + 1} computes what its original does`,
      );
      const first = (await floatTensors(output.model)).get("first/kernel")!.data;
      assert.deepEqual(
        first,
        (await floatTensors(models[i]!)).get("first/kernel")!.data,
        "the Dense before the Reshape keeps its units",
      );
    }
    x.dispose();
    const text = await runCli("align", ...models, "--out", join(dir, "aligned-text"));
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /layer "fold" \(Reshape\) not handled, its neighbours keep their order/);
  });
});
