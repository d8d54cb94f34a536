import assert from "node:assert/strict";
import * as vscode from "vscode";
import type { CompareView } from "../../../src/host/compare-view.js";
import { api, inWorkspace, until } from "./helpers.js";

async function computedView(a: string, b: string): Promise<CompareView> {
  const soup = await api();
  const view = await until(`the Compare Models view of ${a} and ${b}`, () =>
    soup.compareViews().find((v) => v.init.a.path === a && v.init.b.path === b),
  );
  await view.computed;
  return view;
}

describe("Compare Models", () => {
  afterEach(() => api().then((soup) => soup.compareViews().forEach((v) => v.dispose())));

  it("compares the two models selected in the Model Explorer, in the worker, and brings the view forward again", async () => {
    const soup = await api();
    await soup.catalog.ready();
    const group = await until("the TF.js LeNet group", () =>
      soup.tree.groups.find((g) => g.children.filter((c) => c.path.includes("tfjs-lenet")).length >= 2),
    );
    const [first, second] = group.children.filter((c) => c.path.includes("tfjs-lenet"));
    // What a tree's context menu passes: the clicked node and the selection.
    await vscode.commands.executeCommand("modelSoup.compareModels", second, [first, second]);
    const view = await computedView(first!.path, second!.path);
    assert.equal(view.init.state, "done", view.init.error);
    const c = view.init.comparison!;
    assert.equal(c.matchedBy, "name");
    assert.equal(c.tensors.length, 10, "LeNet has 10 tensors");
    assert.ok(c.tensors.every((t) => t.relativeDifference! > 0 && t.a.histogram.length === t.b.histogram.length));
    assert.match(view.panel.title, /↔/, "the tab names both sides");
    await vscode.commands.executeCommand("modelSoup.compareModels", first, [first, second]);
    assert.equal(soup.compareViews().length, 1, "the same pair brings its view forward");
  });

  it("pairs two Keras LeNets whose layers are named differently by structure", async () => {
    const a = inWorkspace("checkpoints", "keras-lenet", "keras216.h5");
    const b = inWorkspace("checkpoints", "keras-lenet", "tfkeras216.h5");
    await vscode.commands.executeCommand("modelSoup.compareModels", [a, b]);
    const view = await computedView(a, b);
    assert.equal(view.init.state, "done", view.init.error);
    assert.equal(view.init.comparison!.matchedBy, "structure");
    assert.ok(view.init.comparison!.tensors.some((t) => t.name !== t.nameB));
  });

  it("says in the view, naming both files, when the two are not of one architecture", async () => {
    const a = inWorkspace("checkpoints", "tfjs-lenet", "a", "mnist.json");
    const b = inWorkspace("mismatch", "model1", "model.json");
    await vscode.commands.executeCommand("modelSoup.compareModels", [a, b]);
    const view = await computedView(a, b);
    assert.equal(view.init.state, "failed");
    assert.ok(view.init.error!.includes(a) && view.init.error!.includes(b), view.init.error);
    assert.match(view.init.error!, /are not of one architecture/);
  });

  it("refuses a selection of three models without opening a view", async () => {
    const soup = await api();
    const group = soup.tree.groups.find((g) => g.children.length >= 3)!;
    const three = group.children.slice(0, 3);
    await vscode.commands.executeCommand("modelSoup.compareModels", three[0], three);
    assert.equal(soup.compareViews().length, 0);
  });
});
