import assert from "node:assert/strict";
import { analyzeManifests } from "../../../src/core/architecture/analyze.js";
import { mergeableGroups, mergeVerdict, statusText, verdictSentence } from "../../../src/core/architecture/verdict.js";
import { denseLayer, denseSequential, denseTensors, kerasManifest, tensorListManifest } from "./manifests.js";

const dense = (path: string, names: [string, string]) =>
  kerasManifest(
    path,
    denseSequential(4, [denseLayer(names[0], 8), denseLayer(names[1], 3, { activation: "softmax" })]),
    denseTensors(4, [
      { name: names[0], units: 8 },
      { name: names[1], units: 3 },
    ]),
  );
const a = () => dense("runs/1/model.h5", ["Dense_1", "Dense_2"]);
const b = () => dense("runs/2/model.h5", ["Dense_1", "Dense_2"]);
const renamed = () => dense("runs/3/model.h5", ["hidden", "out"]);
const other = () => tensorListManifest("other/w.safetensors", [{ name: "x", shape: [1] }]);

describe("mergeVerdict", () => {
  it("merges models with the same tensor names by name", () => {
    const verdict = mergeVerdict(analyzeManifests([a(), b()]));
    assert.deepEqual(verdict, {
      mergeable: true,
      architectures: "one",
      how: "compatible",
      models: 2,
      groups: 1,
      unreadable: [],
    });
    assert.equal(verdictSentence(verdict), "All ingredients share one architecture with the same tensor names.");
  });

  it("merges a renamed training by structure", () => {
    const verdict = mergeVerdict(analyzeManifests([a(), renamed()]));
    assert.equal(verdict.mergeable, true);
    assert.equal(verdict.how, "compatible-by-structure");
    assert.match(verdictSentence(verdict), /matched by structure/);
  });

  it("refuses models of two architectures, naming the first differing pair by the label given", () => {
    const verdict = mergeVerdict(analyzeManifests([a(), b(), other()]));
    assert.equal(verdict.mergeable, false);
    assert.equal(verdict.architectures, "several");
    assert.equal(verdict.groups, 2);
    assert.equal(verdict.pair?.a, "runs/1/model.h5");
    assert.match(
      verdictSentence(verdict),
      /^These models do not share one architecture: model\.h5 vs w\.safetensors: tensor /,
    );
    assert.match(
      verdictSentence(verdict, (p) => p.toUpperCase()),
      /: RUNS\/1\/MODEL\.H5 vs OTHER\/W\.SAFETENSORS: /,
    );
  });

  it("refuses a set with an unreadable file even when the readable ones agree, naming the file", () => {
    const verdict = mergeVerdict(analyzeManifests([a(), b()], [{ path: "bad.h5", error: "bad.h5: truncated" }]));
    assert.equal(verdict.mergeable, false);
    assert.equal(verdict.architectures, "one");
    assert.equal(verdictSentence(verdict), "Cannot read: bad.h5: truncated");
  });

  it("refuses a single model and an empty set", () => {
    const one = mergeVerdict(analyzeManifests([a()]));
    assert.equal(one.mergeable, false);
    assert.equal(one.architectures, "one");
    assert.equal(verdictSentence(one), "Choose at least 2 models of one architecture to merge.");
    const none = mergeVerdict(analyzeManifests([]));
    assert.deepEqual([none.mergeable, none.architectures], [false, "none"]);
  });
});

describe("mergeableGroups and statusText", () => {
  it("keeps the groups of two or more models, and words a status", () => {
    const analysis = analyzeManifests([a(), other(), renamed()]);
    assert.deepEqual(
      mergeableGroups(analysis).map((g) => g.models),
      [["runs/1/model.h5", "runs/3/model.h5"]],
    );
    assert.equal(statusText("compatible-by-structure"), "compatible by structure");
    assert.equal(statusText("compatible"), "compatible");
  });
});
