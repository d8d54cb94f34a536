import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./run-cli.js";

const REAL = join("test", "fixtures", "real-models");
const KERAS = join(REAL, "tensorspace-converter", "keras_h5_lenet");
const KERAS_FULL = [
  "keras216_full_keras_model.h5",
  "keras222_full_keras_seq_model.h5",
  "tfkeras216_full_tf_keras_model.h5",
].map((f) => join(KERAS, f));
const TFJS_LENETS = ["a_examples_rawModel", "b_test_model", "c_src_test_sequential_2018-12-02"].map((d) =>
  join(REAL, "tensorspace-converter", "tfjs_lenet", d, "mnist.json"),
);
const BALANCE = ["model1", "model2"].map((d) => join(REAL, "tfjs-examples", "balance_pr447", d, "model.json"));

const cli = runCli;

interface InspectJson {
  compatible: boolean;
  models: {
    path: string;
    format: string;
    parameters: number;
    tensors: { name: string; shape: number[]; dtype: string }[];
    group: string;
    status: string;
  }[];
  groups: {
    id: string;
    models: string[];
    status: string;
    mappings: { model: string; to: string; names: { from: string; to: string }[] }[];
  }[];
  incompatible: { a: string; b: string; reason: string }[];
  unreadable: { path: string; error: string }[];
}

describe("model-soup inspect", () => {
  it("puts the three full Keras 2 LeNets in one group, the tf.keras one compatible by structure with its mapping (text)", async () => {
    const run = await cli("inspect", ...KERAS_FULL);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /format: Keras HDF5 \(\.h5\)\s+parameters: 44,426\s+tensors: 10\s+group: g1/);
    assert.match(run.stdout, /Conv2D_1\/kernel:0\s+\[5, 5, 1, 6\]\s+float32/);
    assert.match(run.stdout, /g1: 3 models, compatible by structure/);
    assert.match(run.stdout, /keras222_full_keras_seq_model\.h5 {2}compatible: same tensor names, shapes and dtypes/);
    assert.match(run.stdout, /tfkeras216_full_tf_keras_model\.h5 {2}compatible by structure/);
    assert.match(run.stdout, /conv_1\/kernel:0\s+-> Conv2D_1\/kernel:0/);
    assert.match(run.stdout, /softmax\/bias:0\s+-> Softmax\/bias:0/);
    assert.match(run.stdout, /Result: all 3 models are mutually compatible/);
    assert.equal(run.stderr, "");
  });

  it("gives the same result as JSON", async () => {
    const run = await cli("inspect", "--json", ...KERAS_FULL);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as InspectJson;
    assert.equal(report.compatible, true);
    assert.deepEqual(
      report.models.map((m) => [m.path, m.format, m.parameters, m.tensors.length, m.group]),
      KERAS_FULL.map((p) => [p, "keras-h5", 44426, 10, "g1"]),
    );
    assert.deepEqual(report.models[0]!.tensors[0], {
      name: "Conv2D_1/kernel:0",
      shape: [5, 5, 1, 6],
      dtype: "float32",
    });
    assert.equal(report.groups.length, 1);
    assert.deepEqual(report.groups[0]!.models, KERAS_FULL);
    assert.equal(report.groups[0]!.status, "compatible-by-structure");
    assert.deepEqual(
      report.models.map((m) => m.status),
      ["compatible", "compatible", "compatible-by-structure"],
    );
    const mapping = report.groups[0]!.mappings;
    assert.equal(mapping.length, 1);
    assert.equal(mapping[0]!.model, KERAS_FULL[2]);
    assert.equal(mapping[0]!.to, KERAS_FULL[0]);
    assert.deepEqual(mapping[0]!.names[0], { from: "conv_1/kernel:0", to: "Conv2D_1/kernel:0" });
    assert.deepEqual(report.incompatible, []);
    assert.deepEqual(report.unreadable, []);
  });

  it("puts the Sequential and the two functional TF.js LeNets in one compatible group", async () => {
    const run = await cli("inspect", "--json", ...TFJS_LENETS);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as InspectJson;
    assert.deepEqual(
      report.groups.map((g) => [g.models.length, g.status]),
      [[3, "compatible"]],
    );
    assert.deepEqual(
      report.models.map((m) => [m.format, m.parameters]),
      TFJS_LENETS.map(() => ["tfjs-layers", 61706]),
    );
  });

  it("reports the balance pair incompatible, naming the differing tensor, and exits 1", async () => {
    const text = await cli("inspect", ...BALANCE);
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, /Incompatible\n {2}model1\/model\.json \(g1\) vs model2\/model\.json \(g2\):/);
    assert.match(
      text.stdout,
      /tensor "dense_Dense2\/kernel" has shape \[16, 3\] in model1\/model\.json but \[16, 2\] in model2\/model\.json/,
    );
    assert.match(text.stdout, /Result: the 2 models fall into 2 incompatible groups/);
    const json = await cli("inspect", "--json", ...BALANCE);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as InspectJson;
    assert.equal(report.compatible, false);
    assert.deepEqual(
      report.incompatible.map((p) => [p.a, p.b]),
      [[BALANCE[0], BALANCE[1]]],
    );
    assert.match(report.incompatible[0]!.reason, /dense_Dense2\/kernel/);
  });

  it("groups a single safetensors file with the sharded set of the same tensors", async () => {
    const dir = join(REAL, "safetensors-jl-fixtures");
    const files = [join(dir, "non_sharded", "model.safetensors"), join(dir, "sharded", "model.safetensors.index.json")];
    const run = await cli("inspect", "--json", ...files);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as InspectJson;
    assert.deepEqual(
      report.groups.map((g) => [g.models, g.status]),
      [[files, "compatible"]],
    );
    assert.deepEqual(
      report.models.map((m) => [m.format, m.tensors.length]),
      [
        ["safetensors", 36],
        ["safetensors", 36],
      ],
    );
  });

  it("puts a Keras .h5 and its TF.js copy in one group, compatible by structure (the converter drops the :0 suffixes)", async () => {
    const copy = join(REAL, "tensorspace-converter", "tfjs_from_keras_lenet", "keras_converted", "model.json");
    const run = await cli("inspect", "--json", KERAS_FULL[0]!, copy);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as InspectJson;
    assert.deepEqual(
      report.models.map((m) => [m.format, m.parameters, m.group]),
      [
        ["keras-h5", 44426, "g1"],
        ["tfjs-layers", 44426, "g1"],
      ],
    );
    assert.equal(report.groups[0]!.status, "compatible-by-structure");
    assert.deepEqual(report.groups[0]!.mappings[0]!.names[0], { from: "Conv2D_1/kernel", to: "Conv2D_1/kernel:0" });
  });

  describe("with files it cannot read", () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "model-soup-inspect-"));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("exits 2 and names the unreadable file on stderr, still reporting the others", async () => {
      const junk = join(dir, "notes.h5");
      await writeFile(junk, "this is not a model");
      const missing = join(dir, "missing.safetensors");
      const run = await cli("inspect", TFJS_LENETS[0]!, junk, missing);
      assert.equal(run.code, 2);
      assert.match(run.stderr, new RegExp(`${junk.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: `));
      assert.match(run.stderr, new RegExp(`${missing.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: `));
      assert.match(run.stdout, /Unreadable/);
      assert.match(run.stdout, /2 files could not be read/);
      const json = await cli("inspect", "--json", junk);
      assert.equal(json.code, 2);
      assert.deepEqual(
        (JSON.parse(json.stdout) as InspectJson).unreadable.map((u) => u.path),
        [junk],
      );
    });
  });

  it("exits 2 with usage on a bad command line, and shows help", async () => {
    const none = await cli("inspect");
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give at least one model file/);
    assert.equal(none.stderr.trim().split("\n").length, 1, none.stderr);
    assert.match(none.stderr, /\(model-soup inspect --help shows the usage\)$/m);
    const unknown = await cli("inspect", "--bogus", TFJS_LENETS[0]!);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /bogus/);
    const help = await cli("--help");
    assert.equal(help.code, 0);
    assert.match(help.stdout, /inspect\s+Show each model's format/);
    const badCommand = await cli("frobnicate");
    assert.equal(badCommand.code, 2);
    assert.match(badCommand.stderr, /unknown command "frobnicate"/);
  });
});
