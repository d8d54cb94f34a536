// bench/torch-gpu/run.sh in its small CPU form (two ResNet-18 at 32×32), so the GPU benchmark's script cannot rot:
// it runs end to end, the PyTorch engine learns what one rank learns with two, and every ratio it prints is real.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { requireTorch } from "../worker/torch/support.js";

const SCRIPT = join(import.meta.dirname, "../../bench/torch-gpu/run.sh");

interface Report {
  device: string;
  arch: string;
  plain: { step: number; total: number; loss: number };
  engines: Record<string, { step: number; total: number; coefficients: number[] }>;
  ratios: { enginePerStepOverPlain: number; twoRanksPerStepOverOne: number };
}

describe("bench/torch-gpu/run.sh --small", function () {
  this.timeout(600_000);

  it("learns a soup of two torchvision ResNet-18s on the engine (1 and 2 ranks) and beside a plain loop", async function () {
    const python = await requireTorch(this);
    const { stdout } = await promisify(execFile)(SCRIPT, ["--small"], {
      env: { ...process.env, PYTHON: python.path },
      encoding: "utf8",
      maxBuffer: 1 << 24,
    });
    const report = JSON.parse(stdout.trim().split("\n").at(-1)!) as Report;
    assert.equal(report.device, "cpu");
    assert.equal(report.arch, "resnet18");
    assert.match(stdout, /^ratio enginePerStepOverPlain: \d+\.\d\d$/m);
    assert.match(stdout, /^ratio twoRanksPerStepOverOne: \d+\.\d\d$/m);
    const [one, two] = [report.engines["1"]!, report.engines["2"]!];
    assert.equal(one.coefficients.length, 2);
    closeSum(one.coefficients);
    assert.ok(Math.abs(one.coefficients[0]! - 0.5) > 1e-4, "the coefficients moved from the uniform start");
    one.coefficients.forEach((c, k) => assert.ok(Math.abs(two.coefficients[k]! - c) < 1e-5, `coefficient ${k}`));
    for (const step of [report.plain.step, one.step, two.step]) assert.ok(step > 0 && Number.isFinite(step));
    assert.ok(Number.isFinite(report.plain.loss));
  });
});

function closeSum(coefficients: number[]): void {
  const sum = coefficients.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 1e-9, `softmax coefficients sum to 1, not ${sum}`);
}
