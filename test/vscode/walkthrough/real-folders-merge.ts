/**
 * The Merge panel on real-shaped folders (issues 23 and 24), in code-server as a person would use it: a uniform merge
 * of the k-fold models without data, saved; data whose feature count does not fit (the methods that need it
 * disabled with their reason, Clear Data restoring them); a weighted average with data and its coefficient sweep; on
 * the weights-only checkpoints the learned soup disabled until "Architecture from…", then learned with the user's own
 * test rows and saved; the written file's recipe checked and the file scored independently of the job that wrote it.
 * Screenshots: docs/images/capability-*.png.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Frame, Page } from "playwright-core";
import { projectRoot } from "../code-server.js";
import { makeRealFoldersWorkspace } from "../workspace.js";
import { answerFileDialog, openWorkbench, panelFrame, runCommand } from "../ui-helpers.js";
import { scoreOnFile } from "../../support/independent-forward.js";

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(projectRoot, "docs", "images", `capability-${name}.png`) });

async function chooseMethod(frame: Frame, method: string): Promise<void> {
  await frame.locator("#method").evaluate((el, value) => {
    (el as unknown as { value: string }).value = value;
    el.dispatchEvent(new Event("change"));
  }, method);
}

async function openGroup(page: Page, member: string): Promise<Frame> {
  await runCommand(page, "Model Soup: Merge Models");
  await page.locator(".quick-input-widget input").fill(member);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: member }).first().waitFor({ timeout: 30_000 });
  await page.keyboard.press("Enter");
  return panelFrame(page);
}

/** Accepts the save dialog's proposed path (beside the ingredients); returns the saved model and recipe. */
async function saveAtDefault(page: Page, frame: Frame, statusText: RegExp | string) {
  await page
    .locator(".quick-input-widget .quick-input-title", { hasText: "Save the merged model" })
    .waitFor({ state: "visible", timeout: 30_000 });
  const input = page.locator(".quick-input-widget input");
  let proposed = await input.inputValue();
  for (let attempt = 0; attempt < 40 && !/soup/.test(proposed); attempt++) {
    await page.waitForTimeout(250);
    proposed = await input.inputValue();
  }
  await page.keyboard.press("Enter");
  // The simple dialog asks before making the proposed folder (beside the ingredients) that does not exist yet.
  const create = page.locator(".quick-input-widget .quick-input-title", { hasText: "does not exist" });
  if (
    await create.waitFor({ state: "visible", timeout: 5_000 }).then(
      () => true,
      () => false,
    )
  ) {
    await page.locator(".quick-input-widget .monaco-button", { hasText: "OK" }).first().click();
  }
  const line = frame.locator("#job-status, #saved", { hasText: statusText }).first();
  await line.waitFor({ timeout: 120_000 }).catch(async (error: unknown) => {
    await shot(page, "save-failed");
    const status = await frame.locator("#job-status").textContent();
    throw new Error(`the save did not finish (status: ${status ?? ""}): ${String(error)}`);
  });
  const text = (await line.textContent()) ?? "";
  const found = /[Ss]aved (.+?) and its recipe (.+?\.recipe\.json)/.exec(text);
  assert.ok(found, `the saved line names the model and its recipe: ${text}`);
  return { model: found[1]!, recipe: found[2]! };
}

export async function main(): Promise<void> {
  const workspace = makeRealFoldersWorkspace();
  // Wrong data: 20 feature columns for models of 12 inputs.
  const wide = join(workspace.root, "data", "wide.csv");
  const header = [...Array.from({ length: 20 }, (_, i) => `f${i + 1}`), "label"].join(",");
  const rows = Array.from({ length: 60 }, (_, r) =>
    [...Array.from({ length: 20 }, (_, i) => ((r * 7 + i * 3) % 11) / 10 - 0.5), r % 2].join(","),
  );
  writeFileSync(wide, `${header}\n${rows.join("\n")}\n`);
  const table = join(workspace.root, "data", "table.csv");
  const test = join(workspace.root, "data", "test.csv");
  const workbench = await openWorkbench(workspace, { name: "capability" });
  const { page } = workbench;
  try {
    await page.waitForTimeout(3_000);

    // 1. The k-fold models (custom focal loss): a uniform merge without data, saved at once.
    let frame = await openGroup(page, "model_fold_1");
    const startDisabled = async () => (await frame.locator("#start").getAttribute("disabled")) !== null;
    await frame.locator("#start-blocker", { hasText: "Needs data" }).waitFor({ timeout: 30_000 });
    await chooseMethod(frame, "uniform");
    await frame.locator("#no-data-note", { hasText: "Runs without data" }).waitFor({ timeout: 10_000 });
    assert.ok(!(await startDisabled()), "a uniform merge starts without data");
    // Every unavailable method is listed with its reason and way out.
    await frame.locator("#unavailable-methods li[data-methods~='learned']", { hasText: "Needs data" }).waitFor();
    assert.ok((await frame.locator("#unavailable-methods li[data-methods~='learned'] .way-out").count()) === 1);
    await shot(page, "no-data");
    await frame.locator("#start").click();
    const uniform = await saveAtDefault(page, frame, "Merged without data");
    assert.ok(existsSync(uniform.model), `the uniform merge was written: ${uniform.model}`);
    const uniformRecipe = JSON.parse(readFileSync(uniform.recipe, "utf8")) as { origin?: string; method?: string };
    assert.equal(uniformRecipe.origin, "uniform", "a data-free uniform merge is recorded as such");

    // 2. Wrong data: the methods that run the models are disabled with the reason; Clear Data restores them.
    await frame.locator("#pick-data").click();
    await answerFileDialog(page, "Data to learn and compare on", wide);
    // The model's shape as people read it, never "[null, 12]".
    await frame
      .locator("#data-error", { hasText: "rows have 20 features; the model expects input [batch, 12]" })
      .waitFor({ timeout: 30_000 });
    await chooseMethod(frame, "learned");
    await frame.locator("#method-unavailable", { hasText: "wide.csv" }).waitFor({ timeout: 10_000 });
    assert.ok(await startDisabled(), "Start waits while the data does not fit");
    await frame.locator("#method-unavailable .way-out", { hasText: "Clear Data" }).waitFor();
    await shot(page, "wrong-data");
    await frame.locator("#method-unavailable .way-out").click();
    await frame.locator("#data-path", { hasText: "No data chosen" }).waitFor({ timeout: 10_000 });
    await frame.locator("#method-unavailable", { hasText: "Needs data" }).waitFor({ timeout: 10_000 });

    // 3. A weighted average with data: compared with the ingredients, its weight swept on the validation split.
    await chooseMethod(frame, "manual");
    await frame.locator("#pick-data").click();
    await answerFileDialog(page, "Data to learn and compare on", table);
    await frame.locator("#data-preview", { hasText: "800 samples" }).waitFor({ timeout: 30_000 });
    assert.ok(!(await startDisabled()), "a weighted average with data that fits starts");
    await frame.locator("#start").click();
    await frame.locator("#sweep svg circle").first().waitFor({ timeout: 300_000 });
    assert.equal(await frame.locator("#sweep-table tbody tr").count(), 5, "five weights tried");
    await frame.locator("#results table", { hasText: "Merged (linear)" }).waitFor({ timeout: 30_000 });
    await frame.evaluate('document.querySelector("#sweep-box")?.scrollIntoView({ block: "start" })');
    await page.waitForTimeout(300);
    await shot(page, "sweep");
    await runCommand(page, "View: Close Editor");

    // 4. The weights-only checkpoints: the learned soup waits for an architecture, then learns with the user's own
    // test rows; the saved file's recipe says how it was made, and the file scores what the panel printed.
    frame = await openGroup(page, "weights.07");
    await frame.locator("#pick-data").click();
    await answerFileDialog(page, "Data to learn and compare on", table);
    await frame.locator("#data-preview", { hasText: "800 samples" }).waitFor({ timeout: 30_000 });
    await chooseMethod(frame, "learned");
    await frame.locator("#method-unavailable", { hasText: "weights only" }).waitFor({ timeout: 10_000 });
    assert.ok(await startDisabled(), "the learned soup waits for an architecture");
    await shot(page, "architecture-needed");
    await frame.locator("#method-unavailable .way-out", { hasText: "Architecture from" }).click();
    const architecture = join(workspace.root, "checkpoints", "model.h5");
    await answerFileDialog(page, "A full model file", architecture);
    await frame.locator("#architecture-path", { hasText: "model.h5" }).waitFor({ timeout: 30_000 });
    await frame.locator("#method-unavailable").waitFor({ state: "detached", timeout: 10_000 });
    await frame.locator("#pick-test").click();
    await answerFileDialog(page, "Your own held-out rows", test);
    await frame.locator("#test-path", { hasText: "300 rows" }).waitFor({ timeout: 30_000 });
    assert.ok(!(await startDisabled()), "the learned soup starts once the architecture is chosen");
    await frame.locator("#start").click();
    const merged = frame.locator("#results tbody tr", { has: frame.locator("th", { hasText: /^Merged/ }) });
    await merged.first().waitFor({ timeout: 480_000 });
    const printed = ((await merged.first().locator("td").first().textContent()) ?? "").trim();
    await shot(page, "learned-weights-only");
    await frame.locator("#save").click();
    const learned = await saveAtDefault(page, frame, /Saved .+ and its recipe/);
    const recipe = JSON.parse(readFileSync(learned.recipe, "utf8")) as {
      origin?: string;
      data?: { path?: string; test?: { path?: string } };
      metrics?: { metricName?: string; merged?: { metric?: number } };
      backend?: string;
      learning?: unknown;
    };
    assert.equal(recipe.origin, "learned", "the panel's save of a learned soup records it as learned");
    assert.ok(recipe.learning, "with its learning");
    assert.match(recipe.data?.path ?? "", /table\.csv$/, "and its data");
    assert.match(recipe.data?.test?.path ?? "", /test\.csv$/, "and its test rows");
    assert.equal(recipe.metrics?.metricName, "accuracy");
    assert.ok(recipe.backend, "and the backend");
    // The written file, scored by a forward pass that shares no code with the worker, on the same test rows.
    const independent = await scoreOnFile(learned.model, test, { architecture });
    const shown = Number(printed.replace("%", "")) / 100;
    assert.ok(
      Math.abs(independent.accuracy - shown) < 0.00006,
      `the written file scores ${(independent.accuracy * 100).toFixed(2)}% on test.csv; the panel printed ${printed}`,
    );
    assert.ok(
      Math.abs((recipe.metrics?.merged?.metric ?? NaN) - independent.accuracy) < 1e-6,
      "the recipe's figure too",
    );
    console.log(
      `real-folders-merge: learned soup on weights-only checkpoints: panel ${printed}, file ${(independent.accuracy * 100).toFixed(2)}%`,
    );
  } catch (error) {
    await workbench.recordFailure();
    throw error;
  } finally {
    await workbench.close();
  }
}
