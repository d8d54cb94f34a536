/**
 * TIES with data in the Merge panel (issue 23), in code-server as a person would use it, and the Model Explorer's
 * first scan.
 * 1. A workspace of many checkpoints: until the first scan ends the Model Explorer says it is scanning, never "No
 *    models found"; then the models appear and that line goes.
 * 2. The specialists sample (five fine-tunes of one base): method TIES, the base model, λ and density set, the
 *    digits rows attached; Start shows the λ sweep on validation and the results rows (table and chart); Save
 *    writes the merge and its recipe. The written file is then checked against `model-soup merge --method ties`
 *    run with the same settings on the same files: every tensor agrees within float32 rounding.
 * Screenshots: docs/images/ties-*.png.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Frame, Page } from "playwright-core";
import { openModel } from "../../../src/core/formats/registry.js";
import { projectRoot } from "../code-server.js";
import { answerFileDialog, openWorkbench, panelFrame, runCommand } from "../ui-helpers.js";
import type { TestWorkspace } from "../workspace.js";

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(projectRoot, "docs", "images", `ties-${name}.png`) });

const SPECIALISTS = ["classes-0123", "classes-2345", "classes-4567", "classes-6789", "classes-8901"];
const DENSITY = 0.4;
const LAMBDA = 0.75;

/** Many small checkpoints (copies of a real TF.js model) so the first scan takes seconds, as in a big project. */
function manyCheckpointsWorkspace(count: number): TestWorkspace {
  const root = mkdtempSync(join(tmpdir(), "model-soup-vscode-many-"));
  const model = join(projectRoot, "test", "fixtures", "real-models", "tfjs-examples", "balance_pr447", "model1");
  for (let i = 0; i < count; i++)
    cpSync(model, join(root, "runs", `run-${String(i).padStart(4, "0")}`), { recursive: true });
  return { root };
}

/** The five specialists and the digits rows none of them saw. */
function specialistsWorkspace(): TestWorkspace {
  const root = mkdtempSync(join(tmpdir(), "model-soup-vscode-ties-"));
  for (const name of SPECIALISTS)
    cpSync(join(projectRoot, "samples", "specialists", "models", name), join(root, "specialists", name), {
      recursive: true,
    });
  mkdirSync(join(root, "data"));
  cpSync(join(projectRoot, "samples", "digits", "soup.csv.gz"), join(root, "data", "soup.csv.gz"));
  return { root };
}

async function setSelect(frame: Frame, id: string, value: string): Promise<void> {
  await frame.locator(`#${id}`).evaluate((el, v) => {
    (el as unknown as { value: string }).value = v;
    el.dispatchEvent(new Event("change"));
  }, value);
}

/** Types a number into one of the panel's fields and leaves it, as a person would. */
async function typeNumber(frame: Frame, id: string, value: number): Promise<void> {
  const input = frame.locator(`#${id} input`);
  await input.click();
  await input.fill(String(value));
  await input.press("Tab");
}

async function scanning(): Promise<void> {
  const workspace = manyCheckpointsWorkspace(1500);
  const workbench = await openWorkbench(workspace, { name: "ties-scan", openModelExplorer: true });
  const { page } = workbench;
  try {
    const view = page.locator(".pane", { has: page.locator(".pane-header", { hasText: /Model Explorer/i }) });
    const welcome = view.locator(".welcome-view");
    await welcome.filter({ hasText: "Scanning the workspace for models" }).waitFor({ timeout: 60_000 });
    assert.equal(
      await view.getByText("No models found").count(),
      0,
      "while the first scan runs the view does not say it found no models",
    );
    await shot(page, "scanning");
    // Until the models show, "No models found" never flashes (the extension activates and scans meanwhile).
    const group = view.locator(".monaco-list-row", { hasText: "1500" }).first();
    const deadline = Date.now() + 180_000;
    while (!(await group.isVisible())) {
      assert.equal(await view.getByText("No models found").count(), 0, "no empty-state line before the models");
      assert.ok(Date.now() < deadline, "the 1500 models appear");
      await page.waitForTimeout(100);
    }
    assert.equal(await view.getByText("Scanning the workspace").count(), 0, "the scanning line goes with the models");
    assert.equal(await view.getByText("No models found").count(), 0);
    await shot(page, "scanned");
  } catch (error) {
    await workbench.recordFailure();
    throw error;
  } finally {
    await workbench.close();
  }
}

/** Accepts the save dialog's proposed path (beside the ingredients); returns the saved model and recipe. */
async function saveAtDefault(page: Page, frame: Frame): Promise<{ model: string; recipe: string }> {
  await page
    .locator(".quick-input-widget .quick-input-title", { hasText: "Save the merged model" })
    .waitFor({ state: "visible", timeout: 30_000 });
  const input = page.locator(".quick-input-widget input");
  for (let attempt = 0; attempt < 40 && !/soup/.test(await input.inputValue()); attempt++)
    await page.waitForTimeout(250);
  await page.keyboard.press("Enter");
  // The simple dialog asks before making the proposed folder (beside the ingredients) that does not exist yet.
  const create = page.locator(".quick-input-widget .quick-input-title", { hasText: "does not exist" });
  if (
    await create.waitFor({ state: "visible", timeout: 5_000 }).then(
      () => true,
      () => false,
    )
  )
    await page.locator(".quick-input-widget .monaco-button", { hasText: "OK" }).first().click();
  const line = frame.locator("#saved", { hasText: /Saved .+ and its recipe/ }).first();
  await line.waitFor({ timeout: 120_000 });
  const text = (await line.textContent()) ?? "";
  const found = /[Ss]aved (.+?) and its recipe (.+?\.recipe\.json)/.exec(text);
  assert.ok(found, `the saved line names the model and its recipe: ${text}`);
  return { model: found[1]!, recipe: found[2]! };
}

/** The largest absolute difference of any value of two model files, tensor by tensor (the same names). */
async function largestDifference(a: string, b: string): Promise<{ tensors: number; largest: number }> {
  const [ma, mb] = [await openModel(a), await openModel(b)];
  try {
    const names = ma.manifest.tensors.map((t) => t.name).sort();
    assert.deepEqual(names, mb.manifest.tensors.map((t) => t.name).sort(), "the same tensors");
    let largest = 0;
    for (const name of names) {
      const x = (await ma.readTensor(name, { float32: true })).data as Float32Array;
      const y = (await mb.readTensor(name, { float32: true })).data as Float32Array;
      assert.equal(x.length, y.length, `${name}: the same size`);
      for (let i = 0; i < x.length; i++) largest = Math.max(largest, Math.abs(x[i]! - y[i]!));
    }
    return { tensors: names.length, largest };
  } finally {
    await ma.close();
    await mb.close();
  }
}

async function ties(): Promise<void> {
  const workspace = specialistsWorkspace();
  const folder = (name: string) => join(workspace.root, "specialists", name);
  const base = folder("classes-2345");
  const data = join(workspace.root, "data", "soup.csv.gz");
  const scratch = mkdtempSync(join(tmpdir(), "model-soup-ties-cli-"));
  const workbench = await openWorkbench(workspace, { name: "ties" });
  const { page } = workbench;
  try {
    await page.waitForTimeout(3_000);
    // The workspace holds one group: Merge Models opens its panel at once.
    await runCommand(page, "Model Soup: Merge Models");
    const frame = await panelFrame(page);
    await frame.locator("#model-soup-panel table tbody tr", { hasText: "classes-8901" }).first().waitFor();

    // TIES, its base and its two numbers, each with its meaning.
    await setSelect(frame, "method", "ties");
    await frame.locator("#method-meaning", { hasText: "elects one sign per entry" }).waitFor({ timeout: 10_000 });
    await frame.locator("#base").waitFor({ timeout: 10_000 });
    await setSelect(frame, "base", join(base, "model.json"));
    await typeNumber(frame, "param-density", DENSITY);
    await typeNumber(frame, "param-lambda", LAMBDA);
    await frame.locator("#fixed-options", { hasText: "Fraction of each task vector's entries kept" }).waitFor();

    // The digits rows: the merge is compared with the ingredients and λ swept on validation.
    await frame.locator("#pick-data").click();
    await answerFileDialog(page, "Data to learn and compare on", data);
    await frame.locator("#data-preview", { hasText: "899 samples" }).waitFor({ timeout: 30_000 });
    await frame.evaluate('document.querySelector("#method-title")?.scrollIntoView({ block: "start" })');
    await page.waitForTimeout(300);
    await shot(page, "method");
    assert.equal(await frame.locator("#start").getAttribute("disabled"), null, "TIES with data starts");
    await frame.locator("#start").click();
    await frame.locator("#sweep svg circle").first().waitFor({ timeout: 300_000 });
    assert.equal(await frame.locator("#sweep-table tbody tr").count(), 5, "five values of λ tried");
    const merged = frame.locator("#results tbody tr", { has: frame.locator("th", { hasText: /^Merged \(TIES\)/ }) });
    await merged.first().waitFor({ timeout: 60_000 });
    // The base and the four others are rows, beside the merge and the output ensemble.
    for (const name of SPECIALISTS)
      await frame.locator("#results tbody th", { hasText: name }).first().waitFor({ timeout: 10_000 });
    await frame.locator("#results tbody th", { hasText: "classes-2345/model.json (base)" }).waitFor();
    assert.equal(await frame.locator("#results tbody th", { hasText: "(base)" }).count(), 1, "one base row");
    await frame.locator("#results-chart .bar-row", { hasText: "Merged (TIES)" }).waitFor({ timeout: 10_000 });
    // No per-model weights: the line says what the merge ran with.
    await frame
      .locator("#results p", {
        hasText: `Coefficients: none: TIES with base #2 classes-2345/model.json, density ${DENSITY}, λ ${LAMBDA}`,
      })
      .waitFor({ timeout: 10_000 });
    await frame.locator("#use-sweep-best", { hasText: /^Use λ = / }).waitFor({ timeout: 10_000 });
    await frame.evaluate('document.querySelector("#sweep-box")?.scrollIntoView({ block: "center" })');
    await page.waitForTimeout(300);
    await shot(page, "sweep");
    await frame.evaluate('document.querySelector("#results")?.scrollIntoView({ block: "start" })');
    await page.waitForTimeout(300);
    await shot(page, "results");

    // Save, then the written file against the CLI's TIES with the same settings on the same files.
    await frame.locator("#save").click();
    const saved = await saveAtDefault(page, frame);
    await frame.evaluate('document.querySelector("#saved")?.scrollIntoView({ block: "center" })');
    await page.waitForTimeout(300);
    await shot(page, "saved");
    const recipe = JSON.parse(readFileSync(saved.recipe, "utf8")) as {
      merge?: { method?: string; params?: Record<string, number>; base?: string; ingredients?: unknown[] };
    };
    assert.equal(recipe.merge?.method, "ties", "the recipe records TIES");
    assert.deepEqual(recipe.merge?.params, { density: DENSITY, lambda: LAMBDA }, "with the density and λ typed");
    assert.match(recipe.merge?.base ?? "", /classes-2345\/model\.json$/, "and the base chosen");
    assert.equal(recipe.merge?.ingredients?.length, 4, "the four others as its ingredients");
    const others = SPECIALISTS.filter((n) => folder(n) !== base).map(folder);
    const cliOut = join(scratch, "cli-ties");
    execFileSync(
      process.execPath,
      [
        join(projectRoot, "dist", "cli.cjs"),
        "merge",
        ...others,
        "--method",
        "ties",
        "--base",
        base,
        "--density",
        String(DENSITY),
        "--lambda",
        String(LAMBDA),
        "--out",
        cliOut,
      ],
      { stdio: "pipe" },
    );
    const { tensors, largest } = await largestDifference(saved.model, join(cliOut, "model.json"));
    assert.ok(tensors >= 6, `every tensor compared (${tensors})`);
    assert.ok(largest <= 1e-6, `the panel's TIES file and the CLI's agree: largest difference ${largest}`);
    // …and the settings really took: the same merge with the default density differs.
    const defaults = join(scratch, "cli-ties-default-density");
    execFileSync(
      process.execPath,
      [join(projectRoot, "dist", "cli.cjs"), "merge", ...others, "--method", "ties", "--base", base, "--out", defaults],
      { stdio: "pipe" },
    );
    const other = await largestDifference(saved.model, join(defaults, "model.json"));
    assert.ok(other.largest > 1e-3, `density ${DENSITY} and λ ${LAMBDA} changed the merge (${other.largest})`);
    console.log(
      `ties: panel TIES (base classes-2345, density ${DENSITY}, λ ${LAMBDA}) vs CLI: ${tensors} tensors, largest difference ${largest}`,
    );
  } catch (error) {
    await workbench.recordFailure();
    throw error;
  } finally {
    await workbench.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

export async function main(): Promise<void> {
  await scanning();
  await ties();
}
