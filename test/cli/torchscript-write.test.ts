/**
 * TorchScript ingredients merged through the CLI are written as TorchScript: `--out soup.pt` and a folder's
 * model.pt run under torch.jit.load, the recipe's hash is the written file's, `apply` reproduces it byte for byte,
 * `inspect` names it TorchScript, and a merge the writer cannot map leaves nothing behind.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./run-cli.js";

const ENGINE = join("test", "fixtures", "pytorch", "engine");
const MLP = [0, 1].map((i) => join(ENGINE, `mlp_ft${i}.ts.pt`));
const SHARED = join("test", "fixtures", "pytorch", "torchscript");

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

function torchPython(): string | undefined {
  for (const python of ["/usr/bin/python3", "python3"])
    if (spawnSync(python, ["-c", "import torch"], { stdio: "ignore", timeout: 60_000 }).status === 0) return python;
  return undefined;
}

/** torch.jit.load's outputs of `model` on seeded inputs of 6 features, as JSON. */
function jitOutputs(python: string, model: string): number[][] {
  const script = [
    "import json, sys, torch",
    "m = torch.jit.load(sys.argv[1]).eval()",
    "torch.manual_seed(0)",
    "with torch.no_grad(): print(json.dumps(m(torch.randn(4, 6)).tolist()))",
  ].join("\n");
  return JSON.parse(execFileSync(python, ["-c", script, model], { encoding: "utf8", timeout: 120_000 })) as number[][];
}

describe("TorchScript ingredients through the CLI: written as TorchScript", function () {
  this.timeout(240_000);
  const python = torchPython();
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), "model-soup-cli-ts-"))));
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it("merge --out soup.pt writes TorchScript; the recipe hashes it; apply reproduces it byte for byte; inspect says TorchScript", async () => {
    const soup = join(dir, "soup.pt");
    const merged = await runCli("merge", ...MLP, "--out", soup);
    assert.equal(merged.code, 0, merged.stderr);
    const recipe = JSON.parse(readFileSync(join(dir, "soup.recipe.json"), "utf8")) as {
      output: { path: string; format: string; files: Record<string, string> };
    };
    assert.equal(recipe.output.path, "soup.pt");
    assert.deepEqual(recipe.output.files, { "soup.pt": sha256(soup) });

    const again = join(dir, "again", "soup.pt");
    const applied = await runCli("apply", join(dir, "soup.recipe.json"), "--out", again);
    assert.equal(applied.code, 0, applied.stderr);
    assert.ok(readFileSync(again).equals(readFileSync(soup)), "apply writes the same bytes");

    const inspected = await runCli("inspect", soup);
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.match(inspected.stdout, /format: TorchScript/);
    const both = await runCli("inspect", MLP[0]!, soup);
    assert.match(both.stdout, /g1: 2 models, compatible/, "grouped with its ingredient");

    if (!python) return console.log("      (no Python with torch: torch.jit.load check skipped)");
    const out = jitOutputs(python, soup);
    const first = jitOutputs(python, MLP[0]!);
    assert.equal(out.length, 4);
    assert.ok(out.flat().every(Number.isFinite));
    assert.notDeepEqual(out, first, "the soup is not its first ingredient");
  });

  it("a folder output holds model.pt as TorchScript; .safetensors stays safetensors", async () => {
    const folder = await runCli("merge", ...MLP, "--out", join(dir, "out") + "/");
    assert.equal(folder.code, 0, folder.stderr);
    assert.deepEqual((await readdir(join(dir, "out"))).sort(), ["model.pt", "model.recipe.json"]);
    const weights = await runCli("merge", ...MLP, "--out", join(dir, "w.safetensors"));
    assert.equal(weights.code, 0, weights.stderr);
    const inspected = await runCli("inspect", join(dir, "out", "model.pt"), join(dir, "w.safetensors"));
    assert.match(inspected.stdout, /format: TorchScript/);
    assert.match(inspected.stdout, /format: safetensors/i);
    if (!python) return console.log("      (no Python with torch: torch.jit.load check skipped)");
    assert.equal(jitOutputs(python, join(dir, "out", "model.pt")).length, 4);
  });

  it("a merge the writer cannot map is refused in one line naming the file, and nothing is written", async () => {
    const run = await runCli(
      "merge",
      join(SHARED, "tied_a.ts.pt"),
      join(SHARED, "untied.ts.pt"),
      "--out",
      join(dir, "soup.pt"),
    );
    assert.equal(run.code, 2, run.stderr);
    const lines = run.stderr.trim().split("\n");
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0]!, /tied_a\.ts\.pt: has tensors "a\.weight" and "b\.weight" sharing storage/);
    assert.deepEqual(await readdir(dir), []);
  });
});
