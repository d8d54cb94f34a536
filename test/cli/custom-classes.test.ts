/**
 * A TF.js model whose topology names a custom layer class cannot be rebuilt without code from outside the file:
 * it is inspected and merged by its weights (a fixed-coefficient merge runs nothing), and the commands that must
 * run the model refuse it in one line.
 */
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readManifest, openModel } from "../../src/core/formats/registry.js";
import { runCli } from "./run-cli.js";

const DIGITS = "samples/digits/models";

describe("model-soup on TF.js models with a custom layer class", function () {
  let dir: string;
  const models: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-custom-"));
    for (const i of [1, 2]) {
      const folder = join(dir, `custom-${i}`);
      await cp(join(DIGITS, `ingredient-${i}`), folder, { recursive: true });
      const path = join(folder, "model.json");
      const json = JSON.parse(await readFile(path, "utf8"));
      json.modelTopology.config.layers[1].class_name = "MyCustomDense";
      await writeFile(path, JSON.stringify(json));
      models.push(path);
    }
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads the model by its weights, with a warning that says why it cannot run", async () => {
    const manifest = await readManifest(models[0]!);
    assert.equal(manifest.architecture, undefined);
    assert.deepEqual(
      manifest.tensors.map((t) => `${t.layer}:${t.name}`),
      [
        "hidden1:hidden1/kernel",
        "hidden1:hidden1/bias",
        "hidden2:hidden2/kernel",
        "hidden2:hidden2/bias",
        "output:output/kernel",
        "output:output/bias",
      ],
    );
    assert.ok(
      manifest.warnings.some((w) => /MyCustomDense/.test(w) && /by its weights only/.test(w)),
      manifest.warnings.join("\n"),
    );
  });

  it("merges two such models by their weights: every tensor is the average of the inputs'", async () => {
    const out = join(dir, "merged");
    const run = await runCli("merge", ...models, "--out", out);
    assert.equal(run.code, 0, run.stderr);
    const merged = await openModel(join(out, "model.json"));
    const inputs = await Promise.all(models.map((m) => openModel(m)));
    try {
      for (const t of merged.manifest.tensors) {
        const got = await merged.readTensor(t.name);
        const [a, b] = await Promise.all(inputs.map((m) => m.readTensor(t.name)));
        assert.equal(got.data.length, a!.data.length, t.name);
        for (let k = 0; k < got.data.length; k++)
          assert.ok(Math.abs(Number(got.data[k]) - (Number(a!.data[k]) + Number(b!.data[k])) / 2) < 1e-6, t.name);
      }
    } finally {
      await Promise.all([merged, ...inputs].map((m) => m.close()));
    }
  });

  it("refuses to learn with it: an error line that names the file, no stack trace", async () => {
    const run = await runCli("learn", ...models, "--data", "samples/digits/soup.csv.gz", "--label", "64");
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    assert.match(run.stderr, /^model-soup learn: .*custom-1\/model\.json: .*cannot be run to learn/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });
});
