/**
 * The permutation structure of real PyTorch models (traced by engine.py, derived by core/align/torch-symmetry.ts),
 * on models trained from scratch by make_align_models.py: a random permutation of a model's units leaves what it
 * computes unchanged (plain torch scores both files, no Model Soup code), and weight matching brings a permuted
 * copy back to the original exactly.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mulberry32, shuffleInPlace } from "../../../src/core/random.js";
import {
  identity,
  torchPermutationSymmetry,
  weightMatching,
  type AlignmentPlan,
  type NamedTensor,
  type Permutations,
} from "../../../src/core/align/index.js";
import { writePytorch } from "../../../src/core/formats/pytorch/writer.js";
import type { PythonWithTorch } from "../../../src/core/python/find-python.js";
import { permuteIngredient } from "../../../src/worker/jobs/torch/align.js";
import { readIngredient, TorchEngine, type IngredientTensors } from "../../../src/worker/torch/torch-engine.js";
import { plainTorchScore } from "../../cli/torch-cli-support.js";
import { ALIGN_FACTORY, dataSplit, makeAlignModels, requireTorch } from "./support.js";

function named(ingredient: IngredientTensors): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const t of ingredient.tensors)
    if (t.data instanceof Float32Array) out.set(t.name, { shape: t.shape, data: t.data });
  return out;
}

function randomPermutations(plan: AlignmentPlan, seed: number): Permutations {
  const random = mulberry32(seed);
  return Object.fromEntries(
    plan.groups.map((g) => {
      const perm = identity(g.size);
      shuffleInPlace(perm, random);
      return [g.id, perm];
    }),
  );
}

describe("PyTorch alignment: the permutation structure of traced models", function () {
  this.timeout(240_000);
  let python: PythonWithTorch;
  let dir: string;

  before(async function () {
    python = await requireTorch(this);
    dir = await mkdtemp(join(tmpdir(), "model-soup-torch-align-"));
    makeAlignModels(python, dir);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The plan of a model, from the graph its engine traces on the data's first row. */
  async function planOf(kind: string, build: string, file: string) {
    const ingredient = await readIngredient(join(dir, file));
    const learn = await dataSplit(join(dir, `${kind}_data.pt`));
    const engine = await TorchEngine.start({
      python,
      model: { architecture: `${ALIGN_FACTORY}:${build}` },
      ingredients: [ingredient],
      splits: { learn },
    });
    try {
      const shapes = new Map(ingredient.tensors.map((t) => [t.name, t.shape]));
      return { ingredient, ...torchPermutationSymmetry(await engine.structure(), shapes) };
    } finally {
      await engine.dispose();
    }
  }

  it("finds the CNN's groups: convolution rows, BatchNorm's four tensors, and the flatten into the Linear", async () => {
    const { plan, probeAxes } = await planOf("cnn", "build_cnn", "cnn_s0.pt");
    assert.deepEqual(
      plan.groups.map((g) => [g.id, g.size]),
      [
        ["conv1", 8],
        ["conv2", 16],
      ],
    );
    const conv2 = plan.groups[1]!;
    const members = new Map(conv2.members.map((m) => [`${m.tensor}@${m.axis}`, m]));
    for (const t of [
      "conv2.weight@0",
      "conv2.bias@0",
      "bn2.weight@0",
      "bn2.bias@0",
      "bn2.running_mean@0",
      "bn2.running_var@0",
    ])
      assert.ok(members.has(t), t);
    // fc reads the flattened [16, 2, 2]: each unit is a block of 4 consecutive inputs.
    assert.deepEqual(members.get("fc.weight@1"), {
      tensor: "fc.weight",
      axis: 1,
      offset: 0,
      period: 64,
      count: 1,
      width: 4,
    });
    assert.ok(plan.groups[0]!.members.some((m) => m.tensor === "conv2.weight" && m.axis === 1));
    assert.ok(!plan.groups.some((g) => g.members.some((m) => m.tensor.endsWith("num_batches_tracked"))));
    assert.equal(plan.fixed.length, 0);
    // Probed before and after the functional relu, on dim 1.
    assert.ok([...probeAxes.values()].every((axis) => axis === 1));
    assert.ok(conv2.probes.length >= 2);
  });

  it("joins the two summed branches of a residual block into one group", async () => {
    const { plan } = await planOf("mlp", "build_residual", "residual_s0.pt");
    assert.deepEqual(
      plan.groups.map((g) => [g.id, g.size]),
      [["inp", 32]],
    );
    const tensors = new Set(plan.groups[0]!.members.map((m) => `${m.tensor}@${m.axis}`));
    for (const t of ["inp.weight@0", "hidden.weight@0", "hidden.weight@1", "hidden.bias@0", "out.weight@1"])
      assert.ok(tensors.has(t), t);
  });

  for (const [kind, build, file] of [
    ["mlp", "build_mlp", "mlp_s0.pt"],
    ["cnn", "build_cnn", "cnn_s0.pt"],
    ["mlp", "build_residual", "residual_s0.pt"],
  ] as const) {
    it(`${build}: a random permutation of its units leaves what it computes unchanged (plain torch), and weight matching undoes it exactly`, async () => {
      const { ingredient, plan } = await planOf(kind, build, file);
      const permutations = randomPermutations(plan, 7);
      const permuted = permuteIngredient(ingredient, plan, permutations);
      const changed = permuted.tensors.filter(
        (t, k) => !Buffer.from(t.data.buffer).equals(Buffer.from(ingredient.tensors[k]!.data.buffer)),
      );
      assert.ok(changed.length >= 3, "the permutation moved the weights");
      // num_batches_tracked is copied as it is.
      for (const [k, t] of permuted.tensors.entries())
        if (t.name.endsWith("num_batches_tracked")) assert.equal(t.data, ingredient.tensors[k]!.data);
      const target = join(dir, `${build}-permuted.pt`);
      const byName = new Map(permuted.tensors.map((t) => [t.name, t.data]));
      await writePytorch(join(dir, file), target, async (info) => byName.get(info.name));
      const factory = `${ALIGN_FACTORY}:${build}`;
      const original = plainTorchScore(python.path, {
        model: join(dir, file),
        factory,
        data: join(dir, `${kind}.npz`),
      });
      const moved = plainTorchScore(python.path, { model: target, factory, data: join(dir, `${kind}.npz`) });
      assert.ok(
        Math.abs(original.loss - moved.loss) <= 1e-5 * Math.max(1, original.loss),
        `${original.loss} vs ${moved.loss}`,
      );
      assert.equal(moved.accuracy, original.accuracy);

      const found = weightMatching(plan, named(ingredient), named(permuted), { seed: 0 }).permutations;
      const back = permuteIngredient(permuted, plan, found);
      for (const [k, t] of back.tensors.entries())
        assert.ok(Buffer.from(t.data.buffer).equals(Buffer.from(ingredient.tensors[k]!.data.buffer)), t.name);
    });
  }
});
