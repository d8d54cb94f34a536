import assert from "node:assert/strict";
import { validateFromViewer } from "../../src/protocol/viewer.js";

describe("protocol/viewer validateFromViewer", () => {
  it("accepts the viewer's messages", () => {
    for (const message of [
      { type: "ready" },
      { type: "mergeWith" },
      { type: "computeStats" },
      { type: "computeStats", tensors: ["a", "b"] },
    ]) {
      assert.deepEqual(validateFromViewer(message), message);
    }
  });
  it("refuses anything else", () => {
    for (const message of [
      null,
      { type: "run" },
      { type: "computeStats", tensors: [1] },
      { type: "computeStats", tensors: "a" },
      { type: "ready", extra: 1 },
    ]) {
      assert.ok(validateFromViewer(message) instanceof Error, JSON.stringify(message));
    }
    assert.equal(
      (validateFromViewer({ type: "computeStats", tensors: [1] }) as Error).message,
      'invalid "computeStats" viewer message: message.tensors[0] must be a list of tensor names',
    );
  });
});
