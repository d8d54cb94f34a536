// One learning step of the LeNet soup (three TF.js LeNets from test/fixtures, batch 256, model granularity): the
// merge write, one forward+backward pass through the network and the N dot products, as learnCoefficients runs
// it. Median over repeats on wasm (with the gradient kernels of src/worker/kernels) and on cpu, in one process;
// also the convolution-filter gradient alone (our wasm kernel against the cpu backend's).
// Run: node --import tsx bench/wasm-gradients.ts [--repeats N] [--batch N]
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../src/worker/backend.js";
import { disposeProblem, loadProblem } from "../src/worker/jobs/session/problem.js";
import { coefficientSpace, initialTheta } from "../src/worker/learn/coefficients.js";
import { SoupGradient } from "../src/worker/learn/gradient.js";
import { Merger } from "../src/worker/learn/merge.js";
import { resolveObjective } from "../src/worker/learn/objective.js";
import { median } from "./stats.js";

const LENET = "test/fixtures/real-models/tensorspace-converter/tfjs_lenet";
const MODELS = ["a_examples_rawModel", "b_test_model", "c_src_test_sequential_2018-12-02"].map(
  (d) => `${LENET}/${d}/mnist.json`,
);

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function timeIt(repeats: number, f: () => void): number {
  f(); // warm-up: kernel setup, first allocations
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    f();
    times.push(performance.now() - start);
  }
  return median(times);
}

async function main(): Promise<void> {
  const repeats = option("repeats", 10);
  const batch = option("batch", 256);
  await selectBackend("wasm");
  const loaded = await loadProblem(MODELS);
  const { problem } = loaded;
  const x = tf.randomUniform([batch, 28, 28, 1], 0, 1, "float32", 1);
  const y = tf.randomUniform([batch], 0, 10, "int32", 2);
  const objective = resolveObjective(
    problem.model,
    "supervised",
    { x, y },
    { trainingConfig: { loss: "sparse_categorical_crossentropy" } },
  );
  const space = coefficientSpace(problem.layerOf, problem.ingredients.length, "model", "simplex");
  const gradient = new SoupGradient(new Merger(problem, space), objective);
  const theta = initialTheta(space);
  const step = () => void gradient.batch(theta, x, y);

  const dy = tf.randomNormal([batch, 24, 24, 6], 0, 1, "float32", 3);
  const filterAttrs = { strides: 1, pad: "valid", dataFormat: "NHWC", filterShape: [5, 5, 1, 6] };
  const filterGrad = () =>
    tf.tidy(
      () =>
        void (tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, filterAttrs as never) as tf.Tensor).dataSync(),
    );

  const rows: Array<[string, number, number]> = [];
  const measure = async (name: string, f: () => void) => {
    await selectBackend("wasm");
    const wasm = timeIt(repeats, f);
    await selectBackend("cpu");
    const cpu = timeIt(repeats, f);
    rows.push([name, wasm, cpu]);
  };
  await measure(`learning step, LeNet soup of 3, batch ${batch}`, step);
  await measure(`Conv2DBackpropFilter alone, [${batch}, 28, 28, 1] by 5×5×1×6`, filterGrad);
  console.log(`median of ${repeats} after a warm-up, ms`);
  console.log("| measured | wasm (our kernels) | cpu | cpu / wasm |");
  console.log("|---|---|---|---|");
  for (const [name, wasm, cpu] of rows)
    console.log(`| ${name} | ${wasm.toFixed(1)} | ${cpu.toFixed(1)} | ${(cpu / wasm).toFixed(1)}× |`);
  tf.dispose([x, y, dy]);
  disposeProblem(loaded);
}

void main();
