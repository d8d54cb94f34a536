import assert from "node:assert/strict";
import * as vscode from "vscode";
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { REPLACE } from "../../../src/host/apply-recipe.js";
import { api, digitsModels, inWorkspace, until } from "./helpers.js";

describe("Per-Layer Diff document and Apply Recipe", () => {
  it("opens the Per-Layer Diff of two model.json files as its own language, with no diagnostics", async () => {
    const soup = await api();
    await soup.catalog.refresh();
    const [first, second] = digitsModels();
    let done = false;
    const command = vscode.commands
      .executeCommand("modelSoup.showLayerDiff", vscode.Uri.file(first!))
      .then(() => (done = true));
    // The command asks which model to compare with the one clicked: the quick pick lists the group's others.
    for (let i = 0; i < 40 && !done; i++) {
      await new Promise((r) => setTimeout(r, 500));
      await vscode.commands.executeCommand("workbench.action.acceptSelectedQuickOpenItem");
    }
    await command;
    const editor = await until("the Per-Layer Diff document", () =>
      vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme === "model-soup-layers"),
    );
    assert.equal(editor.document.languageId, "model-soup-layer-diff");
    assert.doesNotMatch(editor.document.uri.path, /\.json$/, "the name does not end in .json");
    assert.match(editor.document.uri.path, /^\/Per-Layer Diff /);
    assert.match(editor.document.getText(), /^Per-layer change of /);
    assert.ok(second, "the sample has two ingredients");
    // JSON diagnostics come asynchronously: give them the time they would take.
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual(vscode.languages.getDiagnostics(editor.document.uri), [], "no Problems entry");
    await vscode.commands.executeCommand("workbench.action.closeActiveEditor");
  });

  it("asks before replacing a recipe's model, checks the rebuilt files against the recorded hashes, and keeps the recipe when they match", async () => {
    const soup = await api();
    const cli = join(vscode.extensions.getExtension("model-soup.model-soup")!.extensionPath, "dist", "cli.cjs");
    const [first, second] = digitsModels();
    const out = inWorkspace("applied", "soup");
    execFileSync(process.execPath, [cli, "merge", first!, second!, "--out", out], { stdio: "pipe" });
    const recipe = join(out, "model.recipe.json");
    const model = join(out, "model.json");
    const recipeText = readFileSync(recipe, "utf8");
    const modelTime = statSync(model).mtimeMs;
    const questions: string[] = [];

    const kept = await soup.applyRecipe(recipe, async (question, detail) => {
      questions.push(`${question}\n${detail}`);
      return undefined; // Cancel
    });
    assert.equal(kept, undefined, "cancelled: nothing rebuilt");
    assert.match(questions[0]!, /^Replace soup\/model\.json\?/);
    assert.match(questions[0]!, /It is the model the recipe describes/);
    assert.equal(statSync(model).mtimeMs, modelTime, "the model was not touched");

    const outcome = await soup.applyRecipe(recipe, async () => REPLACE);
    assert.ok(outcome);
    assert.equal(outcome.check.verdict, "match", outcome.check.line);
    assert.equal(outcome.recipeKept, true);
    assert.ok(statSync(model).mtimeMs > modelTime, "the model was written again");
    assert.equal(readFileSync(recipe, "utf8"), recipeText, "the recipe (and its created) is unchanged");
  });
});
