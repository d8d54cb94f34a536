/**
 * Drives the Merge panel as a person would, in code-server: command palette → "Model Soup: Merge Models" →
 * the digits group → Choose Data… (VS Code's own file dialog) → Start → the results table → Save Merged
 * Model… (the save dialog's default, beside the ingredients), with a hide/show of the panel and an aligned run on the
 * way. Saves media/screenshot-panel.png for the README.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "./code-server.js";
import { makeTestWorkspace } from "./workspace.js";
import { answerFileDialog, openWorkbench, panelFrame, quickOpen, runCommand, viewerFrame } from "./ui-helpers.js";

export async function main(): Promise<void> {
  const workspace = makeTestWorkspace();
  if (!workspace.sample) throw new Error("samples/digits is missing: the walk-through merges the digits sample");
  const ingredients = readdirSync(join(workspace.sample, "models")).filter((f) => /^ingredient-\d+$/.test(f)).length;
  // The Model Explorer has its own activity-bar icon; it lists the sample's group, named by architecture.
  const workbench = await openWorkbench(workspace, { name: "ui", openModelExplorer: true });
  const { page } = workbench;
  try {
    await page
      .locator(".monaco-list-row", { hasText: "Dense 64-64-32-10" })
      .filter({ hasText: `${ingredients} × TF.js` })
      .first()
      .waitFor({ timeout: 60_000 });

    // The walkthrough is listed and opens on its first step.
    await runCommand(page, "Welcome: Open Walkthrough...");
    await page
      .locator(".quick-input-list .monaco-list-row", { hasText: "Get Started with Model Soup" })
      .first()
      .click();
    await page
      .locator(".getting-started-step", { hasText: "Open a folder of models" })
      .first()
      .waitFor({ timeout: 30_000 });
    await page.locator(".getting-started-step", { hasText: "Save the merged model" }).first().waitFor();
    await runCommand(page, "View: Close Editor");
    await page.locator(".getting-started-step").first().waitFor({ state: "hidden", timeout: 30_000 });

    await runCommand(page, "Model Soup: Merge Models");
    const input = page.locator(".quick-input-widget input");
    await input.fill("ingredient-1");
    await page
      .locator(".quick-input-list .monaco-list-row", { hasText: `${ingredients} × ` })
      .first()
      .waitFor();
    await page.keyboard.press("Enter");

    let frame = await panelFrame(page);
    const startDisabled = async () => (await frame.locator("#start").getAttribute("disabled")) !== null;
    assert.ok(await startDisabled(), "Start is disabled until data is chosen");
    await frame.locator("#start-blocker", { hasText: "Needs data" }).waitFor();

    // Advanced settings: the Backend dropdown shows its choice, and the default decimals are valid.
    await frame.locator("#advanced summary").click();
    await frame.locator("#backend").waitFor();
    await page.waitForTimeout(300);
    const backendFace = await frame
      .locator("#backend")
      .evaluate((el) => el.shadowRoot?.querySelector(".select-face .text")?.textContent?.trim() ?? "");
    assert.equal(backendFace, "Automatic", "the Backend dropdown shows its selected option");
    for (const id of ["learning-rate", "validation", "test"]) {
      const invalid = await frame
        .locator(`#${id}`)
        .evaluate(
          (el) => el.hasAttribute("invalid") || !(el as unknown as { checkValidity(): boolean }).checkValidity(),
        );
      assert.equal(invalid, false, `the default ${id} is drawn as valid`);
    }
    await frame.locator("#validation").evaluate((el) => {
      const field = el as unknown as { value: string };
      field.value = "0.95";
      el.dispatchEvent(new Event("input"));
    });
    assert.ok(
      await frame.locator("#validation").evaluate((el) => el.hasAttribute("invalid")),
      "a fraction above 0.9 is drawn as invalid",
    );
    assert.ok(await startDisabled());
    await frame.locator("#start-blocker", { hasText: "drawn in red" }).waitFor();
    await frame.locator("#validation").evaluate((el) => {
      (el as unknown as { value: string }).value = "0.2";
      el.dispatchEvent(new Event("input"));
    });

    // Hidden and shown again, the panel's page is reloaded (no retainContextWhenHidden) and restores itself; a
    // modelSoup.backend setting changed meanwhile reaches it. (A message reaching the reloaded page before its
    // init used to leave it at "Loading…".)
    await runCommand(page, "Preferences: Open User Settings");
    const search = page
      .locator(".settings-editor .suggest-input-container textarea, .settings-editor .settings-header input")
      .first();
    await search.waitFor({ timeout: 30_000 });
    await search.fill("modelSoup.backend");
    const backendSetting = page
      .locator(".setting-item-contents", { hasText: "backend the merge worker uses" })
      .locator("select")
      .first();
    await backendSetting.waitFor({ timeout: 30_000 });
    // The plain-JavaScript backend: slower, so the job the walk-through cancels below is still running then.
    await backendSetting.selectOption("cpu");
    await page.waitForTimeout(500);
    await page
      .locator(".tab", { hasText: `Merge ${ingredients} Models` })
      .first()
      .click();
    frame = await panelFrame(page, 30_000);
    await frame.locator("#advanced summary").click();
    await frame.locator("#backend").waitFor();
    const backendFaceIs = async (text: string) => {
      for (let attempt = 0; attempt < 40; attempt++) {
        const face = await frame
          .locator("#backend")
          .evaluate((el) => el.shadowRoot?.querySelector(".select-face .text")?.textContent?.trim() ?? "");
        if (face === text) return;
        await page.waitForTimeout(250);
      }
      assert.fail(`the Backend dropdown does not show ${text}`);
    };
    await backendFaceIs("Plain JavaScript");
    assert.ok(
      !(await frame.locator("#validation").evaluate((el) => el.hasAttribute("invalid"))),
      "the corrected fraction came back valid",
    );

    // Wrong data (63 feature columns for 64-input models) is flagged when chosen; Start stays disabled.
    await frame.locator("#pick-data").click();
    await answerFileDialog(page, "Data to learn and compare on", join(workspace.root, "data", "digits-63-columns.csv"));
    await frame
      .locator("#data-error", { hasText: "rows have 63 features; the model expects input [batch, 64]" })
      .waitFor({ timeout: 30_000 });
    assert.ok(await startDisabled(), "Start is disabled while the data does not fit");

    await frame.locator("#pick-data").click();
    await answerFileDialog(page, "Data to learn and compare on", join(workspace.sample, "soup.csv.gz"));
    await frame.locator("#data-preview", { hasText: "899 samples" }).waitFor({ timeout: 30_000 });
    assert.equal(await frame.evaluate("document.activeElement?.id"), "pick-data", "the focus is back on Choose Data…");
    assert.equal(await frame.locator("#data-error").count(), 0, "the old data error is gone");
    assert.ok(!(await startDisabled()), "Start is enabled once the data fits");

    // The user's own test rows: read and counted when chosen, then cleared again (the walk-through goes on with
    // test rows drawn from the data). These models record their architecture: no "Architecture from…".
    assert.equal(await frame.locator("#architecture").count(), 0, "no architecture picker for full models");
    await frame.locator("#pick-test").click();
    await answerFileDialog(page, "Your own held-out rows", join(workspace.sample, "soup.csv.gz"));
    await frame.locator("#test-path", { hasText: "899 rows" }).waitFor({ timeout: 30_000 });
    await frame.locator("#clear-test").click();
    await frame.locator("#test-path", { hasText: "drawn from the data" }).waitFor({ timeout: 10_000 });
    assert.ok(!(await startDisabled()), "Start is still enabled with the test rows cleared");

    // One progress channel: a job whose panel is hidden reports in a cancellable notification; cancelling there
    // is not an error, and the panel shown again says "Cancelled".
    const soupToasts = page.locator(".notification-toast", { hasText: "Model Soup:" });
    await frame.locator("#start").click();
    await frame.locator("#cancel:not([disabled])").waitFor({ timeout: 30_000 });
    await runCommand(page, "Preferences: Open User Settings");
    const toast = soupToasts.first();
    await toast.waitFor({ timeout: 30_000 });
    await toast.locator(".monaco-button", { hasText: "Cancel" }).click();
    await toast.waitFor({ state: "hidden", timeout: 30_000 });
    assert.equal(
      await page
        .locator(".notification-toast .codicon-error, .notification-toast .codicon-notifications-error")
        .count(),
      0,
      "cancelling shows no error",
    );
    await page
      .locator(".tab", { hasText: `Merge ${ingredients} Models` })
      .first()
      .click();
    frame = await panelFrame(page, 30_000);
    await frame.locator("#job-status", { hasText: "Cancelled" }).waitFor({ timeout: 30_000 });
    assert.equal(
      await frame.locator("#job-status").getAttribute("class"),
      "status",
      "the cancelled status is not drawn as an error",
    );

    // While the panel is visible, the job reports there only: no notification.
    await frame.locator("#start").click();
    await frame.locator("#cancel:not([disabled])").waitFor({ timeout: 30_000 });
    await page.waitForTimeout(2_000);
    assert.equal(await soupToasts.count(), 0, "no notification while the panel shows the progress");
    await frame.locator("#results table", { hasText: "Uniform soup" }).waitFor({ timeout: 180_000 });
    // The step axis ticks at whole steps only.
    const stepLabels = ((await frame.locator(".charts .chart").first().getAttribute("data-step-labels")) ?? "")
      .split(",")
      .filter((t) => t !== "");
    assert.ok(
      stepLabels.length >= 1 && stepLabels.every((t) => /^\d+$/.test(t)),
      `integer step ticks: ${stepLabels.join(", ")}`,
    );
    const verdict = (await frame.locator("#verdict").textContent()) ?? "";
    assert.match(
      verdict,
      /^(The (learned|uniform|greedy) soup is the best single-size model: loss \d\.\d{4} against \d\.\d{4} for the best ingredient \(ingredient \d+\)|Kept the (learned|uniform|greedy) soup \(lowest validation loss\), but on the test rows it does not beat the best ingredient|No merge beat .+ \(ingredient \d+\) on validation, so it is kept as it is)/,
    );
    await frame.locator("#stop-reason", { hasText: /^(Stopped|Ran all)/ }).waitFor();
    await frame.evaluate('document.querySelector("#data-title")?.scrollIntoView({ block: "start" })');
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(projectRoot, "media", "screenshot-panel.png") });

    // Charts follow a theme change without a re-run.
    const drawnFor = (await frame.locator(".charts").getAttribute("data-theme")) ?? "";
    assert.match(drawnFor, /^vscode-(light|dark)$/, "the charts know the theme they were drawn for");
    const otherClass = drawnFor === "vscode-light" ? "vscode-dark" : "vscode-light";
    await runCommand(page, "Preferences: Toggle between Light/Dark Themes");
    await frame.locator(`.charts[data-theme='${otherClass}']`).waitFor({ timeout: 15_000 });

    // The sample's ingredient-6 shares no basin with the others: the panel offers "Align first". An aligned run shows
    // each pair's cosine and loss barrier before and after, and an ingredient beside its aligned self (unit moves).
    await frame.locator("#basin", { hasText: "share no basin" }).waitFor({ timeout: 10_000 });
    await frame.locator("#align").evaluate((el) => {
      (el as unknown as { value: string }).value = "weight";
      el.dispatchEvent(new Event("change"));
    });
    await frame.locator("#start").click();
    await frame.locator("#alignment table").waitFor({ timeout: 240_000 });
    assert.equal(
      await frame.locator("#alignment tbody tr").count(),
      (ingredients * (ingredients - 1)) / 2,
      "a row per pair",
    );
    await frame.locator("#alignment", { hasText: "Weight matching to #" }).waitFor();
    await frame.locator("#show-unit-moves").click();
    await page.locator(".tab", { hasText: "Unit moves" }).first().waitFor({ timeout: 60_000 });

    await frame.locator("#save").click();
    await page
      .locator(".quick-input-widget .quick-input-title", { hasText: "Save the merged model" })
      .waitFor({ state: "visible" });
    const saveInput = page.locator(".quick-input-widget input");
    // The simple dialog fills in the proposed path a moment after it shows.
    let proposed = await saveInput.inputValue();
    for (let attempt = 0; attempt < 40 && !proposed.endsWith(".json"); attempt++) {
      await page.waitForTimeout(250);
      proposed = await saveInput.inputValue();
    }
    assert.equal(
      proposed,
      join(workspace.sample, "models-soup", "model.json"),
      "the save dialog proposes a sibling of the ingredients' folder",
    );
    await page.keyboard.press("Enter");
    // The proposed folder (models-soup) is new: the dialog asks to create it.
    const create = page.locator(".quick-input-widget .quick-input-title", { hasText: "does not exist" });
    if (
      await create.waitFor({ state: "visible", timeout: 5000 }).then(
        () => true,
        () => false,
      )
    )
      await page.keyboard.press("Enter");
    await frame.locator("#saved").waitFor({ timeout: 60_000 });
    const merged = join(workspace.sample, "models-soup");
    assert.ok(existsSync(join(merged, "model.json")), "the merged model.json was written");
    assert.ok(
      readdirSync(merged).some((f) => /recipe/i.test(f)),
      "its recipe was written beside it",
    );

    // Reveal in Explorer selects the saved model there.
    await frame.locator("#reveal-saved").click();
    const explorerRow = (name: string | RegExp) =>
      page.locator(".explorer-folders-view .monaco-list-row", { has: page.locator(".label-name", { hasText: name }) });
    await page
      .locator(".explorer-folders-view .monaco-list-row[aria-selected='true']", { hasText: "model.json" })
      .waitFor({ timeout: 30_000 });
    await explorerRow(/^models-soup$/)
      .first()
      .waitFor();

    // "Merge Models in Folder" is offered on every folder, before any scan (a folder without models is told so).
    const folderMenu = async (name: string): Promise<string[]> => {
      await explorerRow(new RegExp(`^${name}$`))
        .first()
        .click({ button: "right" });
      const menu = page.locator(".context-view .monaco-menu");
      await menu.waitFor({ timeout: 10_000 });
      const items = await menu.locator(".action-label").allTextContents();
      await page.keyboard.press("Escape");
      await menu.waitFor({ state: "hidden", timeout: 10_000 });
      return items.map((t) => t.trim());
    };
    assert.ok((await folderMenu("keras3")).includes("Merge Models in Folder"), "offered on a folder holding models");
    assert.ok((await folderMenu("data")).includes("Merge Models in Folder"), "offered on any folder, scanned or not");
    await page
      .locator(".tab", { hasText: `Merge ${ingredients} Models` })
      .first()
      .click();
    frame = await panelFrame(page, 30_000);

    // The per-layer change from a chosen ingredient: a chart in the panel, the table beside it.
    const second = join(workspace.sample, "models", "ingredient-2", "model.json");
    await frame.locator("#diff-reference").evaluate((el, value) => {
      (el as unknown as { value: string }).value = value;
      el.dispatchEvent(new Event("change"));
    }, second);
    await frame.locator("#show-diff").click();
    await frame
      .locator("#layer-chart", { hasText: "vs ingredient 2 (ingredient-2/model.json)" })
      .waitFor({ timeout: 60_000 });
    assert.ok((await frame.locator("#layer-chart rect.bar").count()) > 2, "a bar per tensor");
    await page.locator(".tab", { hasText: "Per-Layer Diff merged" }).first().waitFor({ timeout: 30_000 });

    await runCommand(page, "View: Close All Editors");

    // The model viewer: a .keras file shows its layers, a .safetensors file its tensors and, on demand, statistics.
    await quickOpen(page, "mlp_a.keras");
    const keras = await viewerFrame(page, "mlp_a.keras");
    await keras.locator("#layers", { hasText: "Dense" }).waitFor();
    // Output shapes as people read them: the batch axis named, never "null" or "?".
    await keras.locator("#layers td.mono", { hasText: "[batch, " }).first().waitFor();
    assert.doesNotMatch((await keras.locator("#layers").textContent()) ?? "", /\[(null|\?),/);
    await keras.locator("#tensors tbody tr").first().waitFor();
    await quickOpen(page, "model.safetensors");
    const safetensors = await viewerFrame(page, "model.safetensors");
    const rows = await safetensors.locator("#tensors tbody tr").count();
    assert.ok(rows > 0, "the safetensors tensors are listed");
    assert.equal(await safetensors.locator("svg.histogram").count(), 0, "no statistics before they are asked for");
    await safetensors.locator("#compute-stats").click();
    await safetensors.locator("svg.histogram").first().waitFor({ timeout: 60_000 });
    assert.equal(await safetensors.locator("svg.histogram").count(), rows, "a histogram per tensor");
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(projectRoot, "media", "screenshot-viewer.png") });
  } catch (error) {
    await workbench.recordFailure();
    throw error;
  } finally {
    await workbench.close();
  }
}
