import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFile, cp, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ModelFileError, UsageError } from "../../../src/core/errors.js";
import { describeExpansions, resolveModelArguments, resolveModelPath } from "../../../src/core/io/model-inputs.js";

const DIGITS = "samples/digits/models";
const KERAS = "test/fixtures/keras3";
const SHARDED = "test/fixtures/real-models/safetensors-jl-fixtures/sharded";

describe("core/io/model-inputs: model arguments as users give them", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-inputs-"));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("a model folder of each kind stands for its one model", async () => {
    assert.equal(await resolveModelPath(join(DIGITS, "ingredient-1")), resolve(DIGITS, "ingredient-1", "model.json"));
    assert.equal(
      await resolveModelPath(SHARDED),
      resolve(SHARDED, "model.safetensors.index.json"),
      "the index stands for its shards",
    );
    for (const file of ["mlp_a.keras", "mlp_a_legacy.h5"]) {
      const folder = join(dir, `one-${file}`);
      await mkdir(folder);
      await copyFile(join(KERAS, file), join(folder, file));
      await writeFile(join(folder, "README.md"), "notes beside the model are not models");
      assert.equal(await resolveModelPath(folder), resolve(folder, file));
    }
    const single = join(dir, "one-safetensors");
    await mkdir(single);
    await copyFile(
      "test/fixtures/real-models/safetensors-jl-fixtures/non_sharded/model.safetensors",
      join(single, "model.safetensors"),
    );
    assert.equal(await resolveModelPath(single), resolve(single, "model.safetensors"));
    // A file stays as given.
    assert.equal(await resolveModelPath(join(KERAS, "mlp_a.keras")), join(KERAS, "mlp_a.keras"));
  });

  it("a folder of model folders expands to its models, and says which", async () => {
    const folders = (await readdir(DIGITS)).filter((d) => d.startsWith("ingredient-")).sort();
    assert.ok(folders.length >= 2);
    const resolved = await resolveModelArguments([DIGITS], { oneArchitecture: true });
    assert.deepEqual(
      resolved.models,
      folders.map((d) => resolve(DIGITS, d, "model.json")),
      "training.json beside them is not a model",
    );
    const lines = describeExpansions(resolved.expansions);
    assert.equal(lines.length, 1);
    assert.equal(
      lines[0],
      `Using ${folders.length} models from samples/digits/models: ${folders.map((d) => `${d}/model.json`).join(", ")}`,
    );
    // Model folders given one by one are not expansions.
    const named = await resolveModelArguments([join(DIGITS, "ingredient-1"), join(DIGITS, "ingredient-2")]);
    assert.equal(named.models.length, 2);
    assert.deepEqual(named.expansions, []);
  });

  it("keeps the one architecture of a mixed folder (saying what it left out), and refuses two groups", async () => {
    const mixed = join(dir, "mixed");
    await cp(join(DIGITS, "ingredient-1"), join(mixed, "a"), { recursive: true });
    await cp(join(DIGITS, "ingredient-2"), join(mixed, "b"), { recursive: true });
    await mkdir(join(mixed, "other"));
    await copyFile(join(KERAS, "mlp_a.keras"), join(mixed, "other", "mlp_a.keras"));
    const one = await resolveModelArguments([mixed], { oneArchitecture: true });
    assert.deepEqual(one.models, [resolve(mixed, "a", "model.json"), resolve(mixed, "b", "model.json")]);
    assert.match(describeExpansions(one.expansions).join("\n"), /Left out other\/mlp_a\.keras .*another architecture/);
    // inspect keeps everything.
    assert.equal((await resolveModelArguments([mixed])).models.length, 3);
    await copyFile(join(KERAS, "mlp_b.keras"), join(mixed, "other", "mlp_b.keras"));
    await assert.rejects(
      resolveModelArguments([mixed], { oneArchitecture: true }),
      (e: unknown) => e instanceof UsageError && /2 architectures \(group 1: .*; group 2: /.test(e.message),
    );
  });

  it("refuses folders without a model, several models where one is meant, and non-regular files", async () => {
    const empty = join(dir, "empty");
    await mkdir(empty);
    await writeFile(join(empty, "notes.txt"), "no model here");
    await assert.rejects(
      resolveModelArguments([empty]),
      (e: unknown) => e instanceof ModelFileError && e.file === empty && /holds no model/.test(e.message),
    );
    await assert.rejects(
      resolveModelPath(join(dir, "mixed", "other")),
      (e: unknown) => e instanceof ModelFileError && /holding 2 models/.test(e.message),
    );
    await assert.rejects(
      resolveModelArguments([""]),
      (e: unknown) => e instanceof UsageError && /empty path/.test(e.message),
    );
    const fifo = join(dir, "pipe.keras");
    execFileSync("mkfifo", [fifo]);
    await assert.rejects(
      resolveModelArguments([fifo]),
      (e: unknown) => e instanceof ModelFileError && /not a regular file/.test(e.message),
    );
    const tolerant = await resolveModelArguments([fifo, join(dir, "missing.h5"), join(KERAS, "mlp_a.keras")], {
      tolerant: true,
    });
    assert.deepEqual(tolerant.models, [join(KERAS, "mlp_a.keras")]);
    assert.deepEqual(
      tolerant.unreadable.map((u) => u.path),
      [fifo, join(dir, "missing.h5")],
    );
  });
});
