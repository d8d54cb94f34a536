// Where one learning step of the CNN soup (bench/learned-soup-cnn) spends its time, kernel by kernel: every kernel
// of the backend is wrapped with a timer (self time: a kernel built from other kernels, as ours in
// src/worker/kernels are, counts only the time outside them), then SoupGradient.batch (merge, forward, backward,
// dot products) runs repeatedly on one batch with a new θ each time, as learning does. Ingredients are seeded
// random weights of the benchmark's CNN: kernel times do not depend on the values.
// Run: node --import tsx bench/learned-soup-cnn/profile.ts [--backend wasm|cpu] [--granularity model|layer] [--steps N]
//      [--detail Kernel,Kernel] (those kernels split by input shapes and attributes)
import * as tf from "@tensorflow/tfjs";
import { loadavg } from "node:os";
import { mulberry32 } from "../../src/core/random.js";
import { selectBackend, type BackendName } from "../../src/worker/backend.js";
import { coefficientSpace, initialTheta, type Granularity } from "../../src/worker/learn/coefficients.js";
import { SoupGradient } from "../../src/worker/learn/gradient.js";
import { Merger } from "../../src/worker/learn/merge.js";
import { resolveObjective } from "../../src/worker/learn/objective.js";
import type { SoupProblem } from "../../src/worker/learn/problem.js";
import { buildModel, makeData, SIZE } from "./model.js";
import { median } from "../stats.js";

const BATCH = 64;
const INGREDIENTS = 5;

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

/** Seeded weights for every variable; variances (moving_variance) positive. */
function randomIngredients(variables: tf.LayerVariable[], seed: number): Float32Array[] {
  const random = mulberry32(seed);
  return variables.map((v) => {
    const { size, shape } = v.read();
    const values = new Float32Array(size);
    const fanIn = shape.length > 1 ? size / shape.at(-1)! : 1;
    const positive = v.name.includes("variance");
    for (let k = 0; k < values.length; k++) {
      const u = (random() + random() + random() - 1.5) * 2;
      values[k] = positive ? 0.5 + Math.abs(u) : u * Math.sqrt(2 / fanIn);
    }
    return values;
  });
}

interface KernelRow {
  name: string;
  calls: number;
  selfMs: number;
  /** Including the kernels it calls (ours in src/worker/kernels are built from others); outermost calls only. */
  totalMs: number;
}

/** Wraps every kernel of `backend` with a self-time counter; returns the counters and a function that unwraps. */
function instrumentKernels(
  backend: string,
  detail: ReadonlySet<string>,
): { rows: Map<string, KernelRow>; restore: () => void } {
  const rows = new Map<string, KernelRow>();
  const originals = tf.getKernelsForBackend(backend);
  const childTime: number[] = [];
  const active = new Map<string, number>();
  for (const config of originals) {
    const rowOf = (args: Parameters<tf.KernelFunc>[0]): KernelRow => {
      let key = config.kernelName;
      if (detail.has(key)) {
        const shapes = Object.values(args.inputs).map((t) => (t === undefined ? "-" : `[${t.shape.join("×")}]`));
        const flags = Object.entries(args.attrs ?? {})
          .filter(([, v]) => v === true || Array.isArray(v) || typeof v === "number")
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
        key += ` ${shapes.join(" ")} ${flags.join(" ")}`;
      }
      let row = rows.get(key);
      if (row === undefined) rows.set(key, (row = { name: key, calls: 0, selfMs: 0, totalMs: 0 }));
      return row;
    };
    tf.unregisterKernel(config.kernelName, backend);
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        childTime.push(0);
        const depth = active.get(config.kernelName) ?? 0;
        active.set(config.kernelName, depth + 1);
        const start = performance.now();
        const out = config.kernelFunc(args);
        const elapsed = performance.now() - start;
        active.set(config.kernelName, depth);
        const inner = childTime.pop()!;
        const row = rowOf(args);
        row.calls++;
        row.selfMs += elapsed - inner;
        if (depth === 0) row.totalMs += elapsed;
        if (childTime.length > 0) childTime[childTime.length - 1]! += elapsed;
        return out;
      },
    });
  }
  const restore = () => {
    for (const config of originals) {
      tf.unregisterKernel(config.kernelName, backend);
      tf.registerKernel(config);
    }
  };
  return { rows, restore };
}

async function main(): Promise<void> {
  const chosen = await selectBackend(option("backend", "wasm") as BackendName);
  const granularity = option("granularity", "model") as Granularity;
  const steps = Number(option("steps", "30"));
  const model = buildModel();
  const variables = model.layers.flatMap((l) => l.weights);
  const layerOf = model.layers.flatMap((l) => l.weights.map(() => l.name));
  const ingredients = Array.from({ length: INGREDIENTS }, (_, i) => randomIngredients(variables, i + 1));
  const problem: SoupProblem = { model, variables, layerOf, ingredients };
  const { learn } = makeData(11, { learn: BATCH });
  const x = tf.tensor4d(learn!.x, [BATCH, SIZE, SIZE, 3]);
  const y = tf.tensor1d(learn!.y);
  const objective = resolveObjective(
    model,
    "supervised",
    { x, y },
    {
      trainingConfig: { loss: "sparse_categorical_crossentropy" },
    },
  );
  const space = coefficientSpace(layerOf, INGREDIENTS, granularity, "simplex");
  const gradient = new SoupGradient(new Merger(problem, space), objective);
  const theta = initialTheta(space);
  const step = () => {
    theta[0] = theta[0]! + 1e-3; // a new θ each step, so the merge is not skipped
    gradient.batch(theta, x, y);
  };
  const timeSteps = (count: number) => {
    const times: number[] = [];
    for (let s = 0; s < count; s++) {
      const start = performance.now();
      step();
      times.push(performance.now() - start);
    }
    return times;
  };
  timeSteps(5); // warm-up
  const plain = median(timeSteps(steps));
  const detail = new Set(option("detail", "").split(",").filter(Boolean));
  const { rows, restore } = instrumentKernels(chosen.backend, detail);
  const instrumented = timeSteps(steps);
  restore();
  const total = instrumented.reduce((a, b) => a + b, 0) / steps;
  const used = [...rows.values()].filter((r) => r.calls > 0).sort((a, b) => b.selfMs - a.selfMs);
  const kernelMs = used.reduce((a, r) => a + r.selfMs, 0) / steps;
  console.log(
    `backend ${chosen.backend}, granularity ${granularity}, batch ${BATCH}, ${steps} steps; load average ${loadavg()[0]!.toFixed(2)}`,
  );
  console.log(`step (median, not instrumented): ${plain.toFixed(1)} ms; instrumented mean ${total.toFixed(1)} ms`);
  console.log(
    "| kernel | calls per step | ms per step (self) | share of step | ms per step (with the kernels it calls) |\n|---|---|---|---|---|",
  );
  for (const r of used)
    console.log(
      `| ${r.name} | ${(r.calls / steps).toFixed(0)} | ${(r.selfMs / steps).toFixed(2)} | ${((100 * r.selfMs) / steps / total).toFixed(1)} % | ${(r.totalMs / steps).toFixed(2)} |`,
    );
  console.log(
    `| (outside kernels: TF.js dispatch, tape, gradient functions, JS) | | ${(total - kernelMs).toFixed(2)} | ${((100 * (total - kernelMs)) / total).toFixed(1)} % | |`,
  );
  console.log(`tensors alive: ${tf.memory().numTensors}`);
}

await main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
