import assert from "node:assert/strict";
import * as vscode from "vscode";
import type { ModelViewer } from "../../../src/host/model-viewer.js";
import type { TensorDistributionLine } from "../../../src/protocol/worker.js";
import { api, inWorkspace, until } from "./helpers.js";

async function openedViewer(path: string, open: () => Thenable<unknown>): Promise<ModelViewer> {
  const soup = await api();
  await open();
  const viewer = await until(`the model viewer of ${path}`, () => soup.viewers().find((v) => v.uri.fsPath === path));
  await Promise.race([
    viewer.whenReady,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error("the viewer's webview did not say ready within 30 s")), 30_000),
    ),
  ]);
  return viewer;
}

describe("Model viewer", () => {
  it("opens a .safetensors file by default and lists its tensors; statistics come on demand", async () => {
    const path = inWorkspace("weights", "model.safetensors");
    const viewer = await openedViewer(path, () => vscode.commands.executeCommand("vscode.open", vscode.Uri.file(path)));
    const init = viewer.init!;
    assert.equal(init.error, undefined);
    assert.equal(init.format, "safetensors");
    assert.ok(init.tensors.length > 0, "every tensor is listed");
    for (const t of init.tensors) assert.ok(t.dtype && Array.isArray(t.shape), `${t.name} has a shape and a dtype`);
    assert.equal(
      init.parameters,
      init.tensors.reduce((s, t) => s + t.parameters, 0),
    );
    assert.equal(viewer.stats, undefined, "no tensor values read until asked");
    await viewer.handle({ type: "computeStats" });
    const stats = (viewer as { stats?: TensorDistributionLine[] }).stats ?? [];
    assert.equal(stats.length, init.tensors.length);
    for (const s of stats) {
      assert.ok(s.min <= s.mean && s.mean <= s.max, `${s.name}: min ≤ mean ≤ max`);
      assert.equal(
        s.histogram.reduce((a, b) => a + b, 0),
        s.count,
        `${s.name}: the histogram counts every finite value`,
      );
    }
    await vscode.commands.executeCommand("workbench.action.closeActiveEditor");
  });

  it("opens a .keras file with its layer table and tensors", async () => {
    const path = inWorkspace("keras3", "mlp_a.keras");
    const viewer = await openedViewer(path, () => vscode.commands.executeCommand("vscode.open", vscode.Uri.file(path)));
    const init = viewer.init!;
    assert.equal(init.format, "Keras");
    assert.ok(
      init.layers.some((l) => l.className === "Dense" && l.parameters > 0 && l.outputShape !== undefined),
      "Dense layers with parameters and output shapes",
    );
    assert.ok(
      init.tensors.some((t) => t.shape.length === 2),
      "kernels are listed with their shapes",
    );
    assert.match(init.architectureName, /^Dense /);
    await vscode.commands.executeCommand("workbench.action.closeActiveEditor");
  });

  it("Inspect opens a TF.js model.json in the viewer, with its compatibility group", async () => {
    const soup = await api();
    await soup.catalog.refresh();
    const path = inWorkspace("checkpoints/tfjs-lenet/a/mnist.json");
    const viewer = await openedViewer(path, () =>
      vscode.commands.executeCommand("modelSoup.inspect", vscode.Uri.file(path)),
    );
    const init = viewer.init!;
    assert.equal(init.format, "TF.js");
    assert.equal(init.parameters, 61_706);
    assert.match(init.group?.label ?? "", /^Conv2D 6-16 → Dense 120-84-10 · TF\.js · 3 models$/);
    assert.equal(init.group?.mergeable, true);
    const dense = init.layers.filter((l) => l.className === "Dense").at(-1);
    assert.deepEqual(dense?.outputShape, [null, 10], "the last Dense layer's output shape");
    await vscode.commands.executeCommand("workbench.action.closeActiveEditor");
  });
});
