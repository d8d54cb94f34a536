// bench/torch-gpu: a learned soup of torchvision fine-tunes through the PyTorch engine (TorchEngine driven by the
// one learner, learnCoefficients) against a plain PyTorch loop doing the same learned-soup steps on the same device
// (plain.py), and the engine with two data-parallel ranks against one. Started by run.sh, which picks the sizes:
// five ResNet-50 at 224 × 224 on CUDA; smaller on CPU (--small, or no GPU) so CI runs it and it cannot rot.
// The code path is the same on both; only the device, the architecture and the sizes differ.
// Prints one line per measurement, the ratios, and a last line of JSON (for test/bench/torch-gpu.test.ts).
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { mulberry32 } from "../../src/core/random.js";
import { findPythonWithTorch } from "../../src/core/python/find-python.js";
import { shuffledIndices } from "../../src/worker/learn/batches.js";
import { learnCoefficients } from "../../src/worker/learn/learn.js";
import { readIngredient, TorchEngine, type TorchDataSplit } from "../../src/worker/torch/torch-engine.js";
import { LOGITS_OBJECTIVE } from "../../test/worker/torch/support.js";
import { median } from "../stats.js";

const HERE = dirname(fileURLToPath(import.meta.url));

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

async function floats(path: string): Promise<Float32Array> {
  const bytes = await readFile(path);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

async function main(): Promise<void> {
  const python = await findPythonWithTorch(process.env.PYTHON ? { python: process.env.PYTHON } : {});
  const device = option("device", "cpu");
  const arch = option("arch", "resnet18");
  const models = Number(option("models", "2"));
  const size = Number(option("size", "32"));
  const steps = Number(option("steps", "6"));
  const batch = Number(option("batch", "16"));
  const learnRows = Number(option("learn", "64"));
  const validationRows = Number(option("validation", "32"));
  const tuneSteps = option("tune-steps", "3");
  const threads = Number(option("threads", "0")) || undefined;
  const nprocs = option("nproc", "1,2").split(",").map(Number);
  const folder = await mkdtemp(join(tmpdir(), "torch-gpu-bench-"));
  try {
    console.log(
      `${models} × ${arch} at ${size}×${size} on ${device}, ${steps} steps of batch ${batch}, ${python.path} (torch ${python.torchVersion})`,
    );
    const made = execFileSync(
      python.path,
      [
        join(HERE, "make.py"),
        folder,
        arch,
        String(models),
        String(size),
        device,
        tuneSteps,
        tuneSteps,
        String(learnRows),
        String(validationRows),
      ],
      { encoding: "utf8" },
    );
    console.log(`ingredients: ${made.trim()}`);
    // The learner's batch order (Adam draws seeded shuffles, seed 0), for the plain loop to take the same batches.
    const random = mulberry32(0);
    const epochs = Math.ceil((steps * batch) / learnRows) + 1;
    const order = Int32Array.from(Array.from({ length: epochs }, () => [...shuffledIndices(learnRows, random)]).flat());
    await writeFile(join(folder, "order.i32"), order);
    const env = { ...process.env, ...(threads ? { TORCH_THREADS: String(threads) } : {}) };
    const plain = JSON.parse(
      execFileSync(
        python.path,
        [join(HERE, "plain.py"), folder, device, String(steps), String(batch), join(folder, "order.i32")],
        {
          encoding: "utf8",
          env,
        },
      ),
    ) as { step: number; total: number; loss: number };
    console.log(
      `plain PyTorch loop: ${(1000 * plain.step).toFixed(1)} ms per step (median), ${plain.total.toFixed(2)} s in all`,
    );

    const meta = JSON.parse(await readFile(join(folder, "meta.json"), "utf8")) as { splits: Record<string, number[]> };
    const split = async (name: string): Promise<TorchDataSplit> => ({
      x: await floats(join(folder, `${name}-x.f32`)),
      xShape: meta.splits[name]!,
      y: await floats(join(folder, `${name}-y.f32`)),
      yShape: [meta.splits[name]![0]!],
    });
    const splits = { learn: await split("learn"), validation: await split("validation") };
    const ingredients = await Promise.all(
      Array.from({ length: models }, (_, i) => readIngredient(join(folder, `ft${i}.pt`))),
    );
    const engines: Record<number, { step: number; total: number; coefficients: number[] }> = {};
    for (const nproc of nprocs) {
      const engine = await TorchEngine.start({
        python,
        model: { architecture: `torchvision:${arch}` },
        ingredients,
        splits,
        device,
        threads,
        batchSize: batch,
        nproc,
      });
      try {
        const times: number[] = [];
        const start = performance.now();
        let last = start;
        const result = await learnCoefficients(engine, LOGITS_OBJECTIVE, {
          granularity: "model",
          optimizer: "adam",
          learningRate: 0.05,
          schedule: "constant",
          maxSteps: steps,
          batchSize: batch,
          evaluateEvery: steps,
          patience: steps,
          compareCandidates: false,
          startAt: "uniform",
          refit: false,
          reestimateBatchNorm: false,
          onProgress: (p) => {
            const now = performance.now();
            if (p.validationLoss === undefined) times.push((now - last) / 1000);
            last = now;
          },
        });
        const total = (performance.now() - start) / 1000;
        engines[nproc] = {
          step: median(times.slice(1).length ? times.slice(1) : times),
          total,
          coefficients: result.coefficients.flat(),
        };
        console.log(
          `PyTorch engine, --nproc ${nproc} (${engine.description}): ${(1000 * engines[nproc].step).toFixed(1)} ms per step (median), ${total.toFixed(2)} s in all (validation included); coefficients ${engines[nproc].coefficients.map((c) => c.toFixed(4)).join(", ")}`,
        );
      } finally {
        await engine.dispose();
      }
    }
    const ratios: Record<string, number> = {};
    if (engines[1]) ratios.enginePerStepOverPlain = engines[1].step / plain.step;
    if (engines[1] && engines[2]) ratios.twoRanksPerStepOverOne = engines[2].step / engines[1].step;
    for (const [name, value] of Object.entries(ratios)) console.log(`ratio ${name}: ${value.toFixed(2)}`);
    console.log(JSON.stringify({ device, arch, models, size, steps, batch, plain, engines, ratios }));
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

await main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
