import assert from "node:assert/strict";
import { join } from "node:path";
import { analyzeModels } from "../../src/core/architecture/index.js";
import { buildTree, formatCount, mainDtype } from "../../src/host/tree-nodes.js";

const real = join(import.meta.dirname, "..", "fixtures", "real-models");
const lenet = ["a_examples_rawModel", "b_test_model"].map((d) =>
  join(real, "tensorspace-converter", "tfjs_lenet", d, "mnist.json"),
);
const balance = ["model1", "model2"].map((d) => join(real, "tfjs-examples", "balance_pr447", d, "model.json"));
const missing = join(real, "no-such-model.safetensors");

describe("host/tree-nodes", () => {
  it("puts a compatible pair in a mergeable group, a mismatched pair apart with the reason, and unreadable files last", async () => {
    const analysis = await analyzeModels([...lenet, ...balance, missing]);
    const tree = buildTree(analysis, [real]);
    assert.deepEqual(
      tree.map((g) => [g.label, g.mergeable]),
      [
        ["Conv2D 6-16 → Dense 120-84-10", true],
        ["No compatible partner", false],
        ["Unreadable", false],
      ],
    );
    const [group, alone, unreadable] = tree;
    assert.equal(group!.name, "Conv2D 6-16 → Dense 120-84-10 · TF.js · 2 models", "its name where it stands alone");
    assert.deepEqual(
      group!.children.map((c) => c.path),
      lenet,
    );
    assert.equal(group!.description, "2 × TF.js", "how many and in what format: what the sidebar has room for");
    assert.match(
      group!.tooltip,
      /^2 models of one architecture, Conv2D 6-16 → Dense 120-84-10 \(compatible\), in TF\.js\n/,
    );
    assert.match(group!.tooltip, /\n61,706 parameters each\n/, "the size in the tooltip");
    assert.deepEqual(
      group!.children.map((c) => c.label),
      ["a_examples_rawModel/mnist.json", "b_test_model/mnist.json"],
      "shortest unique path suffixes",
    );
    assert.match(group!.children[0]!.description, /^TF\.js · 61.7K params · float32$/);

    const model1 = alone!.children.find((c) => c.path === balance[0]);
    assert.ok(model1?.problem);
    assert.equal(model1.label, "model1/model.json");
    assert.match(
      model1.description,
      /^the only Dense 2-16-3 model in the workspace · /,
      "what makes it unique first (the sidebar cuts the end), not an arbitrary partner",
    );
    assert.match(model1.tooltip, /Cannot be merged: /);

    assert.equal(unreadable!.children[0]!.path, missing);
    assert.equal(unreadable!.children[0]!.readable, false);
    assert.match(unreadable!.children[0]!.description, /no-such-model\.safetensors/);
  });

  it("formats counts and the main dtype", () => {
    assert.equal(formatCount(6570), "6,570");
    assert.equal(formatCount(61_706), "61.7K");
    assert.equal(formatCount(7_000_000), "7.0M");
    assert.equal(
      mainDtype({
        tensors: [
          { name: "a", shape: [10], dtype: "float16", layer: "" },
          { name: "b", shape: [2], dtype: "int64", layer: "" },
        ],
      }),
      "float16 (+1 more)",
    );
  });
});
