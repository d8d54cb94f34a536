/**
 * The Merge panel's results, walked through in code-server on the real-folders workspace (issue 23, items 3, 5, 6
 * and 8): a learned soup of samples/digits with its data (the charts mark the kept step, end in the kept
 * coefficients, name each ingredient in a fixed legend; the results chart and the coefficient column), the k-fold
 * family's greedy soup where no merge beats the best ingredient (the primary action opens that ingredient;
 * "Run Again without …" names the models the greedy soup left out), a save announced once (the panel's line, no
 * notification over it), the panel in a 500 px wide window (one column, no horizontal scroll, the Weight column visible). Screenshots go to
 * docs/images/results-*.png.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Frame, Page } from "playwright-core";
import { projectRoot } from "../code-server.js";
import { answerFileDialog, openWorkbench, runCommand, setColorTheme } from "../ui-helpers.js";
import { makeRealFoldersWorkspace } from "../workspace.js";

const images = join(projectRoot, "docs", "images");

/** Opens a Merge panel on the group whose models' names contain `filter`; returns its frame. */
async function openPanel(page: Page, filter: string, models: number): Promise<Frame> {
  await runCommand(page, "Model Soup: Merge Models");
  await page.locator(".quick-input-widget input").fill(filter);
  await page
    .locator(".quick-input-list .monaco-list-row", { hasText: `${models} × ` })
    .first()
    .waitFor({ timeout: 30_000 });
  await page.keyboard.press("Enter");
  const deadline = Date.now() + 60_000;
  for (;;) {
    for (const frame of page.frames()) {
      const title = await frame.$eval("#model-soup-panel h1", (el) => el.textContent ?? "").catch(() => "");
      if (title.includes(`Merge ${models} Models`) && (await frame.$("#model-soup-panel table"))) return frame;
    }
    if (Date.now() > deadline) throw new Error(`no Merge panel for ${filter}`);
    await page.waitForTimeout(250);
  }
}

async function chooseData(page: Page, frame: Frame, path: string): Promise<void> {
  await frame.locator("#pick-data").click();
  await answerFileDialog(page, "Data to learn and compare on", path);
  await frame.locator("#data-preview", { hasText: "samples" }).waitFor({ timeout: 30_000 });
}

/** The legend's colours ("rgb(…)", read from the page) as CIE L*a*b*. */
async function legendColours(frame: Frame): Promise<number[][]> {
  const colours = (await frame.evaluate(
    `[...document.querySelectorAll("#coefficient-legend .swatch")].map((e) => getComputedStyle(e).borderTopColor)`,
  )) as string[];
  return colours.map((c) => {
    const [r, g, b] = (c.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((v) => {
      const x = Number(v) / 255;
      return x > 0.04045 ? ((x + 0.055) / 1.055) ** 2.4 : x / 12.92;
    }) as [number, number, number];
    const f = (t: number) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
    const x = f((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047);
    const y = f(0.2126 * r + 0.7152 * g + 0.0722 * b);
    const z = f((0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883);
    return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
  });
}

/** The two legend colours closest to each other (CIE76 ΔE), so no two ingredients look alike in `theme`. */
async function assertDistinctColours(frame: Frame, theme: string): Promise<void> {
  const lab = await legendColours(frame);
  let closest = { delta: Infinity, pair: "" };
  for (let i = 0; i < lab.length; i++)
    for (let j = i + 1; j < lab.length; j++) {
      const delta = Math.hypot(...lab[i]!.map((v, k) => v - lab[j]![k]!));
      if (delta < closest.delta) closest = { delta, pair: `#${i + 1} and #${j + 1}` };
    }
  assert.equal(lab.length, 7);
  assert.ok(closest.delta >= 30, `in ${theme}, ${closest.pair} look alike (ΔE ${closest.delta.toFixed(1)})`);
}

async function setSelect(frame: Frame, id: string, value: string): Promise<void> {
  await frame.locator(`#${id}`).evaluate((el, v) => {
    (el as unknown as { value: string }).value = v;
    el.dispatchEvent(new Event("change"));
  }, value);
}

export async function main(): Promise<void> {
  const workspace = makeRealFoldersWorkspace();
  mkdirSync(images, { recursive: true });
  const workbench = await openWorkbench(workspace, { name: "results", openModelExplorer: true });
  const { page } = workbench;
  try {
    await page.locator(".monaco-list-row", { hasText: "7 × TF.js" }).first().waitFor({ timeout: 60_000 });

    // 1. A learned soup of the digits sample: the charts tell what was kept.
    let frame = await openPanel(page, "ingredient-1", 7);
    assert.match(
      (await frame.locator("h1").textContent()) ?? "",
      /^Merge 7 Models: samples\/digits\/models$/,
      "the title names the models' folder",
    );
    await chooseData(page, frame, join(workspace.sample!, "soup.csv.gz"));
    await frame.locator("#start:not([disabled])").waitFor({ timeout: 30_000 });
    await frame.locator("#start").click();
    await frame.locator("#loss-legend li").first().waitFor({ timeout: 120_000 });
    // Before any hover, the legend names the series and the readout shows numbers, never "--".
    const legend = await frame.locator("#coefficient-legend li .legend-name").allTextContents();
    assert.equal(legend.length, 7, "one legend entry per ingredient");
    assert.ok(
      legend.every((t) => /^#\d ingredient-\d\/model\.json$/.test(t)),
      `legend names: ${legend.join(", ")}`,
    );
    assert.doesNotMatch((await frame.locator(".charts").textContent()) ?? "", /--/);
    const swatches = (await frame.evaluate(
      `[...document.querySelectorAll("#coefficient-legend .swatch")].map((e) => getComputedStyle(e).borderTopColor + " " + getComputedStyle(e).borderTopStyle)`,
    )) as string[];
    assert.equal(new Set(swatches).size, 7, `distinct colours: ${swatches.join(" ")}`);
    await frame.locator("#results table", { hasText: "Uniform soup" }).waitFor({ timeout: 300_000 });
    await frame.locator("#coefficient-kept:not([hidden])").waitFor();
    const coefBox = frame.locator(".charts .chart").nth(1);
    const endState = ((await coefBox.getAttribute("data-end-state")) ?? "").split(",").map(Number);
    assert.equal(endState.length, 7);
    // The end state is the kept coefficients, the ones the results table lists.
    const column = await frame
      .locator("#results table tbody tr.ingredient td:last-child")
      .allTextContents()
      .then((cells) => cells.map((c) => Number(c.split(" ")[0])));
    assert.deepEqual(
      endState.map((v) => v.toFixed(3)),
      column.map((v) => v.toFixed(3)),
      "the coefficient chart ends in the coefficients of the results table",
    );
    const keptLine = (await frame.locator("#coefficient-kept").textContent()) ?? "";
    const keptStep = (await coefBox.getAttribute("data-kept-step")) ?? "";
    assert.match(keptLine, /^kept: (step \d+|.+ \(no learned soup beat it on validation\))/);
    if (keptStep !== "") assert.ok(keptLine.startsWith(`kept: step ${keptStep}`), "the marker's step is in its words");
    assert.equal(await frame.locator("#loss-kept").textContent(), keptLine, "both charts mark what was kept");
    // Hovering changes the readout's text, not the layout.
    // Where the readout sits in its chart's cell (hovering may scroll the page, which moves both).
    const place = async () => {
      const cell = (await frame.locator(".charts .chart-cell").nth(1).boundingBox())!;
      const r = (await frame.locator("#coefficient-readout").boundingBox())!;
      return { x: r.x - cell.x, y: r.y - cell.y, width: r.width, height: r.height, cell: cell.height };
    };
    // Measured once the page has settled (the result's redraws done).
    let before = await place();
    for (let attempt = 0; attempt < 20; attempt++) {
      await page.waitForTimeout(250);
      const again = await place();
      if (JSON.stringify(again) === JSON.stringify(before)) break;
      before = again;
    }
    const over = coefBox.locator(".u-over");
    const chart = (await over.boundingBox())!;
    await over.hover({ position: { x: chart.width * 0.2, y: chart.height / 2 } });
    await over.hover({ position: { x: chart.width * 0.3, y: chart.height / 2 } });
    await page.waitForTimeout(300);
    const after = await place();
    assert.deepEqual(before, after, "the readout keeps its place on hover");
    assert.match((await frame.locator("#coefficient-readout").textContent()) ?? "", /^step \d+: #1 /);
    // The results chart: a bar per row but the ensemble, which is the reference line.
    const bars = await frame.locator("#results-chart .bar-row").count();
    const rows = await frame.locator("#results table tbody tr").count();
    assert.equal(bars, rows - 1, "a bar per row of the table but the ensemble");
    assert.ok((await frame.locator("#results-chart .bar-reference").count()) === bars);
    const mergedRow = (await frame.locator("#results table tbody tr.merged th").textContent()) ?? "";
    if (keptStep === "") assert.match(mergedRow, /kept over the learned soup/);
    else assert.equal(mergedRow, "Merged (learned soup)");
    await frame.evaluate('document.querySelector(".charts")?.scrollIntoView({ block: "start" })');
    await page.mouse.move(0, 0);
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(images, "results-learned-charts.png") });
    await assertDistinctColours(frame, "Dark Modern");
    // The same charts in the light theme: the colours follow it and still differ.
    await setColorTheme(page, "Light Modern", "light");
    const background = (await frame.evaluate("getComputedStyle(document.body).backgroundColor")) as string;
    assert.ok(
      (background.match(/\d+/g) ?? []).slice(0, 3).every((v) => Number(v) > 200),
      `the panel wears the light theme: ${background}`,
    );
    await assertDistinctColours(frame, "Light Modern");
    await frame.evaluate('document.querySelector(".charts")?.scrollIntoView({ block: "start" })');
    await page.mouse.move(0, 0);
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(images, "results-learned-charts-light.png") });
    assert.equal(await page.locator(".monaco-workbench.vs").count(), 1, "still light in the screenshot");
    await setColorTheme(page, "Dark Modern", "dark");
    await frame.evaluate('document.querySelector("#results")?.scrollIntoView({ block: "start" })');
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(images, "results-learned-table.png") });

    // Saved: a notification with Reveal / Open Recipe, and the panel scrolled to its line.
    await frame.locator("#save").click();
    await page
      .locator(".quick-input-widget .quick-input-title", { hasText: "Save the merged model" })
      .waitFor({ state: "visible" });
    const saveInput = page.locator(".quick-input-widget input");
    for (let attempt = 0; attempt < 40 && !(await saveInput.inputValue()).endsWith(".json"); attempt++)
      await page.waitForTimeout(250);
    await page.keyboard.press("Enter");
    const create = page.locator(".quick-input-widget .quick-input-title", { hasText: "does not exist" });
    if (
      await create.waitFor({ state: "visible", timeout: 5000 }).then(
        () => true,
        () => false,
      )
    )
      await page.keyboard.press("Enter");
    await frame.locator("#saved").waitFor({ timeout: 60_000 });
    await frame.locator("#saved #reveal-saved").waitFor();
    await page.waitForTimeout(1500);
    // In the window's coordinates: the whole line within the visible page.
    const line = (await frame.locator("#saved").boundingBox())!;
    const inView = line.y >= 0 && line.y + line.height <= page.viewportSize()!.height;
    assert.ok(inView, "the panel scrolled to the saved line");
    // Announced once: no notification over the line it would cover while the panel is in view.
    assert.equal(
      await page.locator(".notification-toast", { hasText: "Saved the merged model" }).count(),
      0,
      "no save notification while the panel shows the saved line",
    );
    await page.screenshot({ path: join(images, "results-saved.png") });
    await frame.locator("#saved #open-recipe").click();
    await page.locator(".tab", { hasText: "recipe.json" }).first().waitFor({ timeout: 30_000 });

    // 2. The k-fold family (trained from scratch): no merge beats the best ingredient.
    frame = await openPanel(page, "model_fold", 4);
    assert.match((await frame.locator("h1").textContent()) ?? "", /^Merge 4 Models: kfold$/);
    await page.locator(".tab", { hasText: "Merge 4 Models: kfold" }).first().waitFor();
    await page.locator(".tab", { hasText: "Merge 7 Models: samples/digits/models" }).first().waitFor();
    await setSelect(frame, "method", "greedy");
    await frame.locator("#pick-data").click();
    await answerFileDialog(page, "Data to learn and compare on", join(workspace.root, "data", "table.csv"));
    await frame.locator("#data-preview", { hasText: "samples" }).waitFor({ timeout: 30_000 });
    await frame.locator("#start:not([disabled])").waitFor({ timeout: 30_000 });
    await frame.locator("#start").click();
    await frame.locator("#verdict").waitFor({ timeout: 300_000 });
    const verdict = (await frame.locator("#verdict").textContent()) ?? "";
    assert.match(verdict, /^No merge beat the best ingredient \(ingredient (\d)\)/);
    const best = Number(/ingredient (\d)/.exec(verdict)![1]);
    const open = frame.locator("#open-best");
    await open.waitFor();
    assert.equal((await open.textContent())?.trim(), `Open #${best} model_fold_${best}.keras`);
    assert.equal(await open.getAttribute("secondary"), null, "opening the best ingredient is the primary action");
    // Its copy button says what it copies: the path, of that ingredient.
    const copy = frame.locator("#copy-best");
    assert.equal((await copy.textContent())?.trim(), `Copy Path of #${best}`);
    assert.equal(await copy.getAttribute("title"), join(workspace.root, "kfold", `model_fold_${best}.keras`));
    assert.notEqual(await frame.locator("#save").getAttribute("secondary"), null, "saving the merge is secondary");
    const runWithout = frame.locator("#run-without");
    await runWithout.waitFor();
    const offered = (await runWithout.textContent())?.trim() ?? "";
    assert.match(offered, /^Run Again without #\d(, #\d)*$/);
    assert.ok(!offered.split(/[ ,]+/).includes(`#${best}`), "the best ingredient is never left out");
    await frame.locator("#harmful", { hasText: "the greedy soup left out" }).waitFor();
    // One basin notice, worded by what was measured (far-apart weights: different initialisations).
    const basin = frame.locator("#basin");
    await basin.waitFor();
    assert.match((await basin.textContent()) ?? "", /weights are far apart \(cosine/);
    assert.equal(
      await frame.locator("#results .notice.warning", { hasText: "share a basin" }).count(),
      0,
      "the worker's basin warning is not repeated below the results",
    );
    await frame.evaluate('document.querySelector("#results")?.scrollIntoView({ block: "start" })');
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(images, "results-keep-best.png") });

    await copy.click();
    const copied = page.locator(".notification-toast", { hasText: "Copied the path of" });
    await copied.waitFor({ timeout: 15_000 });
    assert.match((await copied.textContent()) ?? "", new RegExp(`model_fold_${best}\\.keras: /`));
    assert.equal(
      (await page.evaluate("navigator.clipboard.readText()")) as string,
      join(workspace.root, "kfold", `model_fold_${best}.keras`),
      "the clipboard holds the path",
    );

    // Opening the best ingredient opens its viewer.
    await open.click();
    await page
      .locator(".tab", { hasText: `model_fold_${best}.keras` })
      .first()
      .waitFor({ timeout: 30_000 });
    await page.locator(".tab", { hasText: "Merge 4 Models: kfold" }).first().click();
    frame = await openedPanel(page, "Merge 4 Models: kfold");

    // "Run Again without …" leaves them out and runs.
    await frame.locator("#run-without").click();
    await frame.locator("#verdict").waitFor({ timeout: 300_000 });
    const used = await frame
      .locator("#model-soup-panel vscode-checkbox.include")
      .evaluateAll((els) => els.map((e) => (e as unknown as { checked: boolean }).checked));
    assert.equal(used.filter((u) => !u).length, offered.split(",").length, "the harmful ones are left out");

    // 3. A 500 px window: one column, no horizontal scroll, the Weight column in view, charts within the panel.
    await page.setViewportSize({ width: 500, height: 900 });
    await runCommand(page, "View: Close Primary Side Bar");
    await page.locator(".tab", { hasText: "Merge 7 Models" }).first().click();
    frame = await openedPanel(page, "Merge 7 Models");
    await page.waitForTimeout(800);
    const layout = (await frame.evaluate(`(() => {
      const doc = document.scrollingElement;
      const weight = [...document.querySelectorAll("#model-soup-panel th")].find((th) => (th.textContent ?? "").startsWith("Weight"));
      const w = weight?.getBoundingClientRect();
      return {
        scroll: doc.scrollWidth - doc.clientWidth,
        width: window.innerWidth,
        weight: w ? { left: w.left, right: w.right } : undefined,
        charts: [...document.querySelectorAll(".charts .chart-cell")].map((c) => c.getBoundingClientRect()).map((r) => ({ left: r.left, right: r.right, top: r.top })),
        canvases: [...document.querySelectorAll(".charts canvas")].map((c) => c.getBoundingClientRect().right),
      };
    })()`)) as {
      scroll: number;
      width: number;
      weight?: { left: number; right: number };
      charts: { left: number; right: number; top: number }[];
      canvases: number[];
    };
    assert.ok(layout.scroll <= 0, `no horizontal scroll (${layout.scroll} px too wide)`);
    assert.ok(layout.weight && layout.weight.right <= layout.width, "the Weight column is visible");
    assert.equal(layout.charts.length, 2);
    assert.ok(layout.charts[1]!.top > layout.charts[0]!.top, "the charts stack in one column");
    assert.ok(
      layout.canvases.every((r) => r <= layout.width),
      `the charts fit the panel: ${layout.canvases.join(", ")} ≤ ${layout.width}`,
    );
    await frame.evaluate('document.querySelector("#ingredients-title")?.scrollIntoView({ block: "start" })');
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(images, "results-narrow-ingredients.png") });
    await frame.evaluate('document.querySelector(".charts")?.scrollIntoView({ block: "start" })');
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(images, "results-narrow-charts.png") });
    await frame.evaluate('document.querySelector("#results")?.scrollIntoView({ block: "start" })');
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(images, "results-narrow-results.png") });
  } catch (error) {
    await workbench.recordFailure();
    throw error;
  } finally {
    await workbench.close();
  }
}

/** The frame of the open panel whose title starts with `title`. */
async function openedPanel(page: Page, title: string): Promise<Frame> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    for (const frame of page.frames()) {
      const h1 = await frame.$eval("#model-soup-panel h1", (el) => el.textContent ?? "").catch(() => "");
      if (h1.startsWith(title)) return frame;
    }
    if (Date.now() > deadline) throw new Error(`no panel titled ${title}`);
    await page.waitForTimeout(250);
  }
}
