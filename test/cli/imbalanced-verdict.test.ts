// `model-soup evaluate` and `greedy` on an imbalanced binary family this test makes (seeded, small): three MLPs
// trained from scratch with different seeds on overlapping rows of one table where 15 % of the rows are positive,
// in the two forms real binary classifiers take (a 2-way softmax, one sigmoid unit). The report must show the
// metrics that fit the task (balanced accuracy, AUC), say that one class holds most rows, and rank the merges
// by the loss: the headline's winner, if any, is the single-size merge with the lowest loss, below every
// ingredient's.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { mulberry32 } from "../../src/core/random.js";
import type { EvaluateReport } from "../../src/protocol/worker.js";
import { save } from "../../scripts/digits-family.js";
import { runCli } from "./run-cli.js";

const FEATURES = 6;
const POSITIVE_SHARE = 0.15;

interface Rows {
  x: Float32Array;
  y: Int32Array;
}

/** Negatives around the origin, positives shifted along a fixed direction: separable only in part. */
function table(n: number, seed: number): Rows {
  const random = mulberry32(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const x = new Float32Array(n * FEATURES);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = random() < POSITIVE_SHARE ? 1 : 0;
    for (let f = 0; f < FEATURES; f++) x[i * FEATURES + f] = gaussian() + (y[i] === 1 && f < 3 ? 1.3 : 0);
  }
  return { x, y };
}

function network(seed: number, output: "softmax" | "sigmoid"): tf.Sequential {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed * 10 + k });
  const model = tf.sequential({ name: "tabular_mlp" });
  model.add(
    tf.layers.dense({
      name: "hidden",
      inputShape: [FEATURES],
      units: 12,
      activation: "relu",
      kernelInitializer: init(1),
    }),
  );
  model.add(
    tf.layers.dense({
      name: "out",
      units: output === "softmax" ? 2 : 1,
      activation: output,
      kernelInitializer: init(2),
    }),
  );
  return model;
}

/** Trained on its own 70 % window of the rows (k-fold style: the windows overlap). */
async function fit(model: tf.LayersModel, rows: Rows, fold: number, output: "softmax" | "sigmoid") {
  const n = rows.y.length;
  const keep = Array.from({ length: n }, (_, i) => i).filter((i) => (i + fold * Math.floor(n / 3)) % n < 0.7 * n);
  const x = tf.tensor2d(
    keep.flatMap((i) => [...rows.x.subarray(i * FEATURES, (i + 1) * FEATURES)]),
    [keep.length, FEATURES],
  );
  const y =
    output === "softmax"
      ? tf.tensor1d(
          keep.map((i) => rows.y[i]!),
          "float32",
        )
      : tf.tensor2d(
          keep.map((i) => [rows.y[i]!]),
          [keep.length, 1],
        );
  model.compile({
    optimizer: tf.train.adam(0.02),
    loss: output === "softmax" ? "sparseCategoricalCrossentropy" : "binaryCrossentropy",
  });
  await model.fit(x, y, { epochs: 15, batchSize: 64, shuffle: false, verbose: 0 });
  tf.dispose([x, y]);
}

interface Row {
  loss: number;
  accuracy: number;
  balanced: number;
  auc: number;
}

/** The comparison table's rows by their first cell: loss, accuracy, balanced accuracy, AUC. */
function tableRows(text: string): Map<string, Row> {
  const out = new Map<string, Row>();
  for (const line of text.split("\n")) {
    const m = /^(.+?)\s{2,}(\d+\.\d{4})\s+(\d+\.\d\d)%\s+(\d+\.\d\d)%\s+(\d\.\d{4})/.exec(line);
    if (m) out.set(m[1]!.trim(), { loss: +m[2]!, accuracy: +m[3]! / 100, balanced: +m[4]! / 100, auc: +m[5]! });
  }
  return out;
}

/** The headline names a merge as the best only when its loss is the lowest of the single-size models. */
function assertLossRanked(stdout: string, merges: readonly string[]) {
  const rows = tableRows(stdout);
  const ingredients = [...rows].filter(([name]) => name.endsWith("model.json")).map(([, r]) => r);
  assert.equal(ingredients.length, 3, stdout);
  const bestIngredient = Math.min(...ingredients.map((r) => r.loss));
  const headline = stdout.split("\n")[0]!;
  const named = /^The (.+?) is the best single-size model: loss (\d+\.\d{4}) against (\d+\.\d{4})/.exec(headline);
  if (named) {
    const winner = rows.get(named[1]!);
    assert.ok(winner, `${named[1]} is a row\n${stdout}`);
    assert.ok(winner.loss < bestIngredient, stdout);
    for (const m of merges) assert.ok(rows.get(m)!.loss >= winner.loss, `${m} has no lower loss\n${stdout}`);
    assert.equal(+named[3]!, bestIngredient, stdout);
  } else {
    assert.match(headline, /^No merge beat the best ingredient \(ingredient [1-3]\)/, stdout);
    for (const m of merges) assert.ok(rows.get(m)!.loss >= bestIngredient - 0.00005, `${m}\n${stdout}`);
    // A merge more accurate than the best ingredient is named with its worse loss, not called better.
    const best = ingredients.find((r) => r.loss === bestIngredient)!;
    if (merges.some((m) => rows.get(m)!.accuracy > best.accuracy + 0.0005))
      assert.match(headline, /on loss: the .+ scores accuracy \+\d+\.\d points.*but its loss is/, stdout);
  }
}

describe("model-soup evaluate and greedy on an imbalanced binary family: verdicts that fit the data", function () {
  this.timeout(600_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-imbalanced-"));
    await tf.setBackend("cpu");
    const train = table(1200, 5);
    for (const output of ["softmax", "sigmoid"] as const) {
      for (let fold = 0; fold < 3; fold++) {
        const model = network(20 + fold, output);
        await fit(model, train, fold, output);
        const folder = join(dir, output, `fold-${fold + 1}`);
        await save(model, folder);
        if (output === "sigmoid") {
          // save() records the softmax family's loss; a sigmoid unit is compiled with binary cross-entropy.
          const path = join(folder, "model.json");
          const json = JSON.parse(await readFile(path, "utf8"));
          json.trainingConfig.loss = "binary_crossentropy";
          await writeFile(path, JSON.stringify(json));
        }
        model.dispose();
      }
    }
    const soup = table(1500, 6);
    const lines = [[...Array.from({ length: FEATURES }, (_, f) => `f${f}`), "label"].join(",")];
    for (let i = 0; i < soup.y.length; i++)
      lines.push(
        [...soup.x.subarray(i * FEATURES, (i + 1) * FEATURES)]
          .map((v) => v.toFixed(4))
          .concat(String(soup.y[i]))
          .join(","),
      );
    await writeFile(join(dir, "rows.csv"), lines.join("\n") + "\n");
  });
  after(async () => (process.env.KEEP_FAMILY ? console.log(dir) : rm(dir, { recursive: true, force: true })));

  for (const output of ["softmax", "sigmoid"] as const) {
    it(`evaluate (${output}): balanced accuracy and AUC columns, the majority-class line, a loss-ranked headline`, async () => {
      const args = ["evaluate", join(dir, output), "--data", join(dir, "rows.csv"), "--label", "label"];
      const run = await runCli(...args);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^model\s+loss\s+accuracy\s+balanced acc\.\s+AUC\s+coefficient$/m);
      assert.equal(tableRows(run.stdout).size, 5, run.stdout); // three folds, the uniform soup, the ensemble
      const note =
        /^Class 0 holds (\d+\.\d) % of the test rows: accuracy alone would call "always class 0" \1 %; see balanced accuracy and AUC\.$/m.exec(
          run.stdout,
        );
      assert.ok(note, run.stdout);
      assertLossRanked(run.stdout, ["uniform soup"]);
      // Models trained from scratch share no basin: one grouped warning at most, never one per pair.
      assert.ok((run.stdout.match(/share a basin/g) ?? []).length <= 1, run.stdout);

      const json = await runCli(...args, "--json");
      assert.equal(json.code, 0, json.stderr);
      const report = JSON.parse(json.stdout) as EvaluateReport;
      const counts = report.testClassCounts!;
      assert.equal(counts.length, 2);
      assert.equal(counts[0]! + counts[1]!, report.split.test);
      assert.equal(((100 * counts[0]!) / report.split.test).toFixed(1), note[1]);
      for (const m of [...report.metrics.ingredients, report.metrics.uniform, report.metrics.ensemble]) {
        assert.ok(m.balancedAccuracy! >= 0 && m.balancedAccuracy! <= 1, JSON.stringify(m));
        assert.ok(m.auc! >= 0 && m.auc! <= 1, JSON.stringify(m));
      }
      // The models learned something: each ranks a positive above a negative most of the time.
      assert.ok(
        report.metrics.ingredients.every((m) => m.auc! > 0.7),
        JSON.stringify(report.metrics.ingredients),
      );
    });
  }

  for (const output of ["softmax", "sigmoid"] as const) {
    it(`greedy (${output}): the greedy soup judged by its loss beside the uniform soup`, async () => {
      const out = join(dir, `greedy-${output}`, "model.json");
      const data = ["--data", join(dir, "rows.csv"), "--label", "label"];
      const run = await runCli("greedy", join(dir, output), ...data, "--out", out);
      assert.equal(run.code, 0, run.stderr);
      assert.ok(tableRows(run.stdout).has("greedy soup"), run.stdout);
      assert.match(run.stdout, /^Class 0 holds \d+\.\d % of the test rows/m);
      assertLossRanked(run.stdout, ["uniform soup", "greedy soup"]);
    });
  }

  it("learn --granularity layer: the headline and the Kept line tell one decision", async () => {
    const data = ["--data", join(dir, "rows.csv"), "--label", "label"];
    const run = await runCli("learn", join(dir, "softmax"), ...data, "--granularity", "layer", "--steps", "40");
    assert.equal(run.code, 0, run.stderr);
    const headline = run.stdout.split("\n")[0]!;
    const kept = /^Kept: (.+?) \(/m.exec(run.stdout);
    assert.ok(kept, run.stdout);
    if (kept[1] === "the learned soup") {
      assert.match(
        headline,
        /^(The learned soup is the best single-size model|Kept the learned soup \(lowest validation loss\))/,
        run.stdout,
      );
      assert.doesNotMatch(headline, /keep it/, run.stdout);
    } else {
      assert.ok(headline.includes(kept[1]!), run.stdout);
    }
    assert.match(run.stdout, /balanced acc\.\s+AUC/);
  });
});
