import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as vscode from "vscode";
import { readManifest } from "../../../src/core/formats/registry.js";
import { DEFAULT_CONFIG, type MergeConfig } from "../../../src/protocol/panel.js";
import { soupVerdict } from "../../../src/core/report/verdict.js";
import { api, digitsData, digitsModels, inWorkspace, until, wrongData } from "./helpers.js";

function learnedConfig(models: string[], steps: number): MergeConfig {
  return {
    ...DEFAULT_CONFIG,
    method: "learned",
    steps,
    ingredients: models.map((path) => ({ path, include: true, coefficient: 1 })),
    data: { path: digitsData() },
  };
}

describe("Merge Models", () => {
  it("opens the Merge panel and its webview answers", async () => {
    const soup = await api();
    const panel = await vscode.commands.executeCommand("modelSoup.mergeModels", digitsModels());
    assert.ok(panel, "the command returns the panel it opened");
    const opened = soup.panels().at(-1)!;
    await Promise.race([
      opened.whenReady,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error("the webview did not say ready within 30 s")), 30_000),
      ),
    ]);
    assert.equal(opened.panel.title, `Merge ${digitsModels().length} Models: samples/digits/models`);
    assert.equal(opened.panel.visible, true);
  });

  it("starts the worker as a Merge panel opens, before any job, so a job does not wait for it", async () => {
    const soup = await api();
    const before = soup.worker.pid;
    if (before !== undefined) {
      process.kill(before, "SIGKILL");
      await until("the worker to stop", () => soup.worker.pid === undefined);
    }
    await vscode.commands.executeCommand("modelSoup.mergeModels", digitsModels().slice(0, 2));
    const pid = await until("a worker started by the panel", () => soup.worker.pid);
    assert.notEqual(pid, before);
    const opened = soup.panels().at(-1)!;
    assert.equal(opened.models.length, 2);
    assert.equal(opened.lastReport, undefined, "no job ran");
    opened.panel.dispose(); // the tests after this one work with the panel of all the digits models
  });

  it("brings the open panel of the same models forward instead of opening another", async () => {
    const soup = await api();
    const first = await vscode.commands.executeCommand("modelSoup.mergeModels", digitsModels());
    const open = soup.panels().length;
    const again = await vscode.commands.executeCommand("modelSoup.mergeModels", [...digitsModels()].reverse());
    assert.ok(first, "the command returns its panel");
    assert.strictEqual(again, first, "the same panel comes back for the same models, in any order");
    assert.equal(soup.panels().length, open, "no second panel for the same models");
  });

  it("flags data that does not fit the models as soon as it is chosen, before Start", async () => {
    const soup = await api();
    const panel = soup.panels().at(-1)!;
    await panel.setData(wrongData());
    assert.match(
      panel.dataError ?? "",
      /digits-63-columns\.csv: rows have 63 features; the model expects input \[batch, 64\]/,
    );
    await panel.setData(digitsData());
    assert.equal(panel.dataError, undefined, "the error clears when fitting data is chosen");
  });

  it("learns a soup of the digits sample, saves model + recipe, and the saved model re-reads", async () => {
    const soup = await api();
    const panel = soup.panels().at(-1)!;
    await panel.setData(digitsData());
    await panel.start(learnedConfig(digitsModels(), 30));
    const report = panel.lastReport;
    assert.ok(report, "the learned merge produced a report");
    assert.equal((report.coefficients as number[]).length, digitsModels().length);
    assert.equal(report.metrics.ingredients.length, digitsModels().length);
    assert.ok(
      report.metrics.merged.metric > 0.5,
      `the learned soup classifies digits (accuracy ${report.metrics.merged.metric})`,
    );
    assert.ok(report.learning, "the report says how learning ended");
    assert.ok(report.learning.steps >= 1 && report.learning.steps <= report.learning.budget.maxSteps);
    assert.match(
      soupVerdict(report).text,
      /^(The (learned|uniform|greedy) soup is the best single-size model: loss \d\.\d{4} against \d\.\d{4} for the best ingredient \(ingredient \d+\)|Kept the (learned|uniform|greedy) soup \(lowest validation loss\), but on the test rows it does not beat the best ingredient|No merge beat .+ \(ingredient \d+\) on validation, so it is kept as it is)/,
    );

    const folder = mkdtempSync(join(inWorkspace("samples"), "merged-"));
    const saved = await panel.save(undefined, join(folder, "model.json"));
    assert.ok(saved && existsSync(saved.model) && existsSync(saved.recipe), "model and recipe were written");
    const manifest = await readManifest(saved.model);
    const original = await readManifest(digitsModels()[0]!);
    assert.deepEqual(
      manifest.tensors.map((t) => [t.name, t.shape]),
      original.tensors.map((t) => [t.name, t.shape]),
    );
  });

  it("a saved merge is listed as a merge, not an ingredient, and the next folder merge leaves it out", async () => {
    const soup = await api();
    const saved = soup.panels().at(-1)!.savedOutput!;
    await soup.catalog.refresh();
    assert.ok(soup.catalog.merges.has(saved.model), "the merge is recognised by its recipe");
    const group = soup.tree.groups.find((g) => g.children.some((c) => c.path === digitsModels()[0]));
    assert.ok(group);
    assert.equal(group.children.length, digitsModels().length, "the sample's ingredients, the merge not among them");
    assert.ok(
      group.merges.some((m) => m.path === saved.model && m.merge?.ingredients.length === digitsModels().length),
      "listed under the group's merges, with its ingredients",
    );
    const before = soup.panels();
    const panel = await vscode.commands.executeCommand(
      "modelSoup.mergeFolder",
      vscode.Uri.file(inWorkspace("samples")),
    );
    assert.ok(panel, "the folder merge opened a panel");
    assert.deepEqual(
      [...(panel as { models: string[] }).models].sort(),
      [...digitsModels()].sort(),
      "the folder merge takes the five ingredients, not the merge",
    );
    assert.equal(panel, before.at(-1), "the open panel of the same models is reused, not a new one");
    assert.equal(soup.panels().length, before.length);
  });

  it("proposes to save outside the ingredients' folder", async () => {
    const soup = await api();
    assert.equal(
      soup.panels().at(-1)!.defaultSavePath(),
      inWorkspace("samples", "digits", "models-soup", "model.json"),
    );
  });

  it("shows the per-layer change from a chosen ingredient: a document naming both sides, change first, and the panel's chart", async () => {
    const soup = await api();
    const panel = soup.panels().at(-1)!;
    const second = digitsModels()[1]!;
    await panel.handle({ type: "showDiff", ingredient: second });
    // Opened beside the panel, which keeps the focus.
    const editor = await until("the per-layer change document", () =>
      vscode.window.visibleTextEditors.find(
        (e) => e.document.uri.scheme === "model-soup-layers" && e.document.uri.path.includes("ingredient 2"),
      ),
    );
    const lines = editor.document.getText().split("\n");
    assert.match(lines[0]!, /^Per-layer change of merged \(/, "names the merged side");
    assert.equal(lines[1], "from the reference ingredient 2 (ingredient-2/model.json)", "names the chosen ingredient");
    assert.match(
      editor.document.uri.path,
      /Per-Layer Diff merged .* vs ingredient 2/,
      "the tab title names both sides",
    );
    const rows = lines.filter((l) => /^\s*\d+\.\d\d% {2}\S/.test(l));
    assert.ok(rows.length > 2, "one line per tensor, the relative change first");
    assert.ok(
      rows.some((l) => !/^\s*0\.00%/.test(l)),
      "the merge moved some tensors",
    );
    assert.equal(panel.layerChanges?.reference, second, "the panel's chart compares with the chosen ingredient");
    assert.equal(panel.layerChanges?.rows.length, rows.length);
    await vscode.window.showTextDocument(editor.document, editor.viewColumn);
    await vscode.commands.executeCommand("workbench.action.closeActiveEditor");
  });

  it("aligns first when asked: barrier and cosine before and after, unit moves of an ingredient, and the aligned merge saved with its alignment", async () => {
    const soup = await api();
    const panel = soup.panels().at(-1)!;
    await panel.setData(digitsData());
    const models = digitsModels();
    const config: MergeConfig = {
      ...DEFAULT_CONFIG,
      method: "greedy",
      align: "weight",
      ingredients: models.map((path) => ({ path, include: true, coefficient: 1 })),
      data: { path: digitsData() },
    };
    await panel.start(config);
    const alignment = panel.lastReport?.alignment;
    assert.ok(alignment, "the greedy soup ran on aligned models");
    assert.equal(alignment.method, "weight");
    assert.equal(
      alignment.pairs.length,
      (models.length * (models.length - 1)) / 2,
      "every pair measured before and after",
    );
    assert.ok(
      alignment.pairs.every((p) => p.barrierBefore !== undefined && p.barrierAfter !== undefined),
      "labelled data: barriers before and after",
    );
    const other = models.find((m) => m !== alignment.reference)!;
    const page = await panel.showUnitMoves(other);
    assert.match(
      page ?? "",
      /^Units of ingredient \d \(.+\) after aligning it to ingredient \d \(.+\) \(weight matching\)/,
    );
    const moved = alignment.moved.find((m) => m.model === other)!.units;
    assert.match(
      page ?? "",
      moved === 0 ? /No unit moved/ : new RegExp(`${moved} units? moved\\.`),
      "the page agrees with the report's count",
    );
    await until(
      "the unit-moves page opens",
      () => vscode.window.visibleTextEditors.some((e) => e.document.uri.scheme === "model-soup-units") || undefined,
      10_000,
    );

    const folder = mkdtempSync(join(inWorkspace("samples"), "aligned-"));
    const saved = await panel.save(undefined, join(folder, "model.json"));
    assert.ok(saved && existsSync(saved.model));
    const recipe = JSON.parse(readFileSync(saved.recipe, "utf8")) as {
      alignment?: { method: string; reference: string; permutations: unknown[] };
    };
    assert.equal(recipe.alignment?.method, "weight", "the saved merge records its alignment");
    assert.equal(recipe.alignment?.permutations.length, models.length);
  });

  it("compares the manual weights' own soup: weights 1,0,…,0 score exactly as ingredient 1", async () => {
    const soup = await api();
    const panel = soup.panels().at(-1)!;
    const models = digitsModels();
    await panel.start({
      ...learnedConfig(models, 1),
      method: "manual",
      ingredients: models.map((path, i) => ({ path, include: true, coefficient: i === 0 ? 1 : 0 })),
    });
    const report = panel.lastReport!;
    assert.deepEqual(
      report.coefficients,
      models.map((_, i) => (i === 0 ? 1 : 0)),
    );
    const first = report.metrics.ingredients[0]!;
    const { model: _first, ...firstScores } = first;
    assert.deepEqual(report.metrics.merged, firstScores);
    assert.notEqual(report.metrics.merged.loss, report.metrics.uniform.loss, "not the uniform soup");
    assert.ok(!report.warnings.some((w) => /when you save/.test(w)), "no warning that the weights apply only on save");
  });

  it("cancelling a running job ends it quietly: no error, no result", async () => {
    const soup = await api();
    const panel = soup.panels().at(-1)!;
    const learning = new Promise<void>((resolve) => {
      const sub = soup.worker.onProgress((p) => {
        if (p.phase === "learning") {
          sub.dispose();
          resolve();
        }
      });
    });
    const ended = new Promise<unknown>((resolve) => {
      const sub = panel.onResult((r) => {
        sub.dispose();
        resolve(r);
      });
    });
    const running = panel.start(learnedConfig(digitsModels(), 400));
    await learning;
    await panel.handle({ type: "cancel" });
    await running; // resolves: a cancelled job is not a failure
    assert.equal(panel.lastReport, undefined, "no result from a cancelled job");
    assert.ok((await ended) instanceof Error, "listeners hear that the job ended without a report");
  });

  it("survives a crash of the worker", async () => {
    const soup = await api();
    const panel = soup.panels().at(-1)!;
    // Kill the worker at the first learning step of the job, so it dies mid-job.
    const learning = new Promise<void>((resolve) => {
      const sub = soup.worker.onProgress((p) => {
        if (p.phase === "learning") {
          sub.dispose();
          resolve();
        }
      });
    });
    const running = panel.start(learnedConfig(digitsModels(), 400));
    running.catch(() => undefined);
    await learning;
    const pid = await until("the worker process", () => soup.worker.pid);
    process.kill(pid, "SIGKILL");
    await assert.rejects(running, /worker/i, "the running job fails with a message about the worker");
    await panel.start(learnedConfig(digitsModels(), 5));
    assert.ok(panel.lastReport, "a new worker ran the next job");
    assert.notEqual(soup.worker.pid, pid);
  });
});
