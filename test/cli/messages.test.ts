/**
 * The CLI's messages for common mistakes, as a subprocess: a bare `model-soup` prints its usage on stderr (exit 2);
 * an option followed by something that reads as an option is the tool's own one-line error, while a negative number
 * after a numeric option is its value; `evaluate` on data without labels names the file and what it looked for.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zipSync } from "fflate";
import { f32, npyBytes } from "../core/data/helpers.js";
import { runCli } from "./run-cli.js";

const MODELS = ["samples/digits/models/ingredient-1", "samples/digits/models/ingredient-2"];

function oneLine(text: string): void {
  assert.equal(text.split("\n").length, 2, `one line, got: ${text}`);
}

describe("model-soup messages: bare command, values that look like options, missing labels", function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-messages-"));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("a bare model-soup prints its usage on stderr and exits 2; --help prints it on stdout and exits 0", async () => {
    const bare = await runCli();
    assert.equal(bare.code, 2);
    assert.equal(bare.stdout, "");
    assert.match(bare.stderr, /^model-soup: no command given\n\nUsage: model-soup <command> \[options\]\n/);
    const help = await runCli("--help");
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: model-soup <command>/);
  });

  it("an option whose value reads as an option is one line saying how to give such a value", async () => {
    const label = await runCli("learn", ...MODELS, "--data", "samples/digits/soup.csv.gz", "--label", "-999");
    assert.equal(label.code, 2);
    oneLine(label.stderr);
    assert.match(
      label.stderr,
      /^model-soup learn: --label expects a value <column\|key\|none>, got "-999", which reads as an option; to give a value starting with "-", write --label=-999 /,
    );
    const out = await runCli("merge", ...MODELS, "--out", "--json");
    assert.equal(out.code, 2);
    oneLine(out.stderr);
    assert.match(out.stderr, /--out expects a value <path>, got "--json", which reads as an option/);
    // node:util's own ambiguity text is never shown, even through the = form's absence.
    assert.doesNotMatch(label.stderr + out.stderr, /ambiguous|Did you forget/);
  });

  it("a negative number after a numeric option is its value (a negative weight negates a task vector)", async () => {
    const negative = await runCli(
      "merge",
      ...MODELS,
      "--weights",
      "-1,2",
      "--out",
      join(dir, "negative", "model.json"),
    );
    assert.equal(negative.code, 0, negative.stderr);
    const range = await runCli("merge", ...MODELS, "--method", "slerp", "--t", "-0.5", "--out", join(dir, "t"));
    assert.equal(range.code, 2);
    oneLine(range.stderr);
    assert.doesNotMatch(range.stderr, /reads as an option/, "the value reached the option's own range check");
  });

  it("PyTorch-only options on TensorFlow.js models are said in the report, not silently dropped", async () => {
    const run = await runCli("evaluate", ...MODELS, "--data", "samples/digits/soup.csv.gz", "--nproc", "2", "--json");
    assert.equal(run.code, 0, run.stderr);
    const { warnings } = JSON.parse(run.stdout) as { warnings: string[] };
    assert.ok(
      warnings.some((w) => /^--nproc applies to PyTorch models only; these TensorFlow\.js models ran on \S+$/.test(w)),
      warnings.join("\n"),
    );
    const plain = await runCli("evaluate", ...MODELS, "--data", "samples/digits/soup.csv.gz", "--json");
    assert.ok(!(JSON.parse(plain.stdout) as { warnings: string[] }).warnings.some((w) => w.includes("PyTorch")));
  });

  it("evaluate on data without labels names the file and the labels file or key it looked for", async () => {
    const x = npyBytes("<f4", [2, 64], f32(Array.from({ length: 128 }, (_, i) => i / 128)));
    const npy = join(dir, "x_test.npy");
    await writeFile(npy, x);
    const alone = await runCli("evaluate", ...MODELS, "--data", npy);
    assert.equal(alone.code, 2);
    oneLine(alone.stderr);
    assert.match(
      alone.stderr,
      /^model-soup evaluate: .*x_test\.npy: no labels file beside it \(looked for y_test\.npy\); evaluation needs labels\n$/,
    );
    const npz = join(dir, "d.npz");
    await writeFile(npz, zipSync({ "x.npy": x }));
    const noKey = await runCli("evaluate", ...MODELS, "--data", npz);
    assert.equal(noKey.code, 2);
    assert.match(
      noKey.stderr,
      /d\.npz: has no array "y" for the labels \(arrays found: "x"\); evaluation needs labels\n$/,
    );
    const folder = join(dir, "pair");
    await mkdir(folder);
    await writeFile(join(folder, "x.npy"), x);
    const half = await runCli("evaluate", ...MODELS, "--data", folder);
    assert.equal(half.code, 2);
    assert.match(half.stderr, /pair: has x\.npy but no labels file y\.npy beside it; evaluation needs labels\n$/);
  });
});
