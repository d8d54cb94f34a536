/**
 * Hugging Face model folders (config.json + model.safetensors) through the real CLI: learn / greedy / evaluate
 * with no --architecture, the soup written as a Hugging Face folder and scored by plain torch
 * (torch_written_score.py with hf_plain_models.py: no transformers, no Model Soup code), inspect, a fixed merge
 * and its recipe with no Python anywhere on PATH, and the one-line refusal when transformers does not import.
 *
 * Real transformers cannot be installed on the machine these tests run on: the working path runs on a test-only
 * stand-in (test/fixtures/huggingface/standin/transformers, put on PYTHONPATH for those commands only) that
 * implements just the documented API the engine calls. It checks Model Soup's glue, not transformers itself.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { openModel } from "../../src/core/formats/registry.js";
import { float32Tensors } from "../support/model-files.js";
import type { PythonWithTorch } from "../../src/core/python/find-python.js";
import type { SoupReport } from "../../src/protocol/worker.js";
import { requireTorch } from "../worker/torch/support.js";
import { runCli, runCliWithEnv } from "./run-cli.js";
import { oneLine, plainTorchScore } from "./torch-cli-support.js";

const HF = join(import.meta.dirname, "../fixtures/huggingface");
const STAND_IN = { PYTHONPATH: join(HF, "standin") };
const PLAIN = `${join(import.meta.dirname, "hf_plain_models.py")}:from_config`;

describe("Hugging Face model folders (config.json) on the PyTorch engine", function () {
  this.timeout(300_000);
  let python: PythonWithTorch;
  let dir: string;
  const at = (...parts: string[]) => join(dir, ...parts);
  const folders = (family: string) => [0, 1, 2].map((k) => at(`${family}${k}`));

  before(async function () {
    python = await requireTorch(this);
    dir = await mkdtemp(join(tmpdir(), "model-soup-hf-"));
    execFileSync(python.path, [join(HF, "make_hf_folders.py"), dir], {
      env: { ...process.env, ...STAND_IN },
      timeout: 120_000,
    });
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The written soup's own score by plain torch, from a fresh model built of the soup's config.json. */
  const plainScore = (folder: string, data: string) =>
    plainTorchScore(python.path, {
      model: join(folder, "model.safetensors"),
      factory: PLAIN,
      config: join(folder, "config.json"),
      data,
    });

  it("learns three text-classifier folders (token ids) with no --architecture; the written folder scores as the report says", async () => {
    const out = at("text-soup");
    const reportFile = at("text-report.json");
    const run = await runCliWithEnv(
      STAND_IN,
      ...["learn", ...folders("text"), "--data", at("text.npz"), "--label", "y", "--test", at("text_held.npz")],
      ...["--out", out, "--report", reportFile, "--python", python.path],
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /backend PyTorch \d+\.\d+[^,]*, cpu, /);
    for (const row of ["text0/model.safetensors", "uniform soup", "learned soup", "greedy soup"])
      assert.match(run.stdout, new RegExp(row), row);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as SoupReport;
    assert.equal(report.output?.model, join(out, "model.safetensors"));
    // The soup is a Hugging Face folder: the first ingredient's config.json, byte for byte, beside the weights.
    assert.equal(await readFile(join(out, "config.json"), "utf8"), await readFile(at("text0", "config.json"), "utf8"));
    const recipe = JSON.parse(await readFile(join(out, "model.recipe.json"), "utf8")) as {
      learning: { architecture: string };
      output: { files: Record<string, string> };
    };
    assert.equal(recipe.learning.architecture, `huggingface:${at("text0")}`);
    assert.deepEqual(Object.keys(recipe.output.files).sort(), ["config.json", "model.safetensors"]);

    const file = plainScore(out, at("text_held.npz"));
    assert.ok(Math.abs(file.loss - report.metrics.merged.loss) <= 1e-4 * file.loss, `${file.loss} vs report`);
    assert.ok(
      Math.abs(report.metrics.merged.metric - file.accuracy) < 1e-6,
      "the accuracy the report prints is the file's",
    );
    assert.match(run.stdout, /Kept: the learned soup/);
    assert.match(run.stdout, new RegExp(`learned soup\\s+\\S+\\s+${(file.accuracy * 100).toFixed(2)}%`));
    // Each ingredient's row is its own folder's score.
    const first = plainScore(at("text0"), at("text_held.npz"));
    assert.ok(Math.abs(first.loss - report.metrics.ingredients[0]!.loss) <= 1e-4 * first.loss);
    assert.ok(Math.abs(report.metrics.ingredients[0]!.metric - first.accuracy) < 1e-6);

    // The recipe reproduces the folder (no Python needed: the coefficients are recorded).
    const again = await runCli("apply", join(out, "model.recipe.json"), "--out", at("text-again"));
    assert.equal(again.code, 0, again.stderr);
    for (const name of ["model.safetensors", "config.json"])
      assert.deepEqual(await readFile(at("text-again", name)), await readFile(join(out, name)), name);
  });

  it("greedy-selects the image-classifier folders (pixel values stay float32) into a folder plain torch scores alike", async () => {
    const out = at("vision-soup");
    const reportFile = at("vision-report.json");
    const run = await runCliWithEnv(
      STAND_IN,
      ...["greedy", ...folders("vision"), "--data", at("vision.npz"), "--label", "y", "--test", at("vision_held.npz")],
      ...["--out", out, "--report", reportFile, "--python", python.path],
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(await readFile(reportFile, "utf8")) as SoupReport;
    assert.ok(existsSync(join(out, "config.json")));
    const file = plainScore(out, at("vision_held.npz"));
    assert.ok(Math.abs(file.loss - report.metrics.merged.loss) <= 1e-4 * file.loss, `${file.loss} vs report`);
    assert.ok(Math.abs(report.metrics.merged.metric - file.accuracy) < 1e-6);
  });

  it("evaluate scores each folder as plain torch does, and refuses token ids that are not whole numbers in one line", async () => {
    const run = await runCliWithEnv(
      STAND_IN,
      ...["evaluate", ...folders("text"), "--data", at("text.npz"), "--label", "y", "--test", at("text_held.npz")],
      ...["--python", python.path, "--json"],
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { metrics: { ingredients: { loss: number; metric: number }[] } };
    for (const k of [0, 1, 2]) {
      const own = plainScore(at(`text${k}`), at("text_held.npz"));
      assert.ok(Math.abs(own.loss - report.metrics.ingredients[k]!.loss) <= 1e-4 * own.loss, `text${k}`);
    }

    const halves = at("halves.npz");
    execFileSync(python.path, [
      "-c",
      "import sys, numpy as np; d = np.load(sys.argv[1]); np.savez(sys.argv[2], x=d['x'] + 0.5, y=d['y'])",
      at("text.npz"),
      halves,
    ]);
    const bad = await runCliWithEnv(
      STAND_IN,
      ...["evaluate", ...folders("text"), "--data", halves, "--label", "y", "--python", python.path],
    );
    assert.notEqual(bad.code, 0);
    assert.match(
      oneLine(bad.stderr),
      /takes token ids \(its main_input_name is input_ids\).*expected whole numbers from 0 to 14/,
    );
  });

  it("--architecture huggingface:<folder> builds bare safetensors (no config.json beside them) from that folder's config", async () => {
    const bare = at("bare");
    await mkdir(bare);
    for (const k of [0, 1]) await copyFile(at(`text${k}`, "model.safetensors"), join(bare, `t${k}.safetensors`));
    const run = await runCliWithEnv(
      STAND_IN,
      ...["evaluate", bare, "--architecture", `huggingface:${at("text0")}`, "--data", at("text.npz"), "--label", "y"],
      ...["--test", at("text_held.npz"), "--python", python.path, "--json"],
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { metrics: { ingredients: { loss: number }[] } };
    const own = plainScore(at("text1"), at("text_held.npz"));
    assert.ok(Math.abs(own.loss - report.metrics.ingredients[1]!.loss) <= 1e-4 * own.loss);
  });

  it("a tied weight the checkpoint holds once (as save_pretrained writes it) loads; an untied missing one is refused", async () => {
    const config = JSON.parse(await readFile(at("text0", "config.json"), "utf8")) as Record<string, unknown>;
    for (const [name, tie] of [
      ["tied", true],
      ["untied", false],
    ] as const)
      for (const k of [0, 1]) {
        await mkdir(at(`${name}${k}`));
        await copyFile(at(`text${k}`, "model.safetensors"), at(`${name}${k}`, "model.safetensors"));
        const own = { ...config, decoder: true, tie_word_embeddings: tie };
        await writeFile(at(`${name}${k}`, "config.json"), JSON.stringify(own));
      }
    const args = ["--data", at("text.npz"), "--label", "y", "--test", at("text_held.npz"), "--python", python.path];
    const tied = await runCliWithEnv(STAND_IN, "evaluate", at("tied0"), at("tied1"), ...args, "--json");
    assert.equal(tied.code, 0, tied.stderr);
    const report = JSON.parse(tied.stdout) as { metrics: { ingredients: { loss: number }[] } };
    const own = plainScore(at("text0"), at("text_held.npz"));
    assert.ok(Math.abs(own.loss - report.metrics.ingredients[0]!.loss) <= 1e-4 * own.loss);
    const untied = await runCliWithEnv(STAND_IN, "evaluate", at("untied0"), at("untied1"), ...args);
    assert.notEqual(untied.code, 0);
    assert.match(oneLine(untied.stderr), /untied0\/model\.safetensors has no tensor decoder\.weight that huggingface:/);
  });

  it("an old checkpoint's position_ids buffer (listed by _keys_to_ignore_on_load_unexpected) is left unused, and copied into the soup", async () => {
    const script = [
      "import json, struct, sys",
      "src, dst = sys.argv[1], sys.argv[2]",
      "f = open(src, 'rb'); n = struct.unpack('<Q', f.read(8))[0]; h = json.loads(f.read(n)); body = f.read()",
      "ids = struct.pack('<6q', *range(6)); h['embeddings.position_ids'] = {'dtype': 'I64', 'shape': [1, 6], 'data_offsets': [len(body), len(body) + len(ids)]}",
      "t = json.dumps(h).encode(); t += b' ' * (-len(t) % 8)",
      "open(dst, 'wb').write(struct.pack('<Q', len(t)) + t + body + ids)",
    ].join("\n");
    for (const k of [0, 1]) {
      await mkdir(at(`old${k}`));
      await copyFile(at(`text${k}`, "config.json"), at(`old${k}`, "config.json"));
      execFileSync(python.path, [
        "-c",
        script,
        at(`text${k}`, "model.safetensors"),
        at(`old${k}`, "model.safetensors"),
      ]);
    }
    const out = at("old-soup");
    const run = await runCliWithEnv(
      STAND_IN,
      ...["greedy", at("old0"), at("old1"), "--data", at("text.npz"), "--label", "y", "--test", at("text_held.npz")],
      ...["--out", out, "--python", python.path, "--json"],
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as SoupReport;
    const own = plainScore(at("text0"), at("text_held.npz"));
    assert.ok(Math.abs(own.loss - report.metrics.ingredients[0]!.loss) <= 1e-4 * own.loss);
    const written = await openModel(join(out, "model.safetensors"));
    try {
      const ids = await written.readTensor("embeddings.position_ids");
      assert.deepEqual(Array.from(ids.data as BigInt64Array, Number), [0, 1, 2, 3, 4, 5]);
    } finally {
      await written.close();
    }
  });

  it("without transformers in the interpreter: one line naming the folder, the interpreter and pip install transformers; nothing written", async () => {
    const out = at("refused-soup");
    const run = await runCli(
      ...["learn", ...folders("text"), "--data", at("text.npz"), "--label", "y", "--out", out],
      ...["--python", python.path],
    );
    assert.notEqual(run.code, 0);
    const line = oneLine(run.stderr);
    assert.ok(line.includes(`${at("text0")} is a Hugging Face model folder (config.json)`), line);
    assert.ok(line.includes(`${python.path} cannot import`), line);
    assert.match(line, /pip install transformers/);
    assert.equal(existsSync(out), false, "nothing is written");
  });

  it("inspect names the folder's config and model class", async () => {
    const run = await runCli("inspect", at("text0"));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /text0\/model\.safetensors\n {2}format: safetensors/);
    assert.ok(
      run.stdout.includes(`Hugging Face folder: ${at("text0", "config.json")} (TinyTextForSequenceClassification)`),
      run.stdout,
    );
  });

  it("a fixed merge of the folders needs no Python (none on PATH, no --python): the mean weights and the config.json", async () => {
    // PATH holds only node: nothing named python3/python can be found there.
    const bin = at("node-only");
    await mkdir(bin);
    await symlink(process.execPath, join(bin, "node"));
    const out = at("fixed-soup");
    const env = { PATH: bin, PYTHONPATH: "" };
    const run = await runCliWithEnv(env, "merge", ...folders("text"), "--out", out);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await readFile(join(out, "config.json"), "utf8"), await readFile(at("text0", "config.json"), "utf8"));
    const merged = await float32Tensors(join(out, "model.safetensors"));
    const inputs = await Promise.all(folders("text").map((f) => float32Tensors(join(f, "model.safetensors"))));
    assert.deepEqual([...merged.keys()].sort(), ["classifier.bias", "classifier.weight", "embeddings.weight"]);
    for (const [name, values] of merged)
      values.forEach((v, i) => {
        const mean = (inputs[0]!.get(name)![i]! + inputs[1]!.get(name)![i]! + inputs[2]!.get(name)![i]!) / 3;
        assert.ok(Math.abs(v - mean) < 1e-6, `${name}[${i}]`);
      });
    const again = await runCliWithEnv(env, "apply", join(out, "model.recipe.json"), "--out", at("fixed-again"));
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      await readFile(at("fixed-again", "model.safetensors")),
      await readFile(join(out, "model.safetensors")),
    );
    assert.ok(existsSync(at("fixed-again", "config.json")));
    // Written beside its ingredients' shared config.json: that input is left as it is, and is one of the soup's files.
    const flat = at("flat");
    await mkdir(flat);
    await copyFile(at("text0", "config.json"), join(flat, "config.json"));
    for (const k of [0, 1]) await copyFile(at(`text${k}`, "model.safetensors"), join(flat, `t${k}.safetensors`));
    const config = await readFile(join(flat, "config.json"));
    const beside = await runCliWithEnv(env, "merge", flat, "--out", join(flat, "model.safetensors"));
    assert.equal(beside.code, 0, beside.stderr);
    assert.deepEqual(await readFile(join(flat, "config.json")), config);
    const files = (JSON.parse(await readFile(join(flat, "model.recipe.json"), "utf8")) as { output: { files: object } })
      .output.files;
    assert.deepEqual(Object.keys(files).sort(), ["config.json", "model.safetensors"]);
    // A named file output is the weights alone.
    const single = await runCliWithEnv(env, "merge", ...folders("text"), "--out", at("weights.safetensors"));
    assert.equal(single.code, 0, single.stderr);
    assert.equal(existsSync(join(dirname(at("weights.safetensors")), "config.json")), false);
  });
});
