/**
 * Concurrent writers to one output, as real CLI processes: rounds of two `merge` runs with different weights into
 * the same output (a TF.js folder, a sharded safetensors model, a .keras file) each leave one complete model whose
 * recipe describes it (its coefficients give the tensors written, `apply --check` matches) or a one-line refusal
 * naming the lock's holder, never a mix. Then the lock itself: a live holder refuses after the bounded wait, the
 * lock of a dead process (or of a reused pid) is taken over, and no lock file is left behind.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkRecipeOutput } from "../../src/core/recipe/check.js";
import { readRecipe } from "../../src/core/recipe/recipe.js";
import { LOCK_NAME } from "../../src/core/io/output-lock.js";
import { runCli, runCliWithEnv } from "./run-cli.js";
import { seededValues, writeSafetensors } from "../support/safetensors-writer.js";
import { float32Tensors } from "../support/model-files.js";

// 10 rounds per format keep the file near a minute on a shared 2-core machine; SOUP_RACE_ROUNDS=20 runs more.
const ROUNDS = Number(process.env.SOUP_RACE_ROUNDS ?? 10);

/** Two sharded safetensors models (two shards each, an index) with different values. */
async function shardedModels(dir: string): Promise<string[]> {
  const paths: string[] = [];
  for (const seed of [1, 2]) {
    const folder = join(dir, `sharded-${seed}`);
    await mkdir(folder, { recursive: true });
    const a = { "a.weight": { shape: [16, 8], data: seededValues(seed * 10 + 1, 128) } };
    const b = { "b.weight": { shape: [8, 4], data: seededValues(seed * 10 + 2, 32) } };
    await writeSafetensors(join(folder, "model-00001-of-00002.safetensors"), a);
    await writeSafetensors(join(folder, "model-00002-of-00002.safetensors"), b);
    const index = {
      metadata: { total_size: (128 + 32) * 4 },
      weight_map: { "a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors" },
    };
    const path = join(folder, "model.safetensors.index.json");
    await writeFile(path, JSON.stringify(index));
    paths.push(path);
  }
  return paths;
}

/** The model the recipe beside `model` describes: files match its hashes and tensors are its weighted average. */
async function assertSelfConsistent(model: string, recipePath: string, ingredients: Map<string, Float32Array>[]) {
  const check = await checkRecipeOutput(recipePath);
  assert.equal(check.verdict, "match", check.line);
  const recipe = await readRecipe(recipePath);
  const weights = recipe.merge.ingredients.map((g) => g.weight as number);
  const sum = weights.reduce((a, b) => a + b, 0);
  const written = await float32Tensors(model);
  for (const [name, values] of written) {
    const expected = ingredients.map((m) => m.get(name)!);
    for (let i = 0; i < values.length; i += Math.max(1, Math.floor(values.length / 16))) {
      const want = expected.reduce((acc, t, k) => acc + (weights[k]! / sum) * t[i]!, 0);
      assert.ok(Math.abs(values[i]! - want) < 1e-3, `${name}[${i}] is ${values[i]}, the recipe's weights give ${want}`);
    }
  }
  return weights;
}

describe("concurrent writers to one output: one complete result or a refusal, never a mix", function () {
  this.timeout(180_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-race-"));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const cases = [
    {
      name: "a TF.js folder (model.json + shard)",
      models: async () => [
        "samples/digits/models/ingredient-1/model.json",
        "samples/digits/models/ingredient-2/model.json",
      ],
      out: (d: string) => join(d, "tfjs-out", "model.json"),
    },
    {
      name: "sharded safetensors (two shards + index)",
      models: async () => shardedModels(dir),
      out: (d: string) => join(d, "st-out", "model.safetensors.index.json"),
    },
    {
      name: "a .keras file",
      models: async () => ["test/fixtures/keras3/mlp_a.keras", "test/fixtures/keras3/mlp_b.keras"],
      out: (d: string) => join(d, "keras-out", "model.keras"),
      // Each .keras run starts h5wasm and takes two to three times as long: fewer rounds keep the file near 2 minutes.
      rounds: Math.ceil(ROUNDS * 0.6),
    },
  ];

  for (const c of cases) {
    const rounds = ("rounds" in c ? c.rounds : undefined) ?? ROUNDS;
    it(`${rounds} rounds of two merges into ${c.name}`, async () => {
      const models = await c.models();
      const ingredients = await Promise.all(models.map(float32Tensors));
      const out = c.out(dir);
      const recipePath = out.replace(/(\.safetensors\.index\.json|\.json|\.keras)$/, ".recipe.json");
      let refusals = 0;
      let bothWrote = 0;
      for (let round = 0; round < rounds; round++) {
        // Half the rounds refuse at once when the other holds the lock; the rest wait for it (serialised).
        // The first writer pauses between the renames of its output (io/atomic.ts), the second does not: without
        // the lock, the second's files would land between the first's and leave a mix.
        const env = (i: number) => ({
          MODEL_SOUP_LOCK_WAIT_MS: round % 2 === 0 ? "0" : "20000",
          MODEL_SOUP_COMMIT_PAUSE_MS: i === 0 ? "300" : "0",
        });
        const weights = [`0.${1 + (round % 4)},0.9`, `0.9,0.${1 + (round % 4)}`];
        const runs = await Promise.all(
          weights.map((w, i) => runCliWithEnv(env(i), "merge", ...models, "--weights", w, "--out", out)),
        );
        for (const run of runs) {
          if (run.code === 0) continue;
          assert.equal(run.code, 2, run.stderr);
          assert.match(
            run.stderr,
            /^model-soup merge: .*: refused: process \d+ \(started [^)]+\) is writing a model into this folder \(lock .*\); wait for it to finish or choose another output\n$/,
          );
          refusals++;
        }
        assert.ok(
          runs.some((r) => r.code === 0),
          "at least one writer wrote",
        );
        if (runs.every((r) => r.code === 0)) bothWrote++;
        const written = await assertSelfConsistent(out, recipePath, ingredients);
        const winners = runs.flatMap((r, i) => (r.code === 0 ? [weights[i]!] : []));
        assert.ok(
          winners.some((w) =>
            w
              .split(",")
              .map(Number)
              .every((x, k) => Math.abs(x - written[k]!) < 1e-9),
          ),
          `the recipe's weights ${written.join(",")} are those of a writer that succeeded (${winners.join(" / ")})`,
        );
        const names = await readdir(join(out, ".."));
        assert.ok(!names.includes(LOCK_NAME), "no lock is left");
        assert.deepEqual(
          names.filter((n) => n.startsWith(".model-soup-tmp-")),
          [],
          "no temporary is left",
        );
      }
      // Both outcomes happened: some rounds were serialised, some refused (wait 0 with the writers overlapping).
      assert.ok(bothWrote > 0, "some rounds serialise both writers");
      console.log(`      ${c.name}: ${refusals} refusal(s), ${bothWrote} round(s) with both written`);
      const cli = await runCli("apply", "--check", recipePath);
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stdout, /^match: .* is the model .* describes \(\d+ file\(s\), SHA-256\)\n$/);
    });
  }

  it("apply --check and inspect say mismatch when a shard is not the one the recipe recorded", async () => {
    const out = join(dir, "check", "model.json");
    const models = ["samples/digits/models/ingredient-1/model.json", "samples/digits/models/ingredient-2/model.json"];
    const first = await runCli("merge", ...models, "--weights", "0.3,0.7", "--out", out);
    assert.equal(first.code, 0, first.stderr);
    const shard = join(dir, "check", "group1-shard1of1.bin");
    const keep = await readFile(shard);
    // Another merge's shard (same size, other values) where this recipe's model had its own: the mix of the issue.
    await cp(join(dir, "check"), join(dir, "check-copy"), { recursive: true });
    const other = await runCli(
      "merge",
      ...models,
      "--weights",
      "0.7,0.3",
      "--out",
      join(dir, "check-copy", "model.json"),
    );
    assert.equal(other.code, 0, other.stderr);
    await cp(join(dir, "check-copy", "group1-shard1of1.bin"), shard);
    const recipe = join(dir, "check", "model.recipe.json");
    const check = await runCli("apply", "--check", recipe);
    assert.equal(check.code, 1, check.stderr);
    assert.match(
      check.stdout,
      /^mismatch: .*model\.json is not the model .*model\.recipe\.json describes: group1-shard1of1\.bin has SHA-256 [0-9a-f]{64}, the recipe recorded [0-9a-f]{64}\n$/,
    );
    const inspect = await runCli("inspect", out);
    assert.match(inspect.stdout, /\n {2}recipe: mismatch: .*group1-shard1of1\.bin has SHA-256/);
    await writeFile(shard, keep);
    const again = await runCli("inspect", out);
    assert.match(again.stdout, /\n {2}recipe: match: /);
  });

  describe("the output lock", () => {
    const models = ["samples/digits/models/ingredient-1/model.json", "samples/digits/models/ingredient-2/model.json"];
    const startedNow = new Date(Date.now() - process.uptime() * 1000).toISOString();

    it("a live holder: the second writer waits the bounded time, then refuses in one line naming its pid; nothing written", async () => {
      const folder = join(dir, "held");
      await mkdir(folder, { recursive: true });
      const lock = join(folder, LOCK_NAME);
      await writeFile(lock, JSON.stringify({ pid: process.pid, started: startedNow, nonce: "test" }));
      const began = Date.now();
      const run = await runCliWithEnv(
        { MODEL_SOUP_LOCK_WAIT_MS: "600" },
        "merge",
        ...models,
        "--out",
        join(folder, "model.json"),
      );
      assert.equal(run.code, 2);
      assert.ok(Date.now() - began >= 600, "it waited");
      assert.equal(run.stderr.split("\n").length, 2, run.stderr);
      assert.match(run.stderr, new RegExp(`refused: process ${process.pid} \\(started `));
      assert.deepEqual(await readdir(folder), [LOCK_NAME], "nothing written, the holder's lock untouched");
      assert.equal(JSON.parse(await readFile(lock, "utf8")).nonce, "test");
    });

    it("the lock of a dead process, or of a pid now used by another process, is taken over", async () => {
      const dead = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, ["-e", "0"]);
        child.on("exit", () => resolve(child.pid!));
      });
      for (const [name, holder] of [
        ["dead", { pid: dead, started: startedNow, nonce: "dead" }],
        ["reused", { pid: process.pid, started: new Date(Date.now() - 3_600_000).toISOString(), nonce: "old" }],
        ["torn", '{"pid": 12'],
      ] as const) {
        const folder = join(dir, `stale-${name}`);
        await mkdir(folder, { recursive: true });
        await writeFile(join(folder, LOCK_NAME), typeof holder === "string" ? holder : JSON.stringify(holder));
        // A torn lock (its writer killed while writing it) is stale once it is a few seconds old.
        const old = new Date(Date.now() - 10_000);
        await utimes(join(folder, LOCK_NAME), old, old);
        const run = await runCliWithEnv(
          { MODEL_SOUP_LOCK_WAIT_MS: "0" },
          "merge",
          ...models,
          "--out",
          join(folder, "model.json"),
        );
        assert.equal(run.code, 0, `${name}: ${run.stderr}`);
        assert.deepEqual(
          (await readdir(folder)).sort(),
          ["group1-shard1of1.bin", "model.json", "model.recipe.json"],
          name,
        );
      }
    });
  });
});
