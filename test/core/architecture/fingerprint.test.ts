import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fingerprint, fingerprintModel } from "../../../src/core/architecture/fingerprint.js";
import {
  denseLayer,
  denseSequential,
  denseTensors,
  kerasManifest,
  tensorListManifest,
  tfjsJsonManifest,
} from "./manifests.js";

const LENETS = join("test", "fixtures", "real-models", "tensorspace-converter", "tfjs_lenet");
const lenet = (dir: string) => {
  const path = join(LENETS, dir, "mnist.json");
  return tfjsJsonManifest(path, readFileSync(path, "utf8"));
};

describe("architecture fingerprint", () => {
  it("is the same for the Sequential TF.js LeNet and the functional ones of the same layer graph", () => {
    const a = fingerprintModel(lenet("a_examples_rawModel"));
    const b = fingerprintModel(lenet("b_test_model"));
    const c = fingerprintModel(lenet("c_src_test_sequential_2018-12-02"));
    assert.equal(a.manifest.architecture!.modelClass, "Sequential");
    assert.equal(b.manifest.architecture!.modelClass, "Model");
    assert.equal(a.fingerprint.key, b.fingerprint.key);
    assert.equal(b.fingerprint.key, c.fingerprint.key);
    assert.equal(a.fingerprint.kind, "architecture");
    if (a.fingerprint.kind !== "architecture") return;
    // One input node (the InputLayer of b and c, the first layer's batch_input_shape of a), then 9 layers in a chain.
    assert.deepEqual(a.fingerprint.inputs, [{ shape: [null, 28, 28, 1], dtype: "float32" }]);
    assert.deepEqual(
      a.fingerprint.layers.map((l) => l.inbound),
      [[0], [1], [2], [3], [4], [5], [6], [7], [8]],
    );
    assert.deepEqual(a.fingerprint.layers[1]!.weights, [
      { shape: [5, 5, 1, 6], dtype: "float32" },
      { shape: [6], dtype: "float32" },
    ]);
    assert.deepEqual(
      a.order.slice(0, 2).map((p) => p.name),
      ["myConv1/kernel", "myConv1/bias"],
    );
  });

  it("ignores names, trainable flags, seeds, initializers, regularizers and constraints", () => {
    const one = denseSequential(4, [denseLayer("dense_1", 8), denseLayer("dense_2", 3, { activation: "softmax" })]);
    const two = denseSequential(4, [
      denseLayer("hidden", 8, {
        trainable: false,
        kernel_initializer: { class_name: "HeNormal", config: { seed: 42 } },
        kernel_regularizer: { class_name: "L2", config: { l2: 0.01 } },
        kernel_constraint: { class_name: "MaxNorm", config: { max_value: 2 } },
      }),
      denseLayer("out", 3, { activation: "softmax", bias_initializer: { class_name: "Ones", config: {} } }),
    ]);
    const a = kerasManifest(
      "one.h5",
      one,
      denseTensors(4, [
        { name: "dense_1", units: 8 },
        { name: "dense_2", units: 3 },
      ]),
    );
    const b = kerasManifest(
      "two.h5",
      two,
      denseTensors(4, [
        { name: "hidden", units: 8 },
        { name: "out", units: 3 },
      ]),
    );
    assert.equal(fingerprint(a).key, fingerprint(b).key);
  });

  it("ignores defaults that some Keras versions write and others leave out, and class-name aliases", () => {
    const conv = (className: string, extra: Record<string, unknown>) => ({
      class_name: "Sequential",
      config: [
        {
          class_name: className,
          config: {
            name: "c",
            filters: 4,
            kernel_size: [3, 3],
            strides: [1, 1],
            padding: "valid",
            batch_input_shape: [null, 8, 8, 1],
            ...extra,
          },
        },
      ],
    });
    const tensors = [
      { name: "c/kernel", shape: [3, 3, 1, 4] },
      { name: "c/bias", shape: [4] },
    ];
    const old = kerasManifest("old.h5", conv("Convolution2D", {}), tensors);
    const recent = kerasManifest(
      "new.h5",
      conv("Conv2D", {
        groups: 1,
        data_format: "channels_last",
        dilation_rate: [1, 1],
        use_bias: true,
        activation: "linear",
        lora_rank: null,
      }),
      tensors,
    );
    assert.equal(fingerprint(old).key, fingerprint(recent).key);
  });

  it("gives a Keras 3 model (InputLayer with batch_shape, DTypePolicy objects, keras_history wiring) the fingerprint of its Keras 2 twin", () => {
    const policy = { module: "keras", class_name: "DTypePolicy", config: { name: "float32" }, registered_name: null };
    const initializer = {
      module: "keras.initializers",
      class_name: "GlorotUniform",
      config: { seed: null },
      registered_name: null,
    };
    const dense3 = (name: string, units: number, from: string, activation: string) => ({
      module: "keras.layers",
      class_name: "Dense",
      name,
      config: {
        name,
        trainable: true,
        dtype: policy,
        units,
        activation,
        use_bias: true,
        kernel_initializer: initializer,
        bias_initializer: { module: "keras.initializers", class_name: "Zeros", config: {}, registered_name: null },
        kernel_regularizer: null,
        bias_regularizer: null,
        kernel_constraint: null,
        bias_constraint: null,
        lora_rank: null,
      },
      registered_name: null,
      build_config: { input_shape: [null, 4] },
      inbound_nodes: [
        {
          args: [
            {
              class_name: "__keras_tensor__",
              config: { shape: [null, 4], dtype: "float32", keras_history: [from, 0, 0] },
            },
          ],
          kwargs: {},
        },
      ],
    });
    const keras3 = {
      module: "keras",
      class_name: "Functional",
      config: {
        name: "functional",
        trainable: true,
        layers: [
          {
            module: "keras.layers",
            class_name: "InputLayer",
            name: "input_layer",
            config: { batch_shape: [null, 4], dtype: "float32", sparse: false, name: "input_layer" },
            registered_name: null,
            inbound_nodes: [],
          },
          dense3("dense", 8, "input_layer", "relu"),
          dense3("dense_1", 3, "dense", "softmax"),
        ],
        input_layers: [["input_layer", 0, 0]],
        output_layers: [["dense_1", 0, 0]],
      },
    };
    const keras2 = denseSequential(4, [denseLayer("dense_1", 8), denseLayer("dense_2", 3, { activation: "softmax" })]);
    const k3 = kerasManifest(
      "k3.keras",
      keras3,
      denseTensors(
        4,
        [
          { name: "dense", units: 8 },
          { name: "dense_1", units: 3 },
        ],
        "",
      ),
      "keras",
    );
    const k2 = kerasManifest(
      "k2.h5",
      keras2,
      denseTensors(4, [
        { name: "dense_1", units: 8 },
        { name: "dense_2", units: 3 },
      ]),
    );
    assert.equal(fingerprint(k3).key, fingerprint(k2).key);
  });

  for (const [what, change] of [
    ["units", { units: 9 }],
    ["activation", { activation: "tanh" }],
    ["use_bias", { use_bias: false }],
  ] as const) {
    it(`tells apart layers whose ${what} differ`, () => {
      const base = kerasManifest(
        "a.h5",
        denseSequential(4, [denseLayer("d", 8)]),
        denseTensors(4, [{ name: "d", units: 8 }]),
      );
      const units = "units" in change ? change.units : 8;
      const other = kerasManifest(
        "b.h5",
        denseSequential(4, [denseLayer("d", 8, change)]),
        denseTensors(4, [{ name: "d", units }]),
      );
      assert.notEqual(fingerprint(base).key, fingerprint(other).key);
    });
  }

  it("tells apart convolutions whose kernel size or filters differ", () => {
    const conv = (kernel: number, filters: number) =>
      kerasManifest(
        `conv${kernel}x${filters}.h5`,
        {
          class_name: "Sequential",
          config: [
            {
              class_name: "Conv2D",
              config: { name: "c", filters, kernel_size: [kernel, kernel], batch_input_shape: [null, 8, 8, 1] },
            },
          ],
        },
        [
          { name: "c/kernel", shape: [kernel, kernel, 1, filters] },
          { name: "c/bias", shape: [filters] },
        ],
      );
    const keys = new Set([conv(3, 4), conv(5, 4), conv(3, 8)].map((m) => fingerprint(m).key));
    assert.equal(keys.size, 3);
  });

  it("tells apart the same layers wired differently", () => {
    const functional = (secondFrom: string) => ({
      class_name: "Model",
      config: {
        name: "m",
        layers: [
          {
            class_name: "InputLayer",
            name: "in",
            config: { name: "in", batch_input_shape: [null, 4] },
            inbound_nodes: [],
          },
          { class_name: "Dense", name: "d1", config: { name: "d1", units: 4 }, inbound_nodes: [[["in", 0, 0, {}]]] },
          {
            class_name: "Dense",
            name: "d2",
            config: { name: "d2", units: 4 },
            inbound_nodes: [[[secondFrom, 0, 0, {}]]],
          },
        ],
        input_layers: [["in", 0, 0]],
        output_layers: [["d2", 0, 0]],
      },
    });
    const tensors = denseTensors(
      4,
      [
        { name: "d1", units: 4 },
        { name: "d2", units: 4 },
      ],
      "",
    );
    assert.notEqual(
      fingerprint(kerasManifest("chain.h5", functional("d1"), tensors)).key,
      fingerprint(kerasManifest("skip.h5", functional("in"), tensors)).key,
    );
  });

  it("uses tensor names, shapes and dtypes, in any file order, for files without an architecture", () => {
    const a = tensorListManifest("a.safetensors", [
      { name: "w", shape: [2, 3] },
      { name: "b", shape: [3] },
    ]);
    const b = tensorListManifest("b.safetensors", [
      { name: "b", shape: [3] },
      { name: "w", shape: [2, 3] },
    ]);
    const renamed = tensorListManifest("c.safetensors", [
      { name: "b", shape: [3] },
      { name: "weight", shape: [2, 3] },
    ]);
    const half = tensorListManifest("d.safetensors", [
      { name: "b", shape: [3] },
      { name: "w", shape: [2, 3], dtype: "float16" },
    ]);
    assert.equal(fingerprint(a).kind, "tensors");
    assert.equal(fingerprint(a).key, fingerprint(b).key);
    assert.notEqual(fingerprint(a).key, fingerprint(renamed).key);
    assert.notEqual(fingerprint(a).key, fingerprint(half).key);
  });
});
