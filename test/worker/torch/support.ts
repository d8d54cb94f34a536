// Shared by the PyTorch engine's tests: the interpreter, the fixtures, the data, plain-torch reference answers.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { findPythonWithTorch, type PythonWithTorch } from "../../../src/core/python/find-python.js";
import type { Objective } from "../../../src/worker/learn/objective.js";
import { readIngredient, type TorchDataSplit } from "../../../src/worker/torch/torch-engine.js";

export const FIXTURES = join(import.meta.dirname, "../../fixtures/pytorch/engine");
export const fixture = (name: string) => join(FIXTURES, name);
export const FACTORY = `${fixture("mlp_factory.py")}:build`;
export const MLP_STATE_DICTS = [0, 1, 2].map((i) => fixture(`mlp_ft${i}.pt`));

let python: PythonWithTorch | undefined | null;

/** The Python with torch, or undefined (the suite then skips, saying why). */
export async function torchPython(): Promise<PythonWithTorch | undefined> {
  if (python === undefined) python = await findPythonWithTorch().catch(() => null);
  return python ?? undefined;
}

export async function requireTorch(context: Mocha.Context): Promise<PythonWithTorch> {
  const found = await torchPython();
  if (!found) {
    console.log("    (skipped: no Python with torch on PATH or in the system folders; CI installs python3-torch)");
    context.skip();
  }
  return found!;
}

/** {x, y} of a data.pt fixture as a split (y: class indices as float32). */
export async function dataSplit(path: string): Promise<TorchDataSplit> {
  const { tensors } = await readIngredient(path);
  const x = tensors.find((t) => t.name === "x")!;
  const y = tensors.find((t) => t.name === "y")!;
  return {
    x: x.data as Float32Array,
    xShape: x.shape,
    y: Float32Array.from(y.data as BigInt64Array, (v) => Number(v)),
    yShape: y.shape,
  };
}

export const LOGITS_OBJECTIVE: Objective = {
  name: "supervised",
  task: {
    loss: { name: "sparse_categorical_crossentropy", fromLogits: true },
    metric: "accuracy",
    outputs: "logits",
    binary: false,
  },
};

/** Runs reference.py (plain torch, no engine code) with one JSON request. */
export function reference<T>(python: PythonWithTorch, request: Record<string, unknown>): T {
  const out = execFileSync(python.path, [join(import.meta.dirname, "reference.py"), JSON.stringify(request)], {
    encoding: "utf8",
    timeout: 120_000,
  });
  return JSON.parse(out.trim().split("\n").at(-1)!) as T;
}

export function closeTo(actual: number, expected: number, tolerance: number, what: string): void {
  if (!(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected))))
    throw new Error(`${what}: ${actual} is not within ${tolerance} of ${expected}`);
}

export const ALIGN_FIXTURES = join(import.meta.dirname, "../../fixtures/pytorch/align");
export const ALIGN_FACTORY = join(ALIGN_FIXTURES, "align_factory.py");

/** Trains the alignment tests' models (three seeds of an MLP and of a CNN with BatchNorm, …) into `dir`: ~5 s. */
export function makeAlignModels(python: PythonWithTorch, dir: string): void {
  execFileSync(python.path, [join(ALIGN_FIXTURES, "make_align_models.py"), dir], { timeout: 120_000 });
}
