import assert from "node:assert/strict";
import { ModelFileError, UsageError } from "../../../src/core/errors.js";
import { layerPositions } from "../../../src/core/merge/params.js";
import { prepareMerge } from "../../../src/core/merge/plan.js";
import type { MergeSpec } from "../../../src/core/merge/spec.js";
import type { TensorInfo } from "../../../src/core/tensor.js";
import { assertClose, f32 } from "./helpers.js";

const info = (name: string, layer: string, n = 2, dtype: TensorInfo["dtype"] = "float32"): TensorInfo => ({
  name,
  layer,
  shape: [n],
  dtype,
});
const usage = (pattern: RegExp) => (e: unknown) => e instanceof UsageError && pattern.test(e.message);

describe("merge/plan", () => {
  it("leaves the base out of the combined models when it is also an ingredient (as mergekit)", () => {
    const merge = prepareMerge({
      method: "task_arithmetic",
      params: {},
      base: "base.safetensors",
      ingredients: [
        { path: "base.safetensors" },
        { path: "a.safetensors", weight: 0.5 },
        { path: "b.safetensors", weight: 2 },
      ],
    });
    assert.deepEqual(merge.modelIndices, [1, 2]);
    // the task-arithmetic hand case: [1,2] + 0.5·[1,0] + 2·[0,3] = [1.5, 8]
    assertClose(
      merge.mergeTensor({ info: info("w", "w"), ingredients: [f32(1, 2), f32(2, 2), f32(1, 5)] }) as Float32Array,
      [1.5, 8],
    );
  });

  it("never averages integer or boolean tensors: the base's values, else the first ingredient's", () => {
    const steps = [Int32Array.from([10, 20]), Int32Array.from([30, 40])];
    const withBase = prepareMerge({
      method: "task_arithmetic",
      params: {},
      base: "base",
      ingredients: [
        { path: "a", weight: 1 },
        { path: "b", weight: 1 },
      ],
    });
    const base = Int32Array.from([1, 2]);
    assert.equal(withBase.mergeTensor({ info: info("step", "opt", 2, "int32"), ingredients: steps, base }), base);
    const noBase = prepareMerge({ method: "uniform", params: {}, ingredients: [{ path: "a" }, { path: "b" }] });
    assert.equal(
      noBase.mergeTensor({
        info: info("mask", "m", 2, "bool"),
        ingredients: [Uint8Array.from([1, 0]), Uint8Array.from([0, 1])],
      })[1],
      0,
    );
  });

  it("takes per-layer weights for the listed layers and the ingredient's weight elsewhere", () => {
    const merge = prepareMerge({
      method: "linear",
      params: { normalize: false },
      ingredients: [
        { path: "a", weight: 1, weightsByLayer: { dense: 0.25 } },
        { path: "b", weight: 2, weightsByLayer: { dense: 0.75 } },
      ],
    });
    const ingredients = [f32(4, 8), f32(8, 4)];
    // dense: 0.25·[4,8] + 0.75·[8,4] = [7, 5]; other layers: 1·[4,8] + 2·[8,4] = [20, 16]
    assertClose(merge.mergeTensor({ info: info("dense/kernel", "dense"), ingredients }) as Float32Array, [7, 5]);
    assertClose(merge.mergeTensor({ info: info("out/kernel", "out"), ingredients }) as Float32Array, [20, 16]);
  });

  it("resolves mergekit filter rules and gradients per tensor", () => {
    const spec: MergeSpec = {
      method: "slerp",
      base: "a",
      params: { t: [{ filter: "self_attn", value: [0, 1] }, { value: 0.5 }] },
      ingredients: [{ path: "a" }, { path: "b" }],
    };
    const merge = prepareMerge(spec);
    const positions = layerPositions(["l0.self_attn", "l0.mlp", "l1.self_attn"]);
    const ingredients = [f32(1, 2, 3), f32(2, 4, 6)]; // colinear → linear interpolation, so t is read off directly
    const at = (name: string, layer: string) =>
      merge.mergeTensor({ info: info(name, layer, 3), position: positions.get(layer), ingredients }) as Float32Array;
    assertClose(at("l0.self_attn.q", "l0.self_attn"), [1, 2, 3]); // position 0 → t 0
    assertClose(at("l1.self_attn.q", "l1.self_attn"), [2, 4, 6]); // position 1 → t 1
    assertClose(at("l0.mlp.up", "l0.mlp"), [1.5, 3, 4.5]); // no filter matches → t 0.5
    assert.throws(
      () => merge.mergeTensor({ info: info("l0.self_attn.q", "l0.self_attn", 3), ingredients }),
      usage(/gradient/),
    );
  });

  it("lets a global per-model parameter apply to every model that does not set its own", () => {
    const merge = prepareMerge({
      method: "ties",
      base: "base",
      params: { density: 0.5 },
      ingredients: [
        { path: "a", weight: 1 },
        { path: "b", weight: 1, params: { density: 1 } },
      ],
    });
    // a: τ [3,1] trimmed to [3,0]; b: τ [1,1] kept; signs +; means [(3+1)/2, 1/1] = [2, 1]
    assertClose(
      merge.mergeTensor({ info: info("w", "w"), base: f32(0, 0), ingredients: [f32(3, 1), f32(1, 1)] }) as Float32Array,
      [2, 1],
    );
  });

  it("refuses specs the method cannot run, saying why", () => {
    assert.throws(
      () =>
        prepareMerge({
          method: "slerp",
          params: { t: 0.5 },
          base: "a",
          ingredients: [{ path: "a" }, { path: "b" }, { path: "c" }],
        }),
      usage(/exactly 1 model/),
    );
    assert.throws(
      () => prepareMerge({ method: "model_stock", params: {}, base: "a", ingredients: [{ path: "a" }, { path: "b" }] }),
      usage(/at least 2/),
    );
    assert.throws(
      () => prepareMerge({ method: "ties", params: {}, ingredients: [{ path: "a", weight: 1 }] }),
      usage(/needs a base/),
    );
    assert.throws(
      () => prepareMerge({ method: "linear", params: {}, base: "b", ingredients: [{ path: "a", weight: 1 }] }),
      usage(/takes no base/),
    );
    assert.throws(
      () =>
        prepareMerge({ method: "ties", params: { densty: 0.5 }, base: "b", ingredients: [{ path: "a", weight: 1 }] }),
      usage(/no parameter "densty"/),
    );
    assert.throws(
      () => prepareMerge({ method: "uniform", params: {}, ingredients: [{ path: "a", weight: 2 }] }),
      usage(/no per-model weights/),
    );
    assert.throws(
      () => prepareMerge({ method: "nuslerp" as never, params: {}, ingredients: [{ path: "a" }] }),
      usage(/Unknown merge method/),
    );
    const missing = prepareMerge({
      method: "linear",
      params: {},
      ingredients: [{ path: "a", weightsByLayer: { x: 1 } }],
    });
    assert.throws(
      () => missing.mergeTensor({ info: info("y/k", "y"), ingredients: [f32(1, 2)] }),
      usage(/a, tensor y\/k: missing required parameter "weight"/),
    );
    const badDensity = prepareMerge({
      method: "ties",
      params: { density: 0 },
      base: "b",
      ingredients: [{ path: "a", weight: 1 }],
    });
    assert.throws(
      () => badDensity.mergeTensor({ info: info("w", "w"), base: f32(0, 0), ingredients: [f32(1, 1)] }),
      usage(/density" must be > 0/),
    );
  });

  it("names the file whose tensor has the wrong number of values", () => {
    const merge = prepareMerge({
      method: "uniform",
      params: {},
      ingredients: [{ path: "a.keras" }, { path: "b.keras" }],
    });
    assert.throws(
      () => merge.mergeTensor({ info: info("w", "w"), ingredients: [f32(1, 2), f32(1, 2, 3)] }),
      (e: unknown) => e instanceof ModelFileError && e.file === "b.keras" && /2 values/.test(e.message),
    );
  });
});
