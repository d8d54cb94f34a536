/**
 * A reader racing a writer: while real `model-soup merge` processes keep replacing one sharded safetensors output
 * (two shards + index + recipe, renamed one by one with a pause between the renames to widen the moment the
 * folder holds half of each), a reader in this process reads the model again and again. Read through
 * io/consistent-read.ts (as `inspect`, the tree scan and `apply --check` read), every read is one complete model,
 * the old or the new, and the recipe check always matches; read directly, the same race gives mixed models, so
 * the race is real and the test can fail.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openModel } from "../../src/core/formats/registry.js";
import { COMMIT_MARKER } from "../../src/core/io/commit-marker.js";
import { readConsistently } from "../../src/core/io/consistent-read.js";
import { checkRecipeOutput } from "../../src/core/recipe/check.js";
import { runCli, runCliWithEnv } from "./run-cli.js";
import { seededValues, writeSafetensors } from "../support/safetensors-writer.js";
import { existsSync } from "node:fs";

const ROUNDS = Number(process.env.SOUP_READER_RACE_ROUNDS ?? 8);

async function shardedModel(folder: string, seed: number): Promise<string> {
  await mkdir(folder, { recursive: true });
  await writeSafetensors(join(folder, "model-00001-of-00002.safetensors"), {
    "a.weight": { shape: [64, 32], data: seededValues(seed * 10 + 1, 64 * 32) },
  });
  await writeSafetensors(join(folder, "model-00002-of-00002.safetensors"), {
    "b.weight": { shape: [32, 16], data: seededValues(seed * 10 + 2, 32 * 16) },
  });
  const path = join(folder, "model.safetensors.index.json");
  await writeFile(
    path,
    JSON.stringify({
      metadata: { total_size: (64 * 32 + 32 * 16) * 4 },
      weight_map: { "a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors" },
    }),
  );
  return path;
}

/** The first value of each tensor: which ingredient's model (weights 1,0 or 0,1) each came from. */
async function firstValues(path: string): Promise<string> {
  const model = await openModel(path);
  try {
    const parts: string[] = [];
    for (const name of ["a.weight", "b.weight"]) parts.push(String((await model.readTensor(name)).data[0]));
    return parts.join(",");
  } finally {
    await model.close();
  }
}

describe("a reader racing a writer never sees a half-replaced model", function () {
  this.timeout(240_000);
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), "soup-reader-race-"))));
  after(() => rm(dir, { recursive: true, force: true }));

  it(`${ROUNDS} merges replacing a sharded output while it is read: every read is the old or the new model`, async () => {
    const a = await shardedModel(join(dir, "a"), 1);
    const b = await shardedModel(join(dir, "b"), 2);
    const out = join(dir, "out", "model.safetensors.index.json");
    const recipe = join(dir, "out", "model.recipe.json");
    const first = await runCli("merge", a, b, "--weights", "1,0", "--out", out);
    assert.equal(first.code, 0, first.stderr);
    const complete = new Set([await firstValues(a), await firstValues(b)]);
    assert.equal(complete.size, 2);
    assert.ok(complete.has(await firstValues(out)));

    let writing = true;
    const writer = (async () => {
      try {
        for (let round = 0; round < ROUNDS; round++) {
          const run = await runCliWithEnv(
            { MODEL_SOUP_COMMIT_PAUSE_MS: "150" },
            "merge",
            a,
            b,
            "--weights",
            round % 2 === 0 ? "0,1" : "1,0",
            "--out",
            out,
          );
          assert.equal(run.code, 0, run.stderr);
        }
      } finally {
        writing = false;
      }
    })();

    const seen = {
      consistent: 0,
      mixedConsistent: 0,
      direct: 0,
      mixedDirect: 0,
      checks: 0,
      mismatches: [] as string[],
    };
    // Two readers at once: one through readConsistently (and the recipe check), one reading the files directly.
    const consistentReader = async () => {
      while (writing) {
        const consistent = await readConsistently(out, () => firstValues(out));
        seen.consistent++;
        if (!complete.has(consistent)) seen.mixedConsistent++;
        const check = await checkRecipeOutput(recipe);
        seen.checks++;
        if (check.verdict !== "match") seen.mismatches.push(check.line);
      }
    };
    const directReader = async () => {
      while (writing) {
        const direct = await firstValues(out).catch(() => "unreadable");
        seen.direct++;
        if (!complete.has(direct)) seen.mixedDirect++;
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await Promise.all([consistentReader(), directReader()]);
    await writer;
    assert.equal(seen.mixedConsistent, 0, `${seen.mixedConsistent} of ${seen.consistent} consistent reads were mixed`);
    assert.deepEqual(seen.mismatches, [], `recipe checks that did not match (of ${seen.checks})`);
    assert.ok(seen.consistent >= ROUNDS, `only ${seen.consistent} reads raced ${ROUNDS} writes`);
    assert.ok(seen.mixedDirect > 0, `the race never showed: 0 of ${seen.direct} direct reads were mixed`);
    assert.ok(!existsSync(join(dir, "out", COMMIT_MARKER)), "the commit mark was left behind");
    console.log(
      `      reads: ${seen.consistent} consistent (0 mixed), ${seen.direct} direct (${seen.mixedDirect} mixed), ${seen.checks} recipe checks`,
    );
  });
});
