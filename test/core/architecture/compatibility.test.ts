import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compareManifests, nameMapping } from "../../../src/core/architecture/compatibility.js";
import { UsageError } from "../../../src/core/errors.js";
import {
  denseLayer,
  denseSequential,
  denseTensors,
  kerasManifest,
  tensorListManifest,
  tfjsJsonManifest,
} from "./manifests.js";

const BALANCE = join("test", "fixtures", "real-models", "tfjs-examples", "balance_pr447");
const balance = (model: string) => {
  const path = join(BALANCE, model, "model.json");
  return tfjsJsonManifest(path, readFileSync(path, "utf8"));
};

/** The LeNet of the Keras 2 fixtures (Reshape-Conv-Pool-Conv-Pool-Flatten-Dense x3) under the given names. */
function lenet(
  path: string,
  names: { conv: [string, string]; dense: [string, string, string] },
  config: { activation?: string } = {},
) {
  const conv = (name: string, filters: number) => ({
    class_name: "Conv2D",
    config: {
      name,
      filters,
      kernel_size: [5, 5],
      strides: [1, 1],
      padding: "valid",
      activation: "linear",
      use_bias: true,
    },
  });
  const pool = (name: string) => ({
    class_name: "MaxPooling2D",
    config: { name, pool_size: [2, 2], strides: [2, 2], padding: "valid" },
  });
  const modelConfig = {
    class_name: "Sequential",
    config: [
      {
        class_name: "Reshape",
        config: { name: "reshape", batch_input_shape: [null, 28, 28], dtype: "float32", target_shape: [28, 28, 1] },
      },
      conv(names.conv[0], 6),
      pool("pool_1"),
      conv(names.conv[1], 16),
      pool("pool_2"),
      { class_name: "Flatten", config: { name: "flatten" } },
      denseLayer(names.dense[0], 120, config.activation ? { activation: config.activation } : {}),
      denseLayer(names.dense[1], 84),
      denseLayer(names.dense[2], 10, { activation: "softmax" }),
    ],
  };
  const tensors = [
    { name: `${names.conv[0]}/kernel:0`, shape: [5, 5, 1, 6] },
    { name: `${names.conv[0]}/bias:0`, shape: [6] },
    { name: `${names.conv[1]}/kernel:0`, shape: [5, 5, 6, 16] },
    { name: `${names.conv[1]}/bias:0`, shape: [16] },
    ...denseTensors(256, [
      { name: names.dense[0], units: 120 },
      { name: names.dense[1], units: 84 },
      { name: names.dense[2], units: 10 },
    ]),
  ];
  return kerasManifest(path, modelConfig, tensors);
}

const KERAS_NAMES = { conv: ["Conv2D_1", "Conv2D_2"], dense: ["Dense_1", "Dense_2", "Softmax"] } as const;
const TF_KERAS_NAMES = { conv: ["conv_1", "conv_2"], dense: ["dense_1", "dense_2", "softmax"] } as const;
const keras = (path: string, config = {}) =>
  lenet(path, { conv: [...KERAS_NAMES.conv], dense: [...KERAS_NAMES.dense] }, config);
const tfKeras = (path: string) => lenet(path, { conv: [...TF_KERAS_NAMES.conv], dense: [...TF_KERAS_NAMES.dense] });

describe("compatibility of two models", () => {
  it("finds models with the same tensor names, shapes and dtypes compatible", () => {
    assert.deepEqual(compareManifests(keras("a.h5"), keras("b.h5")), { status: "compatible" });
  });

  it("matches by topology when only the names differ, and gives the name mapping", () => {
    const result = compareManifests(tfKeras("tf.h5"), keras("k.h5"));
    assert.equal(result.status, "compatible-by-structure");
    if (result.status !== "compatible-by-structure") return;
    assert.equal(result.mapping.length, 10);
    assert.deepEqual(result.mapping[0], { from: "conv_1/kernel:0", to: "Conv2D_1/kernel:0" });
    assert.deepEqual(result.mapping[9], { from: "softmax/bias:0", to: "Softmax/bias:0" });
  });

  it("names the differing tensor and layer of the real balance pair (Dense 2-16-3 vs 2-16-2)", () => {
    const result = compareManifests(balance("model1"), balance("model2"), { a: "model1", b: "model2" });
    assert.equal(result.status, "incompatible");
    if (result.status !== "incompatible") return;
    assert.equal(result.difference.kind, "tensor-shape");
    assert.equal(result.difference.tensor, "dense_Dense2/kernel");
    assert.match(result.reason, /tensor "dense_Dense2\/kernel" has shape \[16, 3\] in model1 but \[16, 2\] in model2/);
    assert.match(result.reason, /units = 3 in model1 but 2 in model2/);
  });

  it("says which file lacks a tensor", () => {
    const a = tensorListManifest("a.safetensors", [
      { name: "w", shape: [2] },
      { name: "b", shape: [2] },
    ]);
    const b = tensorListManifest("b.safetensors", [{ name: "w", shape: [2] }]);
    const ab = compareManifests(a, b, { a: "A", b: "B" });
    const ba = compareManifests(b, a, { a: "B", b: "A" });
    assert.equal(ab.status, "incompatible");
    assert.equal(ba.status, "incompatible");
    if (ab.status !== "incompatible" || ba.status !== "incompatible") return;
    assert.match(ab.reason, /^tensor "b" is in A but missing in B/);
    assert.match(ba.reason, /^tensor "b" is in A but missing in B/);
    assert.equal(ab.difference.missingIn, "b");
    assert.equal(ba.difference.missingIn, "a");
    assert.match(ab.reason, /no architecture, so tensors can only be matched by name/);
  });

  it("reports a dtype difference", () => {
    const a = tensorListManifest("a.safetensors", [{ name: "w", shape: [2] }]);
    const b = tensorListManifest("b.safetensors", [{ name: "w", shape: [2], dtype: "bfloat16" }]);
    const result = compareManifests(a, b, { a: "A", b: "B" });
    assert.equal(result.status, "incompatible");
    if (result.status === "incompatible") assert.match(result.reason, /tensor "w" is float32 in A but bfloat16 in B/);
  });

  it("refuses same-shaped models whose layers compute something else, naming the layer", () => {
    const result = compareManifests(keras("relu.h5"), keras("tanh.h5", { activation: "tanh" }), {
      a: "relu.h5",
      b: "tanh.h5",
    });
    assert.equal(result.status, "incompatible");
    if (result.status !== "incompatible") return;
    assert.equal(result.difference.kind, "layer-config");
    assert.equal(result.difference.layer, "Dense_1");
    assert.match(
      result.reason,
      /layer 7 \(Dense "Dense_1"\) has activation = "relu" in relu\.h5 but "tanh" in tanh\.h5/,
    );
  });

  it("compares by position and says so when names differ and the structures do too", () => {
    const short = denseSequential(4, [denseLayer("a1", 8), denseLayer("a2", 2)]);
    const long = denseSequential(4, [denseLayer("b1", 8), denseLayer("b2", 2), denseLayer("b3", 2)]);
    const result = compareManifests(
      kerasManifest(
        "short.h5",
        short,
        denseTensors(4, [
          { name: "a1", units: 8 },
          { name: "a2", units: 2 },
        ]),
      ),
      kerasManifest(
        "long.h5",
        long,
        denseTensors(4, [
          { name: "b1", units: 8 },
          { name: "b2", units: 2 },
          { name: "b3", units: 2 },
        ]),
      ),
      { a: "short.h5", b: "long.h5" },
    );
    assert.equal(result.status, "incompatible");
    if (result.status !== "incompatible") return;
    assert.equal(result.difference.kind, "layer-count");
    assert.match(
      result.reason,
      /short\.h5 has 2 layers but long\.h5 has 3: layer 3 \(Dense "b3"\) of long\.h5 has no counterpart in short\.h5/,
    );
    assert.match(result.reason, /compared by position/);
  });

  it("names the tensor whose shape differs when names differ", () => {
    const a = kerasManifest(
      "a.h5",
      denseSequential(4, [denseLayer("x", 8)]),
      denseTensors(4, [{ name: "x", units: 8 }]),
    );
    const b = kerasManifest(
      "b.h5",
      denseSequential(5, [denseLayer("y", 8)]),
      denseTensors(5, [{ name: "y", units: 8 }]),
    );
    const result = compareManifests(a, b, { a: "a.h5", b: "b.h5" });
    assert.equal(result.status, "incompatible");
    // The declared input differs first; that is the reason given.
    if (result.status === "incompatible")
      assert.match(result.reason, /input 1 has shape \[batch, 4\] in a\.h5 but \[batch, 5\] in b\.h5/);
  });
});

describe("nameMapping", () => {
  it("maps each tensor to itself for compatible models", () => {
    const mapping = nameMapping(keras("a.h5"), keras("b.h5"));
    assert.equal(mapping.size, 10);
    for (const [from, to] of mapping) assert.equal(from, to);
  });

  it("maps by topology for models compatible by structure, in both directions", () => {
    assert.equal(nameMapping(tfKeras("tf.h5"), keras("k.h5")).get("dense_2/kernel:0"), "Dense_2/kernel:0");
    assert.equal(nameMapping(keras("k.h5"), tfKeras("tf.h5")).get("Dense_2/kernel:0"), "dense_2/kernel:0");
  });

  it("refuses incompatible models with the reason", () => {
    assert.throws(
      () => nameMapping(balance("model1"), balance("model2")),
      (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, /cannot be merged: tensor "dense_Dense2\/kernel" has shape \[16, 3\]/);
        return true;
      },
    );
  });
});
