/**
 * torch-symmetry.ts on hand-written torch.fx graphs (the engine's `structure` answers; the real traced models are
 * test/worker/torch/align.test.ts): what an unknown operation, a module called twice, a concatenation and the
 * model's output do to the groups.
 */
import assert from "node:assert/strict";
import { tensorReorders, torchPermutationSymmetry, type TorchGraphNode } from "../../../src/core/align/index.js";

const input: TorchGraphNode = { name: "x", kind: "input", inputs: [], shape: [1, 4], what: "the model's input" };
const linear = (name: string, from: string, units: number, module = name): TorchGraphNode => ({
  name,
  kind: "linear",
  inputs: [from],
  shape: [1, units],
  what: `${module} (Linear)`,
  module,
  bias: true,
});
const relu = (name: string, from: string, units: number): TorchGraphNode => ({
  name,
  kind: "elementwise",
  inputs: [from],
  shape: [1, units],
  what: "function relu",
});
const output = (from: string): TorchGraphNode => ({
  name: "output",
  kind: "output",
  inputs: [from],
  shape: null,
  what: "the model's output",
});
const shapesOf = (layers: Array<[string, number, number]>) =>
  new Map(
    layers.flatMap(([m, out, inp]) => [
      [`${m}.weight`, [out, inp]],
      [`${m}.bias`, [out]],
    ]),
  );

describe("torchPermutationSymmetry", () => {
  it("an MLP: each hidden Linear is a group (its rows, its bias, the next one's columns); the output layer stays", () => {
    const { plan, makers, probeAxes } = torchPermutationSymmetry(
      [input, linear("fc1", "x", 8), relu("r", "fc1", 8), linear("fc2", "r", 3), output("fc2")],
      shapesOf([
        ["fc1", 8, 4],
        ["fc2", 3, 8],
      ]),
    );
    assert.deepEqual(
      plan.groups.map((g) => [g.id, g.size, g.members.map((m) => `${m.tensor}@${m.axis}`)]),
      [["fc1", 8, ["fc1.weight@0", "fc1.bias@0", "fc2.weight@1"]]],
    );
    assert.deepEqual(
      makers.map((m) => m.module),
      ["fc1"],
    );
    assert.deepEqual(
      [...probeAxes],
      [
        ["fc1", 1],
        ["r", 1],
      ],
    );
  });

  it("an operation it does not know keeps the units it reads in place, and is named", () => {
    const odd: TorchGraphNode = { name: "t", kind: "other", inputs: ["fc1"], shape: [1, 8], what: "method transpose" };
    const { plan } = torchPermutationSymmetry(
      [
        input,
        linear("fc1", "x", 8),
        odd,
        linear("fc2", "t", 8),
        relu("r", "fc2", 8),
        linear("fc3", "r", 3),
        output("fc3"),
      ],
      shapesOf([
        ["fc1", 8, 4],
        ["fc2", 8, 8],
        ["fc3", 3, 8],
      ]),
    );
    assert.deepEqual(
      plan.groups.map((g) => g.id),
      ["fc2"],
    );
    assert.deepEqual(plan.fixed, [
      { layer: "t", className: "method transpose", reason: "what it does to the channels is not known" },
    ]);
  });

  it("a Linear called twice is not permuted (one tensor cannot take two orders)", () => {
    const { plan } = torchPermutationSymmetry(
      [
        input,
        linear("a", "x", 4, "shared"),
        relu("r", "a", 4),
        linear("b", "r", 4, "shared"),
        linear("c", "b", 2, "head"),
        output("c"),
      ],
      shapesOf([
        ["shared", 4, 4],
        ["head", 2, 4],
      ]),
    );
    assert.equal(plan.groups.length, 0);
    assert.match(plan.fixed[0]!.reason, /called 2 times/);
  });

  it("torch.cat along the units places each branch's group at its offset in the next layer's columns", () => {
    const cat: TorchGraphNode = {
      name: "cat",
      kind: "cat",
      inputs: ["p", "q"],
      shape: [1, 10],
      what: "function cat",
      dim: 1,
    };
    const { plan } = torchPermutationSymmetry(
      [input, linear("p", "x", 4), linear("q", "x", 6), cat, linear("out", "cat", 2), output("out")],
      shapesOf([
        ["p", 4, 4],
        ["q", 6, 4],
        ["out", 2, 10],
      ]),
    );
    const columns = plan.groups.map((g) => [g.id, g.members.find((m) => m.tensor === "out.weight")!.offset]);
    assert.deepEqual(columns, [
      ["p", 0],
      ["q", 4],
    ]);
  });

  it("a weight whose inputs do not match the channels that arrive fixes the group, naming the tensor", () => {
    const { plan } = torchPermutationSymmetry(
      [input, linear("fc1", "x", 8), linear("fc2", "fc1", 3), output("fc2")],
      shapesOf([
        ["fc1", 8, 4],
        ["fc2", 3, 9],
      ]),
    );
    assert.equal(plan.groups.length, 0);
    assert.match(plan.fixed[0]!.reason, /"fc2\.weight" has 9 inputs where 8 channels arrive/);
  });

  it("groups (as a recipe records them) that place units outside a tensor are refused in one line", () => {
    const plan = {
      groups: [
        {
          id: "fc1",
          size: 4,
          probes: [],
          members: [{ tensor: "fc1.weight", axis: 0, offset: 6, period: 8, count: 1 }],
        },
      ],
      fixed: [],
    };
    assert.throws(
      () => tensorReorders(plan, { fc1: [1, 0, 2, 3] }, new Map([["fc1.weight", [8, 4]]])),
      /the alignment places 4 units of "fc1" outside axis 0 of tensor "fc1\.weight" \[8, 4\]/,
    );
    const beyond = {
      ...plan,
      groups: [{ ...plan.groups[0]!, members: [{ ...plan.groups[0]!.members[0]!, axis: 2, offset: 0 }] }],
    };
    assert.throws(
      () => tensorReorders(beyond, { fc1: [1, 0, 2, 3] }, new Map([["fc1.weight", [8, 4]]])),
      /outside axis 2/,
    );
    // Blocks repeated a huge number of times over one place (period 0) would take forever: refused at once.
    const repeated = {
      ...plan,
      groups: [
        { ...plan.groups[0]!, members: [{ ...plan.groups[0]!.members[0]!, offset: 0, period: 0, count: 1e12 }] },
      ],
    };
    assert.throws(
      () => tensorReorders(repeated, { fc1: [1, 0, 2, 3] }, new Map([["fc1.weight", [8, 4]]])),
      /outside axis 0/,
    );
  });
});
