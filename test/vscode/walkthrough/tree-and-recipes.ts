/**
 * The Explorer, the Model Explorer, the Per-Layer Diff and Apply Recipe on the real folders (kfold/, checkpoints/),
 * driven as a person would in code-server: a right-click on `checkpoints` as the window's first action offers
 * "Merge Models in Folder"; the Model Explorer names both groups by architecture; the Per-Layer Diff of two folds is
 * a document of its own language with no Problems; Apply Recipe on the recipe the CLI wrote asks before replacing
 * the model and says that the rebuilt tensors match the recorded hashes. Screenshots: docs/images/tree-*.png.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../code-server.js";
import { answerFileDialog, openWorkbench, runCommand } from "../ui-helpers.js";
import { makeRealFoldersWorkspace } from "../workspace.js";

const images = join(projectRoot, "docs", "images");

export async function main(): Promise<void> {
  const workspace = makeRealFoldersWorkspace();
  // The recipe Apply Recipe rebuilds: the CLI's uniform soup of the four folds.
  execFileSync(process.execPath, [join(projectRoot, "dist", "cli.cjs"), "merge", "kfold", "--out", "kfold/soup"], {
    cwd: workspace.root,
    stdio: "pipe",
  });
  const recipe = join(workspace.root, "kfold", "soup", "model.recipe.json");
  const recipeText = readFileSync(recipe, "utf8");
  mkdirSync(images, { recursive: true });
  const workbench = await openWorkbench(workspace, { name: "tree" });
  const { page, modelSoupIcon: icon } = workbench;
  try {
    // 1. The first thing done in the window: right-click the folder of checkpoints in the Explorer, once the
    // extension's contributions are in (its activity-bar icon shows; nothing of it has been opened or run).
    const folderRow = page.locator(".explorer-folders-view .monaco-list-row", { hasText: "checkpoints" }).first();
    await folderRow.waitFor({ timeout: 60_000 });
    await folderRow.click({ button: "right" });
    const menuItem = page.locator(".context-view .action-label", { hasText: "Merge Models in Folder" }).first();
    await menuItem.waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(images, "tree-context-menu.png") });
    await page.keyboard.press("Escape");

    // 2. The Model Explorer: groups named by architecture, the weights-only checkpoints too.
    await icon.click();
    const groupRow = page
      .locator(".monaco-list-row", { hasText: "Dense 12-32-16-2" })
      .filter({ hasText: "5 × Keras H5" });
    await groupRow.first().waitFor({ timeout: 60_000 });
    await page.waitForTimeout(1000);
    const rows = await page.locator(".monaco-list-row").allInnerTexts();
    assert.ok(!rows.some((r) => /\d+ tensors ·/.test(r)), `no group named by its tensor count: ${rows.join(" | ")}`);
    // At the sidebar's default width a group's label and description are whole: nothing cut to "…".
    const groups = (await page.locator(".pane-body .monaco-list-row").evaluateAll((all) =>
      all
        .filter((r) => r.querySelector(".codicon-layers"))
        .map((r) => {
          const box = r.querySelector(".monaco-icon-label-container")!;
          return { text: r.textContent ?? "", cut: box.scrollWidth > box.clientWidth + 1 };
        }),
    )) as { text: string; cut: boolean }[];
    assert.equal(groups.length, 3, `three groups: ${groups.map((g) => g.text).join(" | ")}`);
    assert.deepEqual(
      groups.filter((g) => g.cut).map((g) => g.text),
      [],
      "no group's description is cut",
    );
    await page.screenshot({ path: join(images, "tree-model-explorer.png") });

    // 3. The Per-Layer Diff of two folds: its own language, never JSON, no Problems.
    await runCommand(page, "Model Soup: Show Per-Layer Diff");
    const input = page.locator(".quick-input-widget input");
    await page.locator(".quick-input-widget .quick-input-title", { hasText: "the reference model" }).waitFor();
    await input.fill("model_fold_1");
    await page.locator(".quick-input-list .monaco-list-row", { hasText: "model_fold_1" }).first().waitFor();
    await page.keyboard.press("Enter");
    await page.locator(".quick-input-widget .quick-input-title", { hasText: "which model's change" }).waitFor();
    await input.fill("model_fold_2");
    await page.locator(".quick-input-list .monaco-list-row", { hasText: "model_fold_2" }).first().waitFor();
    await page.keyboard.press("Enter");
    await page.locator(".tab", { hasText: "Per-Layer Diff" }).first().waitFor({ timeout: 60_000 });
    await page
      .locator(".statusbar-item", { hasText: "Model Soup Per-Layer Diff" })
      .first()
      .waitFor({ timeout: 15_000 });
    // Keras 3's vars/<i> under the names Keras gives them.
    await page.locator(".view-lines", { hasText: "batch_normalization/moving_mean" }).first().waitFor();
    await page.waitForTimeout(2000);
    const problems = await page.locator("#status\\.problems").first().getAttribute("aria-label");
    assert.match(problems ?? "", /No Problems/i, `the Problems count: ${problems}`);
    await page.screenshot({ path: join(images, "tree-layer-diff.png") });

    // 4. Apply Recipe: the titled dialog, the replace confirmation, the hash verdict with Reveal / Open.
    await runCommand(page, "Model Soup: Apply Recipe…");
    await answerFileDialog(page, "Apply Recipe", recipe);
    const dialog = page.locator(".monaco-dialog-box", { hasText: "Replace soup/model.keras?" });
    await dialog.waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(images, "tree-apply-confirm.png") });
    await dialog.locator(".monaco-button", { hasText: "Replace" }).first().click();
    const verdict = page.locator(".notification-toast", { hasText: "tensors match the hashes the recipe recorded" });
    await verdict.waitFor({ timeout: 60_000 });
    await verdict.locator(".monaco-button", { hasText: "Reveal in Explorer" }).first().waitFor();
    await page.screenshot({ path: join(images, "tree-apply-verdict.png") });
    assert.equal(readFileSync(recipe, "utf8"), recipeText, "the recipe (and its created) is unchanged");
  } catch (error) {
    await workbench.recordFailure();
    throw error;
  } finally {
    await workbench.close();
  }
}
