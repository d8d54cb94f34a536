/**
 * The Merge panel on a folder of TorchScript fine-tunes, in code-server as a person would use it: the panel offers
 * the learned soup with no architecture asked for, Advanced shows PyTorch (torch version, devices, the interpreter
 * found) instead of the TensorFlow.js backends, with a Device choice; the learned soup runs on the user's torch and
 * its report names PyTorch. Then state dicts of the same fine-tunes: the learned soup waits for a PyTorch
 * architecture, the way out asks for one in a quick input, and the factory typed there (a Python file beside them)
 * learns. Skips, saying why, without a Python with torch. Screenshots: docs/images/torch-*.png.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Frame, Page } from "playwright-core";
import { findPythonWithTorch } from "../../../src/core/python/find-python.js";
import { projectRoot } from "../code-server.js";
import { answerFileDialog, openWorkbench, panelFrame, runCommand } from "../ui-helpers.js";

const ENGINE = join(projectRoot, "test", "fixtures", "pytorch", "engine");
const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(projectRoot, "docs", "images", `torch-${name}.png`) });

async function chooseMethod(frame: Frame, method: string): Promise<void> {
  await frame.locator("#method").evaluate((el, value) => {
    (el as unknown as { value: string }).value = value;
    el.dispatchEvent(new Event("change"));
  }, method);
}

/** Opens the Merge panel on the models of `folder` (the palette's group pick when it asks), with `data` chosen. */
async function openFolder(page: Page, folder: string, data: string): Promise<Frame> {
  await runCommand(page, "Model Soup: Merge Models");
  const pick = page.locator(".quick-input-list .monaco-list-row", { hasText: folder }).first();
  if (
    await pick.waitFor({ timeout: 15_000 }).then(
      () => true,
      () => false,
    )
  )
    await pick.click();
  const frame = await panelFrame(page);
  await frame.locator("#pick-data").click();
  await answerFileDialog(page, "Data to learn and compare on", data);
  await frame.locator("#data-preview", { hasText: "samples" }).waitFor({ timeout: 30_000 });
  await chooseMethod(frame, "learned");
  return frame;
}

export async function main(): Promise<void> {
  const python = await findPythonWithTorch().catch(() => undefined);
  if (!python) {
    console.log("SKIPPED: the PyTorch walk-through needs a Python with torch on PATH or in the system folders");
    return;
  }
  const root = mkdtempSync(join(tmpdir(), "model-soup-vscode-torch-"));
  const folder = join(root, "finetunes");
  mkdirSync(folder);
  for (const i of [0, 1, 2]) copyFileSync(join(ENGINE, `mlp_ft${i}.ts.pt`), join(folder, `mlp_ft${i}.ts.pt`));
  // The state dicts in a workspace of their own: the palette then opens their one group at once.
  const root2 = mkdtempSync(join(tmpdir(), "model-soup-vscode-torch-sd-"));
  const stateDicts = join(root2, "statedicts");
  mkdirSync(stateDicts);
  for (const name of ["mlp_ft0.pt", "mlp_ft1.pt", "mlp_ft2.pt", "mlp_factory.py"])
    copyFileSync(join(ENGINE, name), join(stateDicts, name));
  // The fine-tunes' data (make_engine_fixtures.py) as .npz, as a user would keep it.
  const data = join(root, "data.npz");
  execFileSync(python.path, [
    "-c",
    "import sys, numpy as np, torch\nd = torch.load(sys.argv[1], weights_only=True)\nnp.savez(sys.argv[2], x=d['x'].numpy(), y=d['y'].numpy())",
    join(ENGINE, "mlp_data.pt"),
    data,
  ]);
  // Before the first workbench closes (it removes its workspace).
  copyFileSync(data, join(root2, "data.npz"));
  const workbench = await openWorkbench({ root }, { name: "torch" });
  const { page } = workbench;
  try {
    await page.waitForTimeout(3_000);
    const frame = await openFolder(page, "finetunes", data);
    // TorchScript files run as they are: no architecture asked for, nothing unavailable.
    assert.equal(await frame.locator("#architecture-needed").count(), 0, "no architecture is asked for");
    await frame.locator("#method-unavailable").waitFor({ state: "detached", timeout: 10_000 });
    // Advanced: PyTorch, labelled with what was found; no TF.js backend list; a Device choice.
    await frame.locator("#advanced summary").click();
    const backend = frame.locator("#backend", { hasText: `PyTorch ${python.torchVersion}` });
    await backend.waitFor({ timeout: 120_000 });
    const label = (await backend.textContent()) ?? "";
    assert.ok(label.includes(python.path), label);
    assert.equal(await frame.locator("vscode-single-select#backend").count(), 0, "no TF.js backends offered");
    assert.equal(await frame.locator("vscode-single-select#device").count(), 1, "a Device choice");
    await frame.evaluate('document.querySelector("#advanced")?.scrollIntoView({ block: "start" })');
    await page.waitForTimeout(300);
    await shot(page, "backend");
    await frame.locator("#start").click();
    const merged = frame.locator("#results tbody tr", { has: frame.locator("th", { hasText: /^Merged/ }) });
    await merged.first().waitFor({ timeout: 480_000 });
    const results = (await frame.locator("#results").textContent()) ?? "";
    assert.match(results, /backend PyTorch \d+\.\d+/, "the report names what ran the models");
    await shot(page, "learned");
  } catch (error) {
    await shot(page, "failed").catch(() => undefined);
    throw error;
  } finally {
    await workbench.close();
  }
  await stateDictsLearn(root2, join(root2, "data.npz"));
}

async function stateDictsLearn(root: string, data: string): Promise<void> {
  const workbench = await openWorkbench({ root }, { name: "torch-state-dicts" });
  const { page } = workbench;
  try {
    await page.waitForTimeout(3_000);
    // State dicts: the learned soup waits for their PyTorch architecture, typed where the way out asks for it.
    const frame = await openFolder(page, "statedicts", data);
    await frame
      .locator("#method-unavailable", { hasText: "PyTorch state dicts hold weights only" })
      .waitFor({ timeout: 30_000 });
    await frame.locator("#architecture-needed", { hasText: "torchvision:<name>" }).waitFor({ timeout: 10_000 });
    await shot(page, "architecture-needed");
    await frame.locator("#method-unavailable .way-out", { hasText: "PyTorch Architecture" }).click();
    const input = page.locator(".quick-input-widget input");
    await page
      .locator(".quick-input-widget", { hasText: "The PyTorch architecture of these state dicts" })
      .waitFor({ state: "visible", timeout: 30_000 });
    await input.fill("mlp_factory.py:build");
    await page.keyboard.press("Enter");
    await frame.locator("#architecture-path", { hasText: "mlp_factory.py:build" }).waitFor({ timeout: 30_000 });
    await frame.locator("#method-unavailable").waitFor({ state: "detached", timeout: 10_000 });
    await frame.locator("#start").click();
    await frame
      .locator("#results tbody tr", { has: frame.locator("th", { hasText: /^Merged/ }) })
      .first()
      .waitFor({ timeout: 480_000 });
    assert.match((await frame.locator("#results").textContent()) ?? "", /backend PyTorch \d+\.\d+/);
    await shot(page, "learned-state-dicts");
  } catch (error) {
    await shot(page, "failed").catch(() => undefined);
    throw error;
  } finally {
    await workbench.close();
  }
}
