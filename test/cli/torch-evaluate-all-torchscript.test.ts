/**
 * `evaluate --methods all` on a TorchScript family (scripted by torch.jit.script here, from one seeded MLP and
 * three perturbations of it): RegMean and RegMean++, which need forward hooks a TorchScript module has not, are
 * listed as not run with that reason, and every other method runs as it runs when asked alone; asked for by name,
 * RegMean is refused in one line before any work.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PythonWithTorch } from "../../src/core/python/find-python.js";
import type { EvaluateReport } from "../../src/protocol/worker.js";
import { requireTorch } from "../worker/torch/support.js";
import { runCli } from "./run-cli.js";
import { oneLine, writeData } from "./torch-cli-support.js";

/** Three fine-tunes of one seeded 6-16-3 MLP (rows [6], three classes: writeData's), saved as TorchScript. */
const SCRIPTED_FAMILY = `import sys, torch
torch.manual_seed(0)
base = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
for i in range(3):
    g = torch.Generator().manual_seed(i + 1)
    m = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    m.load_state_dict({k: v + 0.3 * torch.randn(v.shape, generator=g) for k, v in base.state_dict().items()})
    torch.jit.script(m.eval()).save(f"{sys.argv[1]}/scripted{i}.pt")
`;

const REASON = "needs forward hooks; a TorchScript module has none";

describe("model-soup evaluate --methods all on TorchScript models", function () {
  this.timeout(600_000);
  let python: PythonWithTorch;
  let dir: string;
  let models: string[];
  let data: string[];

  before(async function () {
    python = await requireTorch(this);
    dir = await mkdtemp(join(tmpdir(), "model-soup-torch-evaluate-all-"));
    writeData(python.path, dir);
    execFileSync(python.path, ["-c", SCRIPTED_FAMILY, dir]);
    models = [0, 1, 2].map((i) => join(dir, `scripted${i}.pt`));
    data = ["--data", join(dir, "data.npz"), "--label", "y", "--test", join(dir, "held.npz")];
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("lists RegMean and RegMean++ as not run, with why, and runs every other method as it runs alone", async () => {
    const reportFile = join(dir, "all.json");
    const run = await runCli("evaluate", ...models, ...data, "--methods", "all", "--report", reportFile);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^not run: RegMean: ${REASON}$`, "m"));
    assert.match(run.stdout, new RegExp(`^not run: RegMean\\+\\+: ${REASON}$`, "m"));
    assert.match(run.stdout, /^RegMean\s+—\s+—\s+not run \(below\)$/m);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as EvaluateReport;
    assert.match(report.backend, /^PyTorch /);
    assert.deepEqual(
      report.metrics.methods!.map((m) => m.method),
      ["greedy soup", "learned soup", "Fisher merging"],
    );
    assert.deepEqual(report.metrics.notRun, [
      { method: "RegMean", reason: REASON },
      { method: "RegMean++", reason: REASON },
    ]);
    for (const m of report.metrics.methods!)
      assert.ok(Number.isFinite(m.loss) && m.loss > 0 && m.metric > 0, `${m.method}: ${m.loss}, ${m.metric}`);
    // The Fisher row is the one --methods fisher gives alone: leaving RegMean out changed nothing else.
    const alone = await runCli("evaluate", ...models, ...data, "--methods", "fisher", "--json");
    assert.equal(alone.code, 0, alone.stderr);
    const fisher = (JSON.parse(alone.stdout) as EvaluateReport).metrics.methods![0]!;
    const inAll = report.metrics.methods![2]!;
    assert.ok(Math.abs(fisher.loss - inAll.loss) <= 1e-6 * fisher.loss, `${inAll.loss} vs ${fisher.loss}`);
    assert.equal(inAll.metric, fisher.metric);
    assert.equal((JSON.parse(alone.stdout) as EvaluateReport).metrics.notRun, undefined);
  });

  it("--methods regmean (asked by name) on TorchScript is refused in one line naming the file, before any work", async () => {
    for (const methods of ["regmean", "greedy,regmean_plusplus"]) {
      const run = await runCli("evaluate", ...models, ...data, "--methods", methods);
      assert.equal(run.code, 2, run.stderr);
      const name = methods === "regmean" ? "RegMean" : "RegMean\\+\\+";
      assert.match(
        oneLine(run.stderr),
        new RegExp(
          `^model-soup evaluate: \\S*scripted0\\.pt: \\(TorchScript\\): ${name} ${REASON}; save the models' state dicts and give their architecture \\(--architecture\\)`,
        ),
      );
      assert.doesNotMatch(run.stderr, /\n./, "one line");
    }
  });
});
