import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flatness, leastSquaresSlope } from "./flat.js";
import { runSoak } from "./harness.js";
import { soakJobs } from "./jobs.js";
import { soakSummary } from "./summary.js";

describe("soak: one worker serving many mixed jobs (short form of npm run soak)", function () {
  this.timeout(300_000);

  it("stays flat (tensors, open files, RSS) and answers every job as a fresh worker does", async () => {
    const catalogue = soakJobs({ recipe: "", badData: "" }).length;
    // Two rounds: the first is the warm-up, the second is measured.
    const run = await runSoak({ jobs: 2 * catalogue, root: join(tmpdir(), `model-soup-soak-test-${process.pid}`) });
    const flat = flatness(run.samples, catalogue);
    const summary = soakSummary(run, flat);
    assert.deepEqual(flat.problems, [], summary);
    assert.deepEqual(run.mismatches, [], summary);
    assert.deepEqual(run.unexpected, [], summary);
    assert.equal(run.distinctJobs, catalogue);
    for (const kind of [
      "learn",
      "evaluate",
      "greedy",
      "align",
      "dataMerge",
      "compare",
      "merge",
      "apply",
      "cancelled",
      "failing",
    ])
      assert.ok(run.jobsPerKind[kind]! >= 2, `${kind} jobs: ${run.jobsPerKind[kind]}`);
  });

  it("flatness catches a leak: one tensor left per job, one file left open, memory that climbs", () => {
    const steady = Array.from({ length: 260 }, (_, i) => ({
      rssBytes: (200 + (i % 3)) * 2 ** 20,
      heapUsedBytes: 40 * 2 ** 20,
      numTensors: 4,
      fds: 20,
    }));
    assert.deepEqual(flatness(steady, 20).problems, []);
    const tensorLeak = steady.map((s, i) => ({ ...s, numTensors: 4 + Math.max(0, i - 40) }));
    assert.match(flatness(tensorLeak, 20).problems.join(), /tensors: 5 after job 42, 4 at warm-up/);
    const fdLeak = steady.map((s, i) => (i === 50 ? { ...s, fds: 21 } : s));
    assert.match(flatness(fdLeak, 20).problems.join(), /open files: 21 after job 51/);
    // 12 MiB per 100 jobs: over 240 jobs a slope failure, and the growth limit too.
    const rssLeak = steady.map((s, i) => ({ ...s, rssBytes: s.rssBytes + i * 0.12 * 2 ** 20 }));
    assert.match(flatness(rssLeak, 20).problems.join(), /RSS grows 12\.\d MiB per 100 jobs/);
    assert.match(flatness(rssLeak, 20).problems.join(), /RSS .* MiB at the end/);
    // 20 KiB per job of heap: 2 MiB per 100 jobs; over 40 jobs measured only the growth limit applies.
    const heapLeak = steady.map((s, i) => ({ ...s, heapUsedBytes: s.heapUsedBytes + i * 20 * 1024 }));
    assert.match(flatness(heapLeak, 20).problems.join(), /heap grows 2\.0 MiB per 100 jobs/);
    assert.deepEqual(flatness(heapLeak.slice(0, 60), 20).problems, []);
    assert.equal(leastSquaresSlope([1, 3, 5, 7]), 2);
  });
});
