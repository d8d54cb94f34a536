/**
 * Shared by the PyTorch CLI tests (torch-learn, torch-evaluate-greedy): the MLP fixtures' data as .npz files, the
 * plain-torch scores of a written file (torch_written_score.py), and the one-line failure a command must end in.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fixture } from "../worker/torch/support.js";

export const SCORE = join(import.meta.dirname, "torch_written_score.py");

/** The MLP fixtures' data as .npz, and 40 held-out rows drawn from the same rule (make_engine_fixtures.py). */
export function writeData(python: string, dir: string): void {
  const script = [
    "import sys, numpy as np, torch",
    "torch.manual_seed(0)",
    "x = torch.randn(96, 6); w = torch.randn(6, 3)",
    "d = torch.load(sys.argv[1], weights_only=True)",
    "assert torch.equal(d['x'], x) and torch.equal(d['y'], (x @ w).argmax(1))",
    "np.savez(sys.argv[2], x=x.numpy(), y=d['y'].numpy())",
    "h = torch.randn(40, 6)",
    "np.savez(sys.argv[3], x=h.numpy(), y=(h @ w).argmax(1).numpy())",
  ].join("\n");
  execFileSync(python, ["-c", script, fixture("mlp_data.pt"), join(dir, "data.npz"), join(dir, "held.npz")]);
}

export function plainTorchScore(
  python: string,
  request: Record<string, string>,
): { kind: string; loss: number; accuracy: number } {
  const out = execFileSync(python, [SCORE, JSON.stringify(request)], { encoding: "utf8", timeout: 120_000 });
  return JSON.parse(out.trim().split("\n").at(-1)!) as { kind: string; loss: number; accuracy: number };
}

/** The one `model-soup …` line of a failed command's stderr, with no stack trace. */
export function oneLine(stderr: string): string {
  const lines = stderr
    .split("\n")
    .filter((l) => l.startsWith("model-soup"))
    .map((l) => l.trim());
  assert.equal(lines.length, 1, stderr);
  assert.doesNotMatch(stderr, /\n\s+at /, `no stack trace:\n${stderr}`);
  return lines[0]!;
}
