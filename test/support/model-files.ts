/** Helpers the tests share: read every tensor of a model, hash a file, expect a ModelFileError. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { ModelFileError } from "../../src/core/errors.js";
import { openModel } from "../../src/core/formats/registry.js";
import type { ModelFormat, Tensor } from "../../src/core/model.js";

export async function readAllTensors(path: string, format: ModelFormat): Promise<Map<string, Tensor>> {
  const model = await format.open(path);
  try {
    const out = new Map<string, Tensor>();
    for (const t of model.manifest.tensors) out.set(t.name, await model.readTensor(t.name));
    return out;
  } finally {
    await model.close();
  }
}

/** Every tensor of the model file at `path` (any format), as float32 values. */
export async function float32Tensors(path: string): Promise<Map<string, Float32Array>> {
  const model = await openModel(path);
  try {
    const out = new Map<string, Float32Array>();
    for (const t of model.manifest.tensors)
      out.set(t.name, (await model.readTensor(t.name, { float32: true })).data as Float32Array);
    return out;
  } finally {
    await model.close();
  }
}

export async function sha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

/** Rejects with a ModelFileError naming `file` whose message matches `pattern`. */
export async function rejectsWith(promise: Promise<unknown>, file: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ModelFileError, `expected a ModelFileError, got ${String(error)}`);
    assert.equal(error.file, file);
    assert.match(error.message, pattern);
    return true;
  });
}
