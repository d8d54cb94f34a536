import assert from "node:assert/strict";
import * as vscode from "vscode";
import { api, inWorkspace } from "./helpers.js";

// Runs in the second code-server session, where the folder is left untrusted (test/vscode/run.ts); in the
// trusted session it skips itself.
describe("in an untrusted workspace", () => {
  before(function () {
    if (process.env.MODEL_SOUP_EXPECT_UNTRUSTED)
      assert.equal(vscode.workspace.isTrusted, false, "the untrusted session's folder is trusted");
    else if (vscode.workspace.isTrusted) this.skip();
  });

  it("still lists and groups the models", async () => {
    const soup = await api();
    await soup.catalog.refresh();
    const group = soup.tree.groups.find((g) =>
      g.children.some((c) => c.path === inWorkspace("checkpoints/tfjs-lenet/a/mnist.json")),
    );
    assert.ok(group?.mergeable, "the TF.js LeNets are found and grouped without trust");
  });

  it("does not merge: no panel opens and no worker starts", async () => {
    const soup = await api();
    const models = ["a", "b"].map((x) => inWorkspace(`checkpoints/tfjs-lenet/${x}/mnist.json`));
    const panel = await vscode.commands.executeCommand("modelSoup.mergeModels", models);
    assert.equal(panel, undefined);
    await vscode.commands.executeCommand("modelSoup.mergeModels");
    assert.equal(soup.panels().length, 0);
    assert.equal(soup.worker.pid, undefined, "nothing ran TensorFlow.js");
  });
});
