import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { analyzeManifests, parameterCount } from "../../../src/core/architecture/analyze.js";
import { groupManifests } from "../../../src/core/architecture/grouping.js";
import { shortLabels } from "../../../src/core/architecture/labels.js";
import {
  denseLayer,
  denseSequential,
  denseTensors,
  kerasManifest,
  tensorListManifest,
  tfjsJsonManifest,
} from "./manifests.js";

const REAL = join("test", "fixtures", "real-models");
const fromJson = (...parts: string[]) => {
  const path = join(REAL, ...parts);
  return tfjsJsonManifest(path, readFileSync(path, "utf8"));
};
const lenetA = () => fromJson("tensorspace-converter", "tfjs_lenet", "a_examples_rawModel", "mnist.json");
const lenetB = () => fromJson("tensorspace-converter", "tfjs_lenet", "b_test_model", "mnist.json");
const lenetC = () => fromJson("tensorspace-converter", "tfjs_lenet", "c_src_test_sequential_2018-12-02", "mnist.json");
const balance1 = () => fromJson("tfjs-examples", "balance_pr447", "model1", "model.json");
const balance2 = () => fromJson("tfjs-examples", "balance_pr447", "model2", "model.json");

describe("grouping by fingerprint", () => {
  it("puts the three TF.js LeNets in one compatible group and the balance pair in two groups", () => {
    const manifests = [balance1(), lenetA(), lenetB(), balance2(), lenetC()];
    const { groups, incompatible, placements } = groupManifests(manifests);
    assert.deepEqual(
      groups.map((g) => [g.id, g.models.length, g.status]),
      [
        ["g1", 1, "compatible"],
        ["g2", 3, "compatible"],
        ["g3", 1, "compatible"],
      ],
    );
    assert.deepEqual(groups[1]!.models, [manifests[1]!.path, manifests[2]!.path, manifests[4]!.path]);
    assert.deepEqual(
      placements.map((p) => p.group),
      ["g1", "g2", "g2", "g3", "g2"],
    );
    // Every pair of groups is explained; the balance pair by its differing tensor.
    assert.deepEqual(
      incompatible.map((p) => [p.groupA, p.groupB]),
      [
        ["g1", "g2"],
        ["g1", "g3"],
        ["g2", "g3"],
      ],
    );
    const pair = incompatible.find((p) => p.groupA === "g1" && p.groupB === "g3")!;
    assert.equal(pair.a, manifests[0]!.path);
    assert.equal(pair.b, manifests[3]!.path);
    assert.match(
      pair.reason,
      /tensor "dense_Dense2\/kernel" has shape \[16, 3\] in model1\/model\.json but \[16, 2\] in model2\/model\.json/,
    );
  });

  it("marks a renamed training compatible by structure, with its mapping to the group's first model", () => {
    const layers = (n: [string, string]) => [denseLayer(n[0], 8), denseLayer(n[1], 3, { activation: "softmax" })];
    const tensors = (n: [string, string]) =>
      denseTensors(4, [
        { name: n[0], units: 8 },
        { name: n[1], units: 3 },
      ]);
    const first = kerasManifest(
      "runs/1/model.h5",
      denseSequential(4, layers(["Dense_1", "Dense_2"])),
      tensors(["Dense_1", "Dense_2"]),
    );
    const same = kerasManifest(
      "runs/2/model.h5",
      denseSequential(4, layers(["Dense_1", "Dense_2"])),
      tensors(["Dense_1", "Dense_2"]),
    );
    const renamed = kerasManifest(
      "runs/3/model.h5",
      denseSequential(4, layers(["hidden", "out"])),
      tensors(["hidden", "out"]),
    );
    const { groups } = groupManifests([first, same, renamed]);
    assert.equal(groups.length, 1);
    assert.equal(groups[0]!.status, "compatible-by-structure");
    assert.deepEqual(
      groups[0]!.members.map((m) => m.status),
      ["compatible", "compatible", "compatible-by-structure"],
    );
    assert.deepEqual(groups[0]!.members[2]!.mapping, [
      { from: "hidden/kernel:0", to: "Dense_1/kernel:0" },
      { from: "hidden/bias:0", to: "Dense_1/bias:0" },
      { from: "out/kernel:0", to: "Dense_2/kernel:0" },
      { from: "out/bias:0", to: "Dense_2/bias:0" },
    ]);
  });

  it("lets a file without an architecture join a group whose tensor names it shares", () => {
    const keras = kerasManifest(
      "full.h5",
      denseSequential(4, [denseLayer("d", 2)]),
      denseTensors(4, [{ name: "d", units: 2 }]),
    );
    const weightsOnly = tensorListManifest("weights.h5", denseTensors(4, [{ name: "d", units: 2 }]));
    const other = tensorListManifest("other.safetensors", [{ name: "x", shape: [1] }]);
    const { groups, incompatible } = groupManifests([keras, weightsOnly, other]);
    assert.deepEqual(
      groups.map((g) => g.models),
      [["full.h5", "weights.h5"], ["other.safetensors"]],
    );
    assert.equal(incompatible.length, 1);
    assert.match(incompatible[0]!.reason, /tensor "d\/kernel:0" is in full\.h5 but missing in other\.safetensors/);
  });

  it("explains each group against the largest one when there are too many groups to explain every pair", () => {
    const manifests = Array.from({ length: 30 }, (_, i) =>
      tensorListManifest(`m${i}.safetensors`, [{ name: "w", shape: [i + 1] }]),
    );
    manifests.push(tensorListManifest("m0-copy.safetensors", [{ name: "w", shape: [1] }]));
    const { groups, incompatible } = groupManifests(manifests);
    assert.equal(groups.length, 30);
    assert.equal(incompatible.length, 29);
    assert.ok(incompatible.every((p) => p.groupA === "g1"));
  });
});

describe("analyzeManifests", () => {
  it("gives each model its format, parameter count, group and status, in the order given", () => {
    const analysis = analyzeManifests(
      [lenetA(), balance1(), lenetB()],
      [{ path: "bad.h5", error: "bad.h5: truncated" }],
    );
    assert.deepEqual(
      analysis.models.map((m) => [m.format, m.parameters, m.group, m.status]),
      [
        ["tfjs-layers", 61706, "g1", "compatible"],
        ["tfjs-layers", 99, "g2", "compatible"],
        ["tfjs-layers", 61706, "g1", "compatible"],
      ],
    );
    assert.deepEqual(analysis.unreadable, [{ path: "bad.h5", error: "bad.h5: truncated" }]);
    assert.equal(parameterCount({ tensors: [] }), 0);
  });
});

describe("shortLabels", () => {
  it("keeps just enough of each path to tell them apart", () => {
    assert.deepEqual(shortLabels(["/x/model1/model.json", "/x/model2/model.json", "/y/a.h5"]), [
      "model1/model.json",
      "model2/model.json",
      "a.h5",
    ]);
    assert.deepEqual(shortLabels(["/p/a/m.json", "/q/a/m.json"]), ["p/a/m.json", "q/a/m.json"]);
  });
});
