import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { toFloat32 } from "../../../../src/core/convert.js";
import { ModelFileError } from "../../../../src/core/errors.js";
import { detectFormat, openModel, readManifest } from "../../../../src/core/formats/registry.js";
import type { TensorArray } from "../../../../src/core/tensor.js";

const DIR = join("test", "fixtures", "pytorch");
const HOSTILE = join(DIR, "hostile");

interface Expected {
  name: string;
  shape: number[];
  dtype: string;
  sum: number;
  first: number[];
}
const EXPECTED = JSON.parse(readFileSync(join(DIR, "expected.json"), "utf8")) as { files: Record<string, Expected[]> };

function asNumbers(data: TensorArray, dtype: string): number[] {
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Array.from(data, Number);
  if (dtype === "float16" || dtype === "bfloat16") return Array.from(toFloat32(data, dtype as "float16"));
  return Array.from(data as ArrayLike<number>, Number);
}

describe("PyTorch checkpoints: reading torch.save and TorchScript archives", () => {
  for (const [file, tensors] of Object.entries(EXPECTED.files)) {
    it(`reads ${file}: every tensor's name, shape, dtype and values as torch recorded them`, async () => {
      const path = join(DIR, file);
      assert.equal((await detectFormat(path)).id, "pytorch");
      const model = await openModel(path);
      try {
        assert.deepEqual(
          model.manifest.tensors.map((t) => t.name),
          tensors.map((t) => t.name),
        );
        for (const expected of tensors) {
          const tensor = await model.readTensor(expected.name);
          assert.deepEqual(tensor.shape, expected.shape, expected.name);
          assert.equal(tensor.dtype, expected.dtype, expected.name);
          const values = asNumbers(tensor.data, tensor.dtype);
          const sum = values.reduce((a, b) => a + b, 0);
          assert.ok(
            Math.abs(sum - expected.sum) <= 1e-5 * Math.max(1, Math.abs(expected.sum)),
            `${expected.name}: sum ${sum} vs ${expected.sum}`,
          );
          assert.deepEqual(
            values.slice(0, 4).map((v) => Math.fround(v)),
            expected.first.map((v) => Math.fround(v)),
            expected.name,
          );
        }
      } finally {
        await model.close();
      }
    });
  }

  it("finds the weights of a Lightning checkpoint under state_dict, keeping its scalars as metadata", async () => {
    const manifest = await readManifest(join(DIR, "lightning.ckpt"));
    assert.equal(manifest.metadata.state_dict_key, "state_dict");
    assert.equal(manifest.metadata.epoch, 3);
    assert.equal(manifest.metadata.global_step, 30);
    assert.ok(!manifest.tensors.some((t) => t.name.includes("momentum")), "optimizer state is not a weight");
  });

  it("removes DataParallel's module. prefix when every name has it, and says so", async () => {
    const manifest = await readManifest(join(DIR, "dataparallel.pt"));
    assert.equal(manifest.metadata.state_dict_key, "model");
    assert.deepEqual(
      manifest.tensors.map((t) => t.name),
      ["0.weight", "0.bias", "2.weight", "2.bias"],
    );
    assert.match(manifest.warnings.join("\n"), /"module\." .*prefix is removed/);
  });

  it("reads a TorchScript archive's weights by module path", async () => {
    const manifest = await readManifest(join(DIR, "torchscript.pt"));
    assert.equal(manifest.metadata.torchscript, true);
    assert.equal(manifest.tensors.find((t) => t.name === "1.num_batches_tracked")?.dtype, "int64");
  });

  it("refuses a legacy non-zip checkpoint in one line saying how to re-save it", async () => {
    const path = join(DIR, "legacy.pt");
    await assert.rejects(readManifest(path), (error: Error) => {
      assert.ok(error instanceof ModelFileError);
      assert.ok(!error.message.includes("\n"));
      assert.match(
        error.message,
        /legacy \(non-zip\) PyTorch checkpoint.*torch\.save\(state_dict, path\).*safetensors/,
      );
      return true;
    });
  });

  describe("hostile pickles: one line each, naming the file; nothing runs", () => {
    const globals: Record<string, string> = {
      "os_system.pt": "os.system",
      "posix_system.pt": "posix.system",
      "builtins_eval.pt": "builtins.eval",
      "stack_global.pt": "os.system",
      "inst.pt": "os.system",
      "subprocess_reduce.pt": "subprocess.Popen",
      "other_class.pt": "__main__.Evil",
    };
    for (const file of readdirSync(HOSTILE).sort()) {
      it(file, async () => {
        const path = join(HOSTILE, file);
        const started = Date.now();
        await assert.rejects(
          (async () => {
            const model = await openModel(path);
            await model.close();
          })(),
          (error: Error) => {
            assert.ok(error instanceof ModelFileError, `${error.name}: ${error.message}`);
            assert.ok(error.message.startsWith(`${path}: `), error.message);
            assert.ok(!error.message.includes("\n"), error.message);
            const global = globals[file];
            if (global) {
              assert.ok(error.message.includes(`refused: the pickle calls ${global};`), error.message);
              assert.match(error.message, /torch\.load\(weights_only=True\)/);
            }
            return true;
          },
        );
        assert.ok(Date.now() - started < 5000, "refused quickly");
        assert.ok(!existsSync("/tmp/model-soup-pwned"), "nothing from the pickle ran");
      });
    }
  });
});
