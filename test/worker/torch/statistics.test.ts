// The data-aware merges' statistics in the PyTorch engine: which layers RegMean reads and in what order, and two
// data-parallel ranks answering as one (Gram matrices and Fisher diagonals are sums over rows, all-reduced).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PythonWithTorch } from "../../../src/core/python/find-python.js";
import { readIngredient, TorchEngine, type TorchEngineOptions } from "../../../src/worker/torch/torch-engine.js";
import { closeTo, dataSplit, FACTORY, fixture, LOGITS_OBJECTIVE, MLP_STATE_DICTS, requireTorch } from "./support.js";

/** Layers defined out of forward order, one applied twice, one grouped convolution, one never run. */
const ODD_NET = `import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.head = torch.nn.Linear(6, 3)
        self.late = torch.nn.Linear(6, 6)
        self.shared = torch.nn.Linear(6, 6)
        self.grouped = torch.nn.Conv1d(2, 2, 1, groups=2)
        self.unused = torch.nn.Linear(6, 6)

    def forward(self, x):
        h = self.late(torch.tanh(self.shared(torch.tanh(self.shared(x)))))
        h = self.grouped(h.reshape(-1, 2, 3)).reshape(-1, 6)
        return self.head(h)


def build():
    return Net()
`;

describe("TorchEngine statistics for RegMean and Fisher", function () {
  this.timeout(300_000);
  let python: PythonWithTorch;
  let options: TorchEngineOptions;
  let dir: string;

  before(async function () {
    python = await requireTorch(this);
    dir = await mkdtemp(join(tmpdir(), "model-soup-torch-statistics-"));
    const data = await dataSplit(fixture("mlp_data.pt"));
    options = {
      python,
      model: { architecture: FACTORY },
      ingredients: await Promise.all(MLP_STATE_DICTS.map(readIngredient)),
      splits: { learn: data },
      device: "cpu",
      threads: 1,
      batchSize: 40,
    };
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("reads Linear layers in forward order and says why the others are plainly averaged", async () => {
    await writeFile(join(dir, "odd_net.py"), ODD_NET);
    const script = [
      "import sys, torch",
      "sys.path.insert(0, sys.argv[1])",
      "from odd_net import build",
      "for i in range(2):",
      "    torch.manual_seed(i)",
      "    torch.save(build().state_dict(), f'{sys.argv[1]}/odd{i}.pt')",
    ].join("\n");
    execFileSync(python.path, ["-c", script, dir]);
    const engine = await TorchEngine.start({
      ...options,
      model: { architecture: `${join(dir, "odd_net.py")}:build` },
      ingredients: await Promise.all([0, 1].map((i) => readIngredient(join(dir, `odd${i}.pt`)))),
    });
    try {
      const { maps, notes } = await engine.linearMaps();
      assert.deepEqual(maps, [
        { module: "late", weight: "late.weight", inputs: 6 },
        { module: "head", weight: "head.weight", inputs: 6 },
      ]);
      assert.deepEqual(notes, [
        'layer "grouped" is a grouped convolution (2 groups); its weight is plainly averaged',
        'layer "shared" is applied 2 times; its weight is plainly averaged',
        `layer "unused" is not run by the model's forward pass; its weight is plainly averaged`,
      ]);
    } finally {
      await engine.dispose();
    }
  });

  it("two ranks give one rank's Gram matrices and Fisher diagonals (rows that do not divide evenly)", async () => {
    const answers = [];
    for (const nproc of [1, 2]) {
      const engine = await TorchEngine.start({ ...options, nproc });
      try {
        await engine.write(Float64Array.from([0.6, 0.3, 0.1]), { groupOf: engine.layerOf.map(() => 0), groups: 1 });
        const { maps } = await engine.linearMaps();
        const grams = await engine.gramMatrices(
          { split: "learn", indices: Int32Array.from([4, 9, 1, 30, 77]) },
          maps.map((m) => m.module),
        );
        const fisher = await engine.fisherDiagonals(
          { split: "learn", indices: Int32Array.from({ length: 7 }, (_, k) => k) },
          LOGITS_OBJECTIVE.task,
          "labels",
        );
        answers.push({ maps, grams, fisher });
      } finally {
        await engine.dispose();
      }
    }
    const [one, two] = answers as [(typeof answers)[0], (typeof answers)[0]];
    assert.deepEqual(
      one.maps.map((m) => m.weight),
      ["0.weight", "4.weight"],
    );
    assert.deepEqual(two.maps, one.maps);
    assert.deepEqual(
      one.grams.map((g) => g.length),
      [36, 256],
    );
    one.grams.forEach((g, k) => g.forEach((v, i) => closeTo(two.grams[k]![i]!, v, 1e-9, `gram ${k}[${i}]`)));
    assert.deepEqual([...two.fisher.keys()], [...one.fisher.keys()]);
    for (const [name, values] of one.fisher)
      values.forEach((v, i) => closeTo(two.fisher.get(name)![i]!, v, 1e-6, `fisher ${name}[${i}]`));
    // The first layer's Gram matrix is XᵀX of five data rows: its diagonal is positive, the whole of it symmetric.
    const g0 = one.grams[0]!;
    for (let r = 0; r < 6; r++) {
      assert.ok(g0[r * 6 + r]! > 0);
      for (let c = 0; c < 6; c++) closeTo(g0[c * 6 + r]!, g0[r * 6 + c]!, 1e-12, `symmetry ${r},${c}`);
    }
    assert.ok([...one.fisher.values()].every((f) => f.some((v) => v > 0)));
  });
});
