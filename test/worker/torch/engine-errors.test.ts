import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CancelledError, UsageError } from "../../../src/core/errors.js";
import type { PythonWithTorch } from "../../../src/core/python/find-python.js";
import { readIngredient, TorchEngine, type TorchEngineOptions } from "../../../src/worker/torch/torch-engine.js";
import { dataSplit, FACTORY, fixture, LOGITS_OBJECTIVE, MLP_STATE_DICTS, requireTorch } from "./support.js";

const ENGINE_FOLDER = join(import.meta.dirname, "../../../src/worker/torch");
// This process's engine folders only (the name carries its pid): other processes' engines may come and go in /tmp.
const engineFolders = () => readdirSync(tmpdir()).filter((f) => f.startsWith(`model-soup-torch-${process.pid}-`));

describe("TorchEngine's one-line errors", function () {
  this.timeout(300_000);
  let python: PythonWithTorch;
  let base: Omit<TorchEngineOptions, "model">;

  before(async function () {
    python = await requireTorch(this);
    base = {
      python,
      ingredients: await Promise.all(MLP_STATE_DICTS.slice(0, 2).map(readIngredient)),
      splits: { learn: await dataSplit(fixture("mlp_data.pt")) },
      device: "cpu",
    };
  });

  async function refusal(options: TorchEngineOptions): Promise<string> {
    const before = engineFolders();
    const error = await TorchEngine.start(options).then(
      async (engine) => {
        await engine.dispose();
        throw new Error("started");
      },
      (e: unknown) => e,
    );
    assert.ok(error instanceof UsageError, String(error));
    assert.doesNotMatch(error.message, /\n|Traceback/);
    assert.deepEqual(engineFolders(), before, "its temporary folder is removed");
    return error.message;
  }

  it("names the file of a factory that is not there, and of a factory that fails", async () => {
    const file = fixture("mlp_factory.py");
    assert.match(
      await refusal({ ...base, model: { architecture: `${file}:nothing` } }),
      /mlp_factory\.py has no function nothing/,
    );
    assert.match(
      await refusal({ ...base, model: { architecture: `${fixture("missing.py")}:build` } }),
      /missing\.py: no such file/,
    );
    assert.match(
      await refusal({ ...base, model: { architecture: "no_such_module_here:build" } }),
      /importing module no_such_module_here failed: No module named 'no_such_module_here'/,
    );
  });

  it("refuses a torchvision name that does not exist", async () => {
    assert.match(
      await refusal({ ...base, model: { architecture: "torchvision:resnet7" } }),
      /torchvision has no model named resnet7/,
    );
  });

  it("names the checkpoint whose tensors do not fit the architecture", async () => {
    const conv = await readIngredient(fixture("conv_ft0.ts.pt"));
    assert.match(
      await refusal({ ...base, model: { architecture: FACTORY }, ingredients: [conv] }),
      /conv_ft0\.ts\.pt: tensor 0\.weight has shape \[4, 2, 3\], .*mlp_factory\.py:build expects \[16, 6\]/,
    );
    const mlp = base.ingredients[0]!;
    const wrong = {
      file: "/data/other.pt",
      tensors: mlp.tensors.map((t) => (t.name === "4.bias" ? { ...t, shape: [2], data: new Float32Array(2) } : t)),
    };
    assert.match(
      await refusal({ ...base, model: { architecture: FACTORY }, ingredients: [mlp, wrong] }),
      /^\/data\/other\.pt: tensor 4\.bias has shape \[2\], the model expects \[3\]$/,
    );
    assert.match(
      await refusal({ ...base, model: { torchScript: fixture("mlp_ft0.pt") } }),
      /mlp_ft0\.pt: not a TorchScript module torch\.jit\.load can run/,
    );
    assert.match(await refusal({ ...base, model: { architecture: FACTORY }, device: "cuda:3" }), /device cuda:3/);
  });

  it("says out of memory for torch's CPU allocation failures, as for a MemoryError; a TorchScript failure's cause", () => {
    // What torch raises on the CPU when it cannot allocate: RuntimeErrors, not MemoryError.
    const errors = [
      "MemoryError()",
      'RuntimeError("std::bad_alloc")',
      'RuntimeError("[enforce fail at alloc_cpu.cpp:75] err == 0. DefaultCPUAllocator: can\'t allocate memory: you tried to allocate 96000000 bytes. Error code 12 (Cannot allocate memory)")',
      'RuntimeError("unable to mmap 800000 bytes from file </tmp/x/test-y.f32>: Cannot allocate memory (12)")',
    ];
    const script = [
      "import sys",
      `sys.path.insert(0, ${JSON.stringify(ENGINE_FOLDER)})`,
      "import engine",
      // What a TorchScript module raises: the cause on its last line, after the tracebacks.
      'ts = RuntimeError("The following operation failed in the TorchScript interpreter.\\nTraceback of TorchScript, serialized code (most recent call last):\\n  File \\"code/__torch__/torch/nn/modules/linear.py\\", line 14, in forward\\nRuntimeError: mat1 and mat2 shapes cannot be multiplied (4x5 and 6x16)\\n")',
      `for e in [${errors.join(", ")}, RuntimeError("shape mismatch"), ts]: print("DESCRIBED " + engine.describe(e))`,
    ].join("\n");
    // Importing engine.py points its stdout at stderr (stdout carries its frames), so the lines come on stderr.
    const run = spawnSync(python.path, ["-c", script], { encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stderr
      .split("\n")
      .filter((l) => l.startsWith("DESCRIBED "))
      .map((l) => l.slice("DESCRIBED ".length));
    assert.deepEqual(lines, [
      ...errors.map(() => "The PyTorch engine ran out of memory (the Python process could not allocate more)."),
      "RuntimeError: shape mismatch",
      "the TorchScript model failed: RuntimeError: mat1 and mat2 shapes cannot be multiplied (4x5 and 6x16)",
    ]);
  });

  it("killed mid-request: one line saying so; cancelled: a CancelledError", async () => {
    const engine = await TorchEngine.start({ ...base, model: { architecture: FACTORY } });
    try {
      await engine.write(Float64Array.from([0.5, 0.5]), { groupOf: engine.layerOf.map(() => 0), groups: 1 });
      const pending = engine.gradient({ split: "learn" }, LOGITS_OBJECTIVE);
      process.kill(engine.pid!, "SIGKILL");
      const error = await pending.catch((e: unknown) => e as Error);
      assert.ok(error instanceof UsageError);
      assert.match(
        error.message,
        /^The PyTorch engine \(pid \d+\) was killed \(SIGKILL: out of memory, or ended from outside\)\.$/,
      );
      await assert.rejects(engine.score({ split: "learn" }, LOGITS_OBJECTIVE), /was killed/);
    } finally {
      await engine.dispose();
    }
    const cancel = { isCancellationRequested: false };
    const second = await TorchEngine.start({ ...base, model: { architecture: FACTORY }, cancel });
    try {
      await second.write(Float64Array.from([0.5, 0.5]), { groupOf: second.layerOf.map(() => 0), groups: 1 });
      const pending = second.score({ split: "learn" }, LOGITS_OBJECTIVE);
      cancel.isCancellationRequested = true;
      await assert.rejects(pending, (e: unknown) => e instanceof CancelledError);
    } finally {
      await second.dispose();
    }
  });
});
