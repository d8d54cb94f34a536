// `model-soup learn <model folders> --data <csv> --label <col>` with no tuning flags, on a family this test makes
// (seeded, in seconds): a two-hidden-layer tanh/relu network on synthetic 6-class data in 10 features — another
// architecture and another dataset than the demo's digits. Four good fine-tunes of one pre-trained model, each on
// its own quarter of the training rows, and two harmful ones: a too-high learning rate, and a fine-tune on two
// classes only. The learned soup must end at or above the best single ingredient on the held-out test rows (1000
// rows), and above the uniform soup.
// History (docs/learning.md): a first family of overlapping short fine-tunes failed this test (the soup of its good
// members ties its single models; 84.5 % vs 86.5 % on 200 test rows, 87.3 % vs 87.4 % on 1000); this family, where
// averaging has variance to remove, was then fixed once and passes (87.4 % vs 85.3 %, uniform 80.7 %).
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { mulberry32 } from "../../src/core/random.js";
import { save } from "../../scripts/digits-family.js";
import { runCli } from "./run-cli.js";

const FEATURES = 10;
const CLASSES = 6;

interface Rows {
  x: Float32Array;
  y: Int32Array;
}

/** Each class a mixture of two Gaussian clusters; `seed` draws the rows, the cluster centres are fixed (seed 7). */
function mixture(n: number, seed: number): Rows {
  const centresRandom = mulberry32(7);
  const centres = Array.from({ length: CLASSES * 2 }, () =>
    Array.from({ length: FEATURES }, () => 2.2 * (centresRandom() * 2 - 1)),
  );
  const random = mulberry32(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const x = new Float32Array(n * FEATURES);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(random() * CLASSES);
    const centre = centres[c * 2 + (random() < 0.5 ? 0 : 1)]!;
    y[i] = c;
    for (let f = 0; f < FEATURES; f++) x[i * FEATURES + f] = centre[f]! + 1.1 * gaussian();
  }
  return { x, y };
}

function subset(rows: Rows, keep: (i: number) => boolean): Rows {
  const index = Array.from(rows.y.keys()).filter(keep);
  const x = new Float32Array(index.length * FEATURES);
  index.forEach((r, k) => x.set(rows.x.subarray(r * FEATURES, (r + 1) * FEATURES), k * FEATURES));
  return { x, y: Int32Array.from(index, (r) => rows.y[r]!) };
}

function network(seed: number): tf.Sequential {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed * 10 + k });
  const model = tf.sequential({ name: "mixture_mlp" });
  model.add(
    tf.layers.dense({
      name: "dense1",
      inputShape: [FEATURES],
      units: 24,
      activation: "tanh",
      kernelInitializer: init(1),
    }),
  );
  model.add(tf.layers.dense({ name: "dense2", units: 16, activation: "relu", kernelInitializer: init(2) }));
  model.add(tf.layers.dense({ name: "out", units: CLASSES, activation: "softmax", kernelInitializer: init(3) }));
  return model;
}

async function fit(model: tf.LayersModel, rows: Rows, epochs: number, learningRate: number): Promise<void> {
  model.compile({ optimizer: tf.train.adam(learningRate), loss: "sparseCategoricalCrossentropy" });
  const x = tf.tensor2d(rows.x, [rows.y.length, FEATURES]);
  const y = tf.tensor1d(rows.y, "float32");
  await model.fit(x, y, { epochs, batchSize: 32, shuffle: false, verbose: 0 });
  tf.dispose([x, y]);
}

/** The accuracy column of each table row, by its first cell. */
function accuracies(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(.+?)\s{2,}\d+\.\d{4}\s+(\d+\.\d\d)%/.exec(line);
    if (m) out.set(m[1]!.trim(), Number(m[2]) / 100);
  }
  return out;
}

describe("model-soup learn with no tuning flags, on a family this test makes (another architecture and dataset)", function () {
  this.timeout(600_000); // training six small models and one learning run; slow when the machine is shared
  let dir: string;
  const names = ["good-1", "good-2", "good-3", "good-4", "high-lr", "classes-0-1"];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-learn-family-"));
    await tf.setBackend("cpu");
    const train = mixture(1200, 1);
    const base = network(3);
    await fit(
      base,
      subset(train, (i) => i < 300),
      2,
      0.01,
    );
    const tunes: { keep: (i: number) => boolean; epochs: number; learningRate: number }[] = [
      { keep: (i) => i % 4 === 0, epochs: 20, learningRate: 0.005 },
      { keep: (i) => i % 4 === 1, epochs: 20, learningRate: 0.005 },
      { keep: (i) => i % 4 === 2, epochs: 20, learningRate: 0.005 },
      { keep: (i) => i % 4 === 3, epochs: 20, learningRate: 0.005 },
      { keep: (i) => i % 2 === 1, epochs: 6, learningRate: 0.12 },
      { keep: () => true, epochs: 6, learningRate: 0.005 },
    ];
    for (const [k, tune] of tunes.entries()) {
      const model = network(3);
      model.setWeights(base.getWeights());
      const rows = names[k] === "classes-0-1" ? subset(train, (i) => train.y[i]! <= 1) : subset(train, tune.keep);
      await fit(model, rows, tune.epochs, tune.learningRate);
      await save(model, join(dir, "models", names[k]!));
      model.dispose();
    }
    base.dispose();
    // The soup data: rows no ingredient has seen; learn splits it 60/20/20 (seed 0).
    const soup = mixture(5000, 2);
    const lines = ["f0,f1,f2,f3,f4,f5,f6,f7,f8,f9,label"];
    for (let i = 0; i < soup.y.length; i++)
      lines.push(
        [...soup.x.subarray(i * FEATURES, (i + 1) * FEATURES)]
          .map((v) => v.toFixed(4))
          .concat(String(soup.y[i]))
          .join(","),
      );
    await writeFile(join(dir, "soup.csv"), lines.join("\n") + "\n");
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("ends at or above the best single ingredient on the test rows, and above the uniform soup", async () => {
    const run = await runCli("learn", join(dir, "models"), "--data", join(dir, "soup.csv"), "--label", "label");
    assert.equal(run.code, 0, run.stderr);
    const acc = accuracies(run.stdout);
    const learned = acc.get("learned soup");
    const uniform = acc.get("uniform soup");
    // The table names each model by a path relative to the working directory or absolute, whichever is shorter.
    const single = (n: string) => [...acc].find(([row]) => row.endsWith(`/models/${n}/model.json`))?.[1];
    const singles = names.map(single);
    assert.ok(learned !== undefined && uniform !== undefined && singles.every((s) => s !== undefined), run.stdout);
    const best = Math.max(...(singles as number[]));
    assert.ok(learned > uniform, `learned ${learned} vs uniform ${uniform}\n${run.stdout}`);
    assert.ok(learned >= best, `learned ${learned} vs best single ${best}\n${run.stdout}`);
    // The harmful members are harmful: each below the best, and the uniform soup below the best single model.
    assert.ok(single("classes-0-1")! < best - 0.2, run.stdout);
    assert.ok(uniform < best, `the uniform soup is hurt by the harmful members\n${run.stdout}`);
    // The stop reason is the true one: a run that used its whole budget says so, even when patience ran out on its last step.
    const learning = /^Learning: (\d+) Adam steps of a budget of (\d+).*stopped: (.*)$/m.exec(run.stdout);
    assert.ok(learning, run.stdout);
    if (learning[1] === learning[2]) assert.match(learning[3]!, /^the step budget ran out/, run.stdout);
  });
});
