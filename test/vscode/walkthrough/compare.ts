/**
 * The Compare Models walk-through, in code-server on the real-folders workspace: two k-fold models selected in the
 * Model Explorer → Compare Models… from its context menu → the table and both histograms of every tensor, sorted by
 * the keyboard; then Compare with… from a model viewer; the view at 500 px. Screenshots: docs/images/compare-*.png.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Frame, Page } from "playwright-core";
import { projectRoot } from "../code-server.js";
import { openWorkbench, quickOpen, viewerFrame } from "../ui-helpers.js";
import { makeRealFoldersWorkspace } from "../workspace.js";

const shot = (name: string) => join(projectRoot, "docs", "images", `compare-${name}.png`);

/** The frame of the Compare Models view that shows `text`. */
async function compareFrame(page: Page, text: string, timeoutMs = 60_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const frame of page.frames()) {
      const found = await frame
        .$eval("#model-soup-compare", (el, t) => (el.textContent ?? "").includes(t), text)
        .catch(() => false);
      if (found) return frame;
    }
    if (Date.now() > deadline) throw new Error(`no Compare Models view showing "${text}"`);
    await page.waitForTimeout(250);
  }
}

/** The tensor names of the table, top to bottom. */
const tensorOrder = (frame: Frame) =>
  frame.locator("#compare-table tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-tensor")));

/** The relative differences of the table, top to bottom. */
const differences = (frame: Frame) =>
  frame
    .locator("#compare-table tbody td.difference")
    .evaluateAll((cells) => cells.map((c) => Number((c.textContent ?? "").trim())));

export async function main(): Promise<void> {
  const workbench = await openWorkbench(makeRealFoldersWorkspace(), { name: "compare", openModelExplorer: true });
  const { page } = workbench;
  try {
    // Two k-fold models selected in the Model Explorer (click, then Ctrl+click), and its context menu.
    const tree = page.locator(".pane-body .monaco-list[aria-label*='Model'], .pane-body .monaco-list").first();
    const row = (name: string) => page.locator(".pane-body .monaco-list-row", { hasText: name }).first();
    await row("model_fold_1").waitFor({ timeout: 60_000 });
    // A plain click opens the model's viewer, which takes the focus: both models are Ctrl+clicked in the focused tree.
    for (let attempt = 0; attempt < 3; attempt++) {
      await tree.focus();
      await row("model_fold_1").click({ modifiers: ["Control"] });
      await page.waitForTimeout(300);
      await row("model_fold_2").click({ modifiers: ["Control"] });
      await page.waitForTimeout(500);
      if ((await tree.locator(".monaco-list-row.selected").count()) === 2) break;
    }
    assert.deepEqual(
      (await tree.locator(".monaco-list-row.selected").allTextContents()).map((t) => t.match(/model_fold_\d/)?.[0]),
      ["model_fold_1", "model_fold_2"],
      "two models are selected",
    );
    await row("model_fold_2").click({ button: "right" });
    const menu = page.locator(".context-view .monaco-menu");
    await menu.waitFor({ timeout: 10_000 });
    // A Monaco menu takes the item under the pointer on Enter (a synthetic click on it can go unseen).
    await menu.locator(".action-label", { hasText: "Compare Models…" }).first().hover();
    await page.keyboard.press("Enter");

    let frame = await compareFrame(page, "Overall");
    await frame.locator("#matched", { hasText: "14 tensors matched by name" }).waitFor();
    const rows = await frame.locator("#compare-table tbody tr").count();
    assert.equal(rows, 14, "a row per tensor");
    assert.equal(await frame.locator("#compare-table svg.paired-histogram").count(), rows, "both histograms per row");
    assert.ok((await frame.locator("#compare-table rect.bar-a").count()) > rows, "A's bars are drawn");
    assert.ok((await frame.locator("#compare-table rect.bar-b").count()) > rows, "B's bars are drawn");
    const colours = (await frame.evaluate(
      "[...new Set([...document.querySelectorAll('#compare-table rect.bar-a, #compare-table rect.bar-b')].map((b) => getComputedStyle(b).fill))]",
    )) as string[];
    assert.equal(colours.length, 2, `A and B in two theme colours: ${colours.join(", ")}`);
    const fileOrder = await tensorOrder(frame);
    await page.mouse.move(900, 880); // no tree tooltip over the view in the screenshot
    await page.waitForTimeout(800);
    await page.screenshot({ path: shot("table") });

    // Sorted by the keyboard: focus the header button, Enter sorts by the largest difference first.
    await frame.locator("#sort-relativeDifference").focus();
    await page.keyboard.press("Enter");
    await frame.locator("th[aria-sort='descending'] #sort-relativeDifference").waitFor();
    const sorted = await differences(frame);
    assert.deepEqual(
      sorted,
      [...sorted].sort((x, y) => y - x),
      "largest relative difference first",
    );
    assert.equal(await frame.evaluate("document.activeElement?.id"), "sort-relativeDifference", "focus stays");
    await page.keyboard.press("Enter");
    const ascending = await differences(frame);
    assert.deepEqual(ascending, [...sorted].reverse(), "Enter again turns the order around");
    await frame.locator("#file-order").click();
    assert.deepEqual(await tensorOrder(frame), fileOrder, "back to the files' order");

    // Compare with… from the model viewer of a third fold: the other folds are offered, the fourth is picked.
    await quickOpen(page, "model_fold_3.keras");
    const viewer = await viewerFrame(page, "model_fold_3.keras");
    await viewer.locator("#compare-with").click();
    const picks = page.locator(".quick-input-widget .quick-input-list .monaco-list-row");
    await picks.first().waitFor({ timeout: 30_000 });
    const offered = await picks.allTextContents();
    assert.ok(
      offered.some((t) => t.includes("model_fold_4")) && !offered.some((t) => t.includes("model_fold_3.keras ")),
      `the other folds are offered: ${offered.join(" | ")}`,
    );
    await page.locator(".quick-input-widget input").fill("model_fold_4");
    await page.locator(".quick-input-list .monaco-list-row", { hasText: "model_fold_4" }).first().waitFor();
    await page.keyboard.press("Enter");
    frame = await compareFrame(page, "model_fold_4");
    await frame.locator("#compare-table tbody tr").first().waitFor({ timeout: 60_000 });
    await frame.locator("#side-a", { hasText: "model_fold_3" }).waitFor();
    await page.locator(".tab", { hasText: "model_fold_3.keras ↔ model_fold_4.keras" }).first().waitFor();
    await page.waitForTimeout(300);
    await page.screenshot({ path: shot("with") });

    // Swap A and B: compared again with the fourth fold as the reference.
    await frame.locator("#swap").click();
    await frame.locator("#side-a", { hasText: "model_fold_4" }).waitFor({ timeout: 30_000 });
    await frame.locator("#compare-table tbody tr").first().waitFor({ timeout: 60_000 });

    // A 500 px window: the sides stack, names wrap, the table fits without a horizontal scroll bar.
    await page.setViewportSize({ width: 500, height: 900 });
    await page.keyboard.press("Control+b"); // the side bar closed, as one would in a narrow window
    await page.waitForTimeout(800);
    frame = await compareFrame(page, "Overall");
    const fits = await frame.evaluate(
      "(() => { const box = document.querySelector('.table-box'); return box.scrollWidth <= box.clientWidth + 1 && document.body.scrollWidth <= window.innerWidth + 1; })()",
    );
    assert.ok(fits, "nothing wider than the 500 px window");
    await page.screenshot({ path: shot("narrow") });
  } catch (error) {
    await workbench.recordFailure();
    throw error;
  } finally {
    await workbench.close();
  }
}
