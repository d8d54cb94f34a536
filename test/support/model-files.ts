/** Helpers the format tests share: read every tensor of a model, hash a file, expect a ModelFileError. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { ModelFileError } from "../../src/core/errors.js";
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
