import assert from "node:assert/strict";
import {
  assignmentScore,
  identity,
  maximiseAssignment,
  permutationSymmetry,
  permuteTensors,
  weightMatching,
  type NamedTensor,
} from "../../../src/core/align/index.js";
import type { LayerSpec, ModelManifest } from "../../../src/core/model.js";
import { mulberry32, shuffleInPlace } from "../../../src/core/random.js";

function permutationsOf(n: number): number[][] {
  if (n === 1) return [[0]];
  return permutationsOf(n - 1).flatMap((p) =>
    Array.from({ length: n }, (_, at) => [...p.slice(0, at), n - 1, ...p.slice(at)]),
  );
}

/** A Sequential MLP's manifest with Dense layers of the given widths (inputs first). */
function mlpManifest(widths: number[]): ModelManifest {
  const layers: LayerSpec[] = widths.slice(1).map((units, i) => ({
    name: `dense_${i}`,
    className: "Dense",
    config: { units, ...(i === 0 ? { batch_input_shape: [null, widths[0]] } : {}) },
    inbound: i === 0 ? [] : [`dense_${i - 1}`],
    weights: [`dense_${i}/kernel`, `dense_${i}/bias`],
  }));
  return {
    path: "mlp.json",
    format: "tfjs-layers",
    files: ["mlp.json"],
    architecture: {
      modelClass: "Sequential",
      layers,
      inputs: ["dense_0"],
      outputs: [`dense_${widths.length - 2}`],
      raw: {},
    },
    tensors: widths.slice(1).flatMap((units, i) => [
      { name: `dense_${i}/kernel`, shape: [widths[i]!, units], dtype: "float32" as const, layer: `dense_${i}` },
      { name: `dense_${i}/bias`, shape: [units], dtype: "float32" as const, layer: `dense_${i}` },
    ]),
    metadata: {},
    warnings: [],
  };
}

function randomTensors(manifest: ModelManifest, seed: number): Map<string, NamedTensor> {
  const random = mulberry32(seed);
  return new Map(
    manifest.tensors.map((t) => [
      t.name,
      {
        shape: t.shape,
        data: Float32Array.from({ length: t.shape.reduce((p, d) => p * d, 1) }, () => random() * 2 - 1),
      },
    ]),
  );
}

describe("linear assignment", () => {
  it("finds the best assignment that brute force finds, on random score matrices", () => {
    const random = mulberry32(5);
    for (let trial = 0; trial < 30; trial++) {
      const n = 1 + (trial % 6);
      const score = Float64Array.from({ length: n * n }, () => Math.round(random() * 20) - 10);
      const best = Math.max(...permutationsOf(n).map((p) => assignmentScore(score, n, p)));
      const found = maximiseAssignment(score, n);
      assert.deepEqual(
        [...found].sort((a, b) => a - b),
        identity(n),
        "a permutation",
      );
      assert.equal(assignmentScore(score, n, found), best);
    }
  });
});

describe("weight matching", () => {
  /** Scrambles every group of random weights at random; weight matching must put every tensor back exactly. */
  function checkUndoesScramble(manifest: ModelManifest, moved: string, a = randomTensors(manifest, 1)) {
    const plan = permutationSymmetry(manifest);
    const random = mulberry32(2);
    const scramble = Object.fromEntries(
      plan.groups.map((g) => {
        const p = identity(g.size);
        shuffleInPlace(p, random);
        return [g.id, p];
      }),
    );
    const scrambled = permuteTensors(plan, scramble, a);
    const b = new Map([...a].map(([name, t]) => [name, { shape: t.shape, data: scrambled.get(name)! }]));
    assert.ok(!b.get(moved)!.data.every((v, i) => v === a.get(moved)!.data[i]), "the scramble moved units");
    const { permutations } = weightMatching(plan, a, b);
    const aligned = permuteTensors(plan, permutations, b);
    for (const [name, t] of a) assert.deepEqual(aligned.get(name), t.data, `tensor ${name} is back in A's order`);
    return plan;
  }

  it("undoes a random permutation of an MLP's hidden units exactly", () => {
    const plan = checkUndoesScramble(mlpManifest([6, 12, 9, 3]), "dense_0/bias");
    assert.equal(plan.groups.length, 2);
  });

  /** Conv2D(5) → DepthwiseConv2D(multiplier 3) → Conv2D(4) → pooling → Dense(2). */
  function depthwiseManifest(): ModelManifest {
    const layer = (
      name: string,
      className: string,
      inbound: string[],
      weights: Array<[string, number[]]>,
      config: Record<string, unknown> = {},
    ) => ({
      spec: { name, className, config, inbound, weights: weights.map(([w]) => `${name}/${w}`) },
      tensors: weights.map(([w, shape]) => ({ name: `${name}/${w}`, shape, dtype: "float32" as const, layer: name })),
    });
    const layers = [
      layer(
        "conv",
        "Conv2D",
        [],
        [
          ["kernel", [1, 1, 2, 5]],
          ["bias", [5]],
        ],
        { batch_input_shape: [null, 6, 6, 2] },
      ),
      layer(
        "depthwise",
        "DepthwiseConv2D",
        ["conv"],
        [
          ["depthwise_kernel", [3, 3, 5, 3]],
          ["bias", [15]],
        ],
      ),
      layer(
        "pointwise",
        "Conv2D",
        ["depthwise"],
        [
          ["kernel", [1, 1, 15, 4]],
          ["bias", [4]],
        ],
      ),
      layer("pool", "GlobalAveragePooling2D", ["pointwise"], []),
      layer(
        "out",
        "Dense",
        ["pool"],
        [
          ["kernel", [4, 2]],
          ["bias", [2]],
        ],
      ),
    ];
    return {
      path: "cnn.json",
      format: "tfjs-layers",
      files: ["cnn.json"],
      architecture: {
        modelClass: "Sequential",
        layers: layers.map((l) => l.spec),
        inputs: ["conv"],
        outputs: ["out"],
        raw: {},
      },
      tensors: layers.flatMap((l) => l.tensors),
      metadata: {},
      warnings: [],
    };
  }

  it("undoes a random permutation through a depthwise convolution with a depth multiplier", () => {
    const plan = checkUndoesScramble(depthwiseManifest(), "depthwise/bias");
    assert.deepEqual(plan.groups.map((g) => g.size).sort(), [4, 5]);
  });

  it("tells units apart by every output of their depthwise block, not only the first", () => {
    const manifest = depthwiseManifest();
    const a = randomTensors(manifest, 6);
    // The conv's 5 units are alike everywhere except in the 2nd and 3rd outputs of their depthwise blocks.
    a.get("conv/kernel")!.data.fill(0.5);
    a.get("conv/bias")!.data.fill(0.1);
    const depthwise = a.get("depthwise/depthwise_kernel")!.data;
    depthwise.forEach((_, i) => (depthwise[i] = 0.01 * ((Math.floor(i / 15) * 3 + (i % 3)) % 7)));
    const bias = a.get("depthwise/bias")!.data;
    for (let c = 0; c < 5; c++) bias[c * 3] = 0.2;
    const pointwise = a.get("pointwise/kernel")!.data;
    for (let c = 0; c < 5; c++) pointwise.fill(0.3, c * 3 * 4, (c * 3 + 1) * 4);
    checkUndoesScramble(manifest, "depthwise/bias", a);
  });

  it("brings an independent model closer to the reference, and never further", () => {
    const manifest = mlpManifest([8, 32, 32, 4]);
    const plan = permutationSymmetry(manifest);
    const a = randomTensors(manifest, 3);
    const b = randomTensors(manifest, 4);
    const dot = (x: ReadonlyMap<string, NamedTensor>, y: ReadonlyMap<string, Float32Array>) =>
      [...x].reduce((s, [name, t]) => s + t.data.reduce((p, v, i) => p + v * y.get(name)![i]!, 0), 0);
    const before = dot(a, new Map([...b].map(([n, t]) => [n, t.data])));
    const { permutations, sweeps } = weightMatching(plan, a, b);
    const after = dot(a, permuteTensors(plan, permutations, b));
    assert.ok(after > before, `⟨A, P(B)⟩ ${after} should exceed ⟨A, B⟩ ${before}`);
    assert.ok(sweeps >= 2);
  });
});
