import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { findWasmDirectory, selectBackend } from "../../src/worker/backend.js";
import { existsSync } from "node:fs";
import { join } from "node:path";

describe("worker/backend", () => {
  /** The backend an earlier test file left active (none when this file runs alone). */
  let previous: string | undefined;
  before(() => {
    previous = tf.getBackend();
  });
  after(async () => {
    if (previous) await tf.setBackend(previous);
  });

  it("finds the wasm binaries in the installed package when none sit next to the program", () => {
    const dir = findWasmDirectory();
    assert.ok(dir !== undefined && existsSync(join(dir, "tfjs-backend-wasm.wasm")), String(dir));
  });

  it("prefers a candidate folder that holds the binaries (the bundled layout: next to dist/worker.cjs)", () => {
    const packaged = findWasmDirectory()!;
    assert.equal(findWasmDirectory(["/nonexistent/dist", packaged]), packaged);
  });

  it("takes tfjs-node when it loads, else falls back to wasm and says why tfjs-node was skipped", async () => {
    // Whether this machine has the optional native package decides which answer is right, not whether the test runs.
    const specifier = "@tensorflow/tfjs-node";
    const native = await import(specifier).then(
      () => true,
      () => false,
    );
    const choice = await selectBackend();
    if (native) {
      assert.deepEqual(choice, { backend: "tfjs-node", skipped: [] });
    } else {
      assert.equal(choice.backend, "wasm");
      assert.equal(tf.getBackend(), "wasm");
      assert.equal(choice.skipped.length, 1);
      assert.equal(choice.skipped[0]?.backend, "tfjs-node");
      assert.match(choice.skipped[0]?.reason ?? "", /tfjs-node/);
    }
    const sum = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0]);
    assert.equal(sum, 11);
  });

  it("selects cpu on request", async () => {
    const choice = await selectBackend("cpu");
    assert.deepEqual(choice, { backend: "cpu", skipped: [] });
    assert.equal(tf.getBackend(), "cpu");
    assert.equal(
      tf.tidy(() => tf.add(tf.scalar(2), tf.scalar(3)).dataSync()[0]),
      5,
    );
  });

  it("selects wasm on request", async () => {
    const choice = await selectBackend("wasm");
    assert.deepEqual(choice, { backend: "wasm", skipped: [] });
    assert.equal(tf.getBackend(), "wasm");
  });
});
