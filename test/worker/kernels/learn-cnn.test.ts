// Learned soups of convolutional fixtures on the default backend (wasm), through the real CLI and worker: the
// run completes on wasm, the training loss falls, and every step's coefficients equal the cpu backend's run.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { openModel } from "../../../src/core/formats/registry.js";
import { bindWeights, buildModel, finalOutputModel, loadWeights } from "../../../src/worker/runtime/index.js";
import { runCli } from "../../cli/run-cli.js";
import { on, values } from "./compare.js";

const LENET = "test/fixtures/real-models/tensorspace-converter/tfjs_lenet";
const FAMILIES = [
  {
    name: "the three TF.js LeNets (Conv2D, MaxPooling2D, Dense)",
    models: ["a_examples_rawModel", "b_test_model", "c_src_test_sequential_2018-12-02"].map((d) =>
      join(LENET, d, "mnist.json"),
    ),
    input: [28, 28, 1],
  },
  {
    name: "the two Keras 3 CNNs (Conv2D, BatchNormalization, pooling, Dense)",
    models: ["test/fixtures/keras3/cnn_a.keras", "test/fixtures/keras3/cnn_b.keras"],
    input: [8, 8, 1],
  },
];
const ROWS = 48;

/** Seeded inputs labelled by the first ingredient's own predictions, so a soup leaning on it lowers the loss. */
async function labelledData(models: string[], input: number[], path: string): Promise<void> {
  const file = await openModel(models[0]!);
  try {
    const labels = await on("cpu", async () => {
      const built = await buildModel(file.manifest);
      await loadWeights(built, bindWeights(file.manifest, built), file);
      const model = finalOutputModel(built, file.manifest.architecture!);
      const x = tf.tensor(values(40, ROWS * input.reduce((a, b) => a * b, 1)), [ROWS, ...input]);
      const y = Array.from((model.predict(x) as tf.Tensor).argMax(-1).dataSync());
      x.dispose();
      built.dispose();
      return y;
    });
    const x = values(40, ROWS * input.reduce((a, b) => a * b, 1));
    const size = x.length / ROWS;
    const rows = Array.from({ length: ROWS }, (_, i) => Array.from(x.subarray(i * size, (i + 1) * size)));
    // Inputs as flat rows reshaped by the loader to the model's input shape.
    await writeFile(path, JSON.stringify({ x: rows.map((r) => reshape(r, input)), y: labels }));
  } finally {
    await file.close();
  }
}

function reshape(flat: number[], shape: number[]): unknown {
  if (shape.length === 1) return flat;
  const inner = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0]! }, (_, i) => reshape(flat.slice(i * inner, (i + 1) * inner), shape.slice(1)));
}

interface Step {
  step: number;
  trainLoss: number;
  coefficients: number[];
}

describe("learned soups of convolutional fixtures on the wasm backend", function () {
  this.timeout(600_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-wasm-cnn-"));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  for (const family of FAMILIES) {
    it(`${family.name}: learns on wasm, the loss falls, and each step equals cpu's`, async () => {
      const data = join(dir, `${family.input.join("x")}.json`);
      await labelledData(family.models, family.input, data);
      // Fixed optimiser and budget: the test checks the backends, not the defaults.
      const flags = ["--data", data, "--optimizer", "adam", "--steps", "3", "--json"];
      const wasm = await runCli("learn", ...family.models, ...flags);
      assert.equal(wasm.code, 0, wasm.stderr);
      const report = JSON.parse(wasm.stdout);
      assert.equal(report.backend, "wasm");
      assert.ok(!report.warnings.some((w: string) => /cpu backend/.test(w)), report.warnings.join("\n"));
      const history = report.history as Step[];
      assert.ok(history.length >= 2, `${history.length} steps`);
      assert.ok(
        history.at(-1)!.trainLoss < history[0]!.trainLoss,
        `training loss ${history[0]!.trainLoss} -> ${history.at(-1)!.trainLoss}`,
      );

      const cpu = await runCli("learn", ...family.models, ...flags, "--backend", "cpu");
      assert.equal(cpu.code, 0, cpu.stderr);
      const reference = JSON.parse(cpu.stdout);
      assert.equal(reference.backend, "cpu");
      assert.equal(reference.history.length, history.length);
      history.forEach((h, k) => {
        const r = (reference.history as Step[])[k]!;
        // Same data, seed and steps: float32 sums in another order move the coefficients by ~1e-6 a step.
        assert.ok(
          Math.abs(h.trainLoss - r.trainLoss) < 1e-4 * Math.max(1, Math.abs(r.trainLoss)),
          `step ${h.step}: loss ${h.trainLoss} vs cpu ${r.trainLoss}`,
        );
        h.coefficients
          .flat()
          .forEach((c, i) =>
            assert.ok(
              Math.abs(c - r.coefficients.flat()[i]!) < 1e-4,
              `step ${h.step}: coefficients ${h.coefficients} vs cpu ${r.coefficients}`,
            ),
          );
      });
    });
  }
});
