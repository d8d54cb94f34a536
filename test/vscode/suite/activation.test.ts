import assert from "node:assert/strict";
import * as vscode from "vscode";

describe("activation", () => {
  it("activates in the fixtures workspace and contributes its commands", async () => {
    const extension = vscode.extensions.getExtension("model-soup.model-soup");
    assert.ok(extension, "the extension is installed");
    await extension.activate();
    assert.equal(extension.isActive, true);
    const commands = await vscode.commands.getCommands(true);
    for (const id of ["modelSoup.mergeModels", "modelSoup.refreshModels", "modelSoup.restartWorker"]) {
      assert.ok(commands.includes(id), `${id} is registered`);
    }
    assert.ok(vscode.workspace.workspaceFolders?.length, "a workspace folder is open");
  });
});
