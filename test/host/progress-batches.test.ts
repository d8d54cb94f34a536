import assert from "node:assert/strict";
import { ProgressBatches } from "../../src/host/progress-batches.js";
import type { ProgressParams } from "../../src/protocol/worker.js";

const step = (n: number): ProgressParams => ({ phase: "learning", step: n, totalSteps: 100, trainLoss: 1 / n });
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("progress batches (what the panel is sent)", () => {
  it("hands on everything that arrived within the interval as one batch, in order", async () => {
    const sent: number[][] = [];
    const batches = new ProgressBatches((items) => sent.push(items.map((p) => p.step)), 40);
    for (let n = 1; n <= 5; n++) batches.push(step(n));
    assert.deepEqual(sent, [], "nothing before the interval ends");
    await wait(80);
    assert.deepEqual(sent, [[1, 2, 3, 4, 5]]);
    batches.push(step(6));
    batches.push(step(7));
    await wait(80);
    assert.deepEqual(sent, [
      [1, 2, 3, 4, 5],
      [6, 7],
    ]);
  });

  it("flush hands on what waits at once (before a result that must follow it), and nothing when empty", async () => {
    const sent: number[][] = [];
    const batches = new ProgressBatches((items) => sent.push(items.map((p) => p.step)), 40);
    batches.flush();
    assert.deepEqual(sent, []);
    batches.push(step(1));
    batches.push(step(2));
    batches.flush();
    assert.deepEqual(sent, [[1, 2]]);
    await wait(80);
    assert.deepEqual(sent, [[1, 2]], "the timer of the flushed batch sends nothing more");
  });

  it("drops what waits when disposed", async () => {
    const sent: number[][] = [];
    const batches = new ProgressBatches((items) => sent.push(items.map((p) => p.step)), 20);
    batches.push(step(1));
    batches.dispose();
    await wait(50);
    assert.deepEqual(sent, []);
  });
});
