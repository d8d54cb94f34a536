/**
 * `npm run soak`: the full soak (default 400 jobs in one worker); prints the figures docs/reliability.md quotes
 * and exits 1 when the worker is not flat or an answer differs from a fresh worker's.
 * Options: --jobs N --seed S --json FILE (every sample and figure) --progress.
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { flatness } from "./flat.js";
import { runSoak } from "./harness.js";
import { soakJobs } from "./jobs.js";
import { soakSummary } from "./summary.js";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "400" },
    seed: { type: "string", default: "1" },
    json: { type: "string" },
    progress: { type: "boolean", default: false },
  },
});
const warmUp = soakJobs({ recipe: "", badData: "" }).length;
const run = await runSoak({
  jobs: Number(values.jobs),
  seed: Number(values.seed),
  root: join(tmpdir(), `model-soup-soak-${process.pid}`),
  onJob: (s, done) => {
    if (values.progress || done % 50 === 0)
      process.stdout.write(
        `${done} ${s.name}: RSS ${(s.rssBytes / 2 ** 20).toFixed(1)} MiB, ${s.numTensors} tensors, ${s.fds} fds, ${s.ms.toFixed(0)} ms\n`,
      );
  },
});
const flat = flatness(run.samples, warmUp);
process.stdout.write(`\n${soakSummary(run, flat)}\n`);
if (values.json) writeFileSync(values.json, JSON.stringify({ ...run, flat }, null, 2));
process.exitCode = flat.problems.length || run.mismatches.length || run.unexpected.length ? 1 : 0;
