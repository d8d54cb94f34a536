import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModelFileError } from "../../../../src/core/errors.js";
import { detectFormat } from "../../../../src/core/formats/registry.js";
import { PickleDict, PickleSet, PickleTuple } from "../../../../src/core/formats/pytorch/pickle-values.js";
import { PickleRefused, unpickle } from "../../../../src/core/formats/pytorch/unpickler.js";

const bytes = (...parts: Array<number[] | string>) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...Buffer.from(p, "latin1")] : p)));

describe("PyTorch: the restricted unpickler", () => {
  it("reads the inert data of later protocols: frames, short strings, floats, sets, tuples, memo", () => {
    const float = [...Buffer.from(new Float64Array([1.5]).buffer)].reverse();
    const body = bytes(
      [0x7d, 0x94, 0x28],
      [0x8c, 1],
      "a",
      [0x94, 0x47, ...float],
      [0x8c, 1],
      "b",
      [0x8f, 0x28, 0x4b, 1, 0x4b, 2, 0x90],
      [0x8c, 1],
      "c",
      [0x68, 1, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x86],
      [0x75, 0x2e],
    );
    const value = unpickle(bytes([0x80, 4, 0x95, body.length, 0, 0, 0, 0, 0, 0, 0], [...body]));
    assert.ok(value instanceof PickleDict);
    assert.equal(value.get("a"), 1.5);
    assert.deepEqual((value.get("b") as PickleSet).items, [1, 2]);
    assert.deepEqual((value.get("c") as PickleTuple).items, ["a", -1]);
  });

  it("refuses every global outside torch 1.13's weights_only list by name, and TorchScript classes outside TorchScript", () => {
    for (const [module, name] of [
      ["os", "system"],
      ["builtins", "getattr"],
      ["torch", "load"],
      ["torch._utils", "_rebuild_device_tensor_from_numpy"],
      ["numpy.core.multiarray", "_reconstruct"],
      ["__torch__.torch.nn.modules.linear", "Linear"],
    ]) {
      assert.throws(
        () => unpickle(bytes([0x80, 2, 0x63], `${module}\n${name}\n`, [0x29, 0x52, 0x2e])),
        (e: Error) => e instanceof PickleRefused && e.message.includes(`calls ${module}.${name};`),
      );
    }
    assert.ok(unpickle(bytes([0x80, 2, 0x63], "__torch__.M\nM\n", [0x29, 0x81, 0x2e]), { torchScript: true }));
  });

  it("refuses calling an allowed global that makes no tensor data (sparse rebuilds)", () => {
    assert.throws(
      () => unpickle(bytes([0x80, 2, 0x63], "torch._utils\n_rebuild_sparse_tensor\n", [0x29, 0x52, 0x2e])),
      /calls torch\._utils\._rebuild_sparse_tensor, which Model Soup does not read/,
    );
  });

  it("refuses a bare pickle and a non-zip file named .pt in one line; reads a torch zip as PyTorch", async () => {
    const dir = await mkdtemp(join(tmpdir(), "model-soup-pickle-"));
    try {
      await writeFile(join(dir, "weights.pkl"), bytes([0x80, 2, 0x7d, 0x2e]));
      await writeFile(join(dir, "model.pt"), "not a checkpoint\n");
      for (const [file, pattern] of [
        ["weights.pkl", /is a bare pickle: Model Soup reads PyTorch files only in torch\.save's zip format/],
        ["model.pt", /is not a zip checkpoint: /],
      ] as const) {
        await assert.rejects(detectFormat(join(dir, file)), (e: Error) => {
          assert.ok(e instanceof ModelFileError && pattern.test(e.message) && !e.message.includes("\n"), e.message);
          return true;
        });
      }
      assert.equal((await detectFormat(join("test", "fixtures", "pytorch", "mlp_a.pt"))).id, "pytorch");
      // A safetensors header of 0x280 bytes starts with 0x80 0x02 too: it is safetensors, not a pickle.
      const header = Buffer.from(
        JSON.stringify({ w: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }).padEnd(0x280),
      );
      const length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(header.length));
      await writeFile(join(dir, "soup.safetensors"), Buffer.concat([length, header, Buffer.alloc(4)]));
      assert.equal((await detectFormat(join(dir, "soup.safetensors"))).id, "safetensors");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
