// The big operations of one CNN learning step (bench/learned-soup-cnn), each timed alone on the chosen TF.js
// backend (with Model Soup's gradient kernels) and in PyTorch (kernels.py, TORCH_THREADS threads, default 1):
// where tfjs-wasm's kernels themselves set a floor. Medians in milliseconds, side by side, from one run.
// Run: node --import tsx bench/learned-soup-cnn/kernels.ts [--backend wasm|cpu] [--repeats N]
import * as tf from "@tensorflow/tfjs";
import { execFileSync } from "node:child_process";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { selectBackend, type BackendName } from "../../src/worker/backend.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const B = 64;
const LAYERS: Array<[number, number, number]> = [
  [32, 3, 16],
  [16, 16, 32],
  [8, 32, 64],
];

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

function medianMs(repeats: number, f: () => tf.Tensor | tf.Tensor[]): number {
  for (let r = 0; r < 3; r++) tf.dispose(f());
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    const out = f();
    times.push(performance.now() - start);
    tf.dispose(out);
  }
  times.sort((a, b) => a - b);
  return times.length % 2
    ? times[(times.length - 1) / 2]!
    : (times[times.length / 2 - 1]! + times[times.length / 2]!) / 2;
}

async function main(): Promise<void> {
  const chosen = await selectBackend(option("backend", "wasm") as BackendName);
  const repeats = Number(option("repeats", "30"));
  const ours = new Map<string, number>();
  const time = (name: string, f: () => tf.Tensor | tf.Tensor[]) => ours.set(name, medianMs(repeats, f));
  for (const [size, cin, cout] of LAYERS) {
    const x = tf.randomNormal([B, size, size, cin], 0, 1, "float32", 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, cin, cout], 0, 1, "float32", 2) as tf.Tensor4D;
    const bias = tf.randomNormal([cout], 0, 1, "float32", 3) as tf.Tensor1D;
    const dy = tf.randomNormal([B, size, size, cout], 0, 1, "float32", 4) as tf.Tensor4D;
    const scale = tf.randomNormal([cout], 0, 1, "float32", 5);
    const shift = tf.randomNormal([cout], 0, 1, "float32", 6);
    const name = `${cin}->${cout} @${size}`;
    const attrs = { strides: 1, pad: "same", dataFormat: "NHWC", dilations: 1 };
    time(`conv forward ${name}`, () => tf.fused.conv2d({ x, filter: w, bias, strides: 1, pad: "same" }));
    time(
      `conv backprop input ${name}`,
      () =>
        tf
          .engine()
          .runKernel("Conv2DBackpropInput", { dy, filter: w }, { ...attrs, inputShape: x.shape } as never) as tf.Tensor,
    );
    time(
      `conv backprop filter ${name}`,
      () =>
        tf
          .engine()
          .runKernel("Conv2DBackpropFilter", { x, dy }, { ...attrs, filterShape: w.shape } as never) as tf.Tensor,
    );
    time(`batchnorm inference forward ${name}`, () =>
      tf.batchNorm(dy, tf.zeros([cout]), tf.ones([cout]), shift, scale, 1e-3),
    );
    time(`maxpool 2x2 ${name}`, () => tf.maxPool(dy, 2, 2, "valid"));
    tf.dispose([x, w, bias, dy, scale, shift]);
  }
  const a = tf.randomNormal([B, 1024], 0, 1, "float32", 7);
  const w = tf.randomNormal([1024, 512], 0, 1, "float32", 8);
  const dy = tf.randomNormal([B, 512], 0, 1, "float32", 9);
  time("dense x.W [64x1024].[1024x512]", () => tf.matMul(a, w));
  time("dense xT.dy [64x1024]T.[64x512]", () => tf.matMul(a, dy, true, false));
  time("dense dy.WT [64x512].[1024x512]T", () => tf.matMul(dy, w, false, true));
  const torch = JSON.parse(
    execFileSync("/usr/bin/python3", [join(HERE, "kernels.py"), String(repeats)], { encoding: "utf8" }),
  ) as Record<string, number>;
  console.log(
    `tfjs ${chosen.backend} vs PyTorch (${process.env.TORCH_THREADS ?? "1"} thread(s)), medians of ${repeats}; load average ${loadavg()[0]!.toFixed(2)}`,
  );
  console.log("| operation | tfjs (ms) | PyTorch (ms) | ratio |\n|---|---|---|---|");
  let sumOurs = 0;
  let sumTorch = 0;
  for (const [name, ms] of ours) {
    const ref = torch[name]!;
    sumOurs += ms;
    sumTorch += ref;
    console.log(`| ${name} | ${ms.toFixed(2)} | ${ref.toFixed(2)} | ${(ms / ref).toFixed(1)} |`);
  }
  console.log(
    `| all of the above | ${sumOurs.toFixed(1)} | ${sumTorch.toFixed(1)} | ${(sumOurs / sumTorch).toFixed(1)} |`,
  );
}

await main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
