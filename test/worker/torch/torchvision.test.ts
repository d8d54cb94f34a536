import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readIngredient, TorchEngine } from "../../../src/worker/torch/torch-engine.js";
import { closeTo, dataSplit, LOGITS_OBJECTIVE, requireTorch } from "./support.js";

const MAKE = join(import.meta.dirname, "../../fixtures/pytorch/make_engine_fixtures.py");

describe("TorchEngine on torchvision:resnet18 state dicts (32×32, num_classes 3 inferred)", function () {
  this.timeout(600_000);
  let folder: string | undefined;
  after(() => folder && rmSync(folder, { recursive: true, force: true }));

  it("predicts as plain torch does; loss and gradient match float64 autograd (statistics included)", async function () {
    const python = await requireTorch(this);
    const hasTorchvision =
      execFileSync(python.path, ["-c", "import importlib.util as u; print(u.find_spec('torchvision') is not None)"], {
        encoding: "utf8",
      }).trim() === "True";
    if (!hasTorchvision) {
      console.log("    (skipped: torchvision does not import here; CI installs python3-torchvision)");
      this.skip();
    }
    folder = mkdtempSync(join(tmpdir(), "model-soup-resnet-"));
    execFileSync(python.path, [MAKE, "--torchvision", folder], { timeout: 300_000 });
    const files = [0, 1].map((i) => join(folder!, `resnet18_ft${i}.pt`));
    const learn = await dataSplit(join(folder, "data.pt"));
    const engine = await TorchEngine.start({
      python,
      model: { architecture: "torchvision:resnet18" },
      ingredients: await Promise.all(files.map(readIngredient)),
      splits: { learn },
      device: "cpu",
      batchSize: 6,
    });
    try {
      assert.equal(engine.batchNormLayers.length, 20);
      const layout = { groupOf: engine.layerOf.map(() => 0), groups: 1 };
      const alpha = Float64Array.from([0.4, 0.6]);
      await engine.write(alpha, layout);
      const { values, shape } = await engine.predict({ split: "learn" });
      assert.deepEqual(shape, [12, 3]);
      const plain = JSON.parse(
        execFileSync(
          python.path,
          [
            join(import.meta.dirname, "torchvision_reference.py"),
            JSON.stringify([...alpha]),
            join(folder, "data.pt"),
            ...files,
          ],
          { encoding: "utf8", timeout: 300_000 },
        ),
      ) as { pred: number[]; loss: number; grad: number[] };
      values.forEach((v, k) => closeTo(v, plain.pred[k]!, 1e-3, `prediction ${k}`));
      const { loss, gradAlpha } = await engine.gradient({ split: "learn" }, LOGITS_OBJECTIVE);
      closeTo(loss, plain.loss, 1e-4, "loss");
      gradAlpha.forEach((g, k) => closeTo(g, plain.grad[k]!, 1e-3, `dL/dα[${k}]`));
    } finally {
      await engine.dispose();
    }
  });
});
