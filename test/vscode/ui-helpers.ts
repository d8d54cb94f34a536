/**
 * What every Playwright walk-through in code-server shares: the workbench started on a workspace, finding a
 * webview's frame, the command palette, Quick Open and VS Code's simple file dialog, driven the way a person would.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Frame, Locator, Page } from "playwright-core";
import { newWorkbenchPage, openBrowser } from "./browser.js";
import { projectRoot, remoteUri, startCodeServer, workbenchUrl } from "./code-server.js";
import type { TestWorkspace } from "./workspace.js";

export interface WorkbenchOptions {
  /** Names the run's scratch folder (`model-soup-<name>-…`) and its failure message. */
  name: string;
  /** User settings over the walk-throughs' own (VS Code's simple file dialog, the dark theme). */
  settings?: Record<string, unknown>;
  /** Open the Model Explorer (its activity-bar icon) once the extension's contributions are in. */
  openModelExplorer?: boolean;
}

export interface Workbench {
  page: Page;
  /** Model Soup's activity-bar icon: it shows once the extension's contributions are in. */
  modelSoupIcon: Locator;
  /** This run's own folder: user data, extensions, the failure screenshot. */
  scratch: string;
  /** Takes the screenshot of a failure (scratch/failure.png) and says where it is; the caller rethrows. */
  recordFailure(): Promise<void>;
  /** Closes the browser, stops code-server, removes the workspace and (unless MODEL_SOUP_KEEP_TMP) the user data. */
  close(): Promise<void>;
}

/**
 * code-server on `workspace` with this extension in development, Chromium on its workbench, waited for until the
 * extension's contributions are in. Use as
 * `const wb = await openWorkbench(ws, { name }); try { … } catch (e) { await wb.recordFailure(); throw e; } finally { await wb.close(); }`.
 */
export async function openWorkbench(workspace: TestWorkspace, options: WorkbenchOptions): Promise<Workbench> {
  const scratch = mkdtempSync(join(tmpdir(), `model-soup-${options.name}-`));
  const server = await startCodeServer({
    userDataDir: join(scratch, "user-data"),
    extensionsDir: join(scratch, "extensions"),
    workspace: workspace.root,
    settings: { "files.simpleDialog.enable": true, "workbench.colorTheme": "Default Dark Modern", ...options.settings },
  });
  const browser = await openBrowser().catch(async (error: unknown) => {
    await server.stop();
    throw error;
  });
  const page = await newWorkbenchPage(browser);
  // What the extension copies (vscode.env.clipboard) is read back by the walk-throughs.
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  const close = async () => {
    await browser.close();
    await server.stop();
    rmSync(workspace.root, { recursive: true, force: true });
    if (!process.env.MODEL_SOUP_KEEP_TMP) rmSync(join(scratch, "user-data"), { recursive: true, force: true });
  };
  const modelSoupIcon = page
    .locator(
      ".activitybar .action-item a[aria-label^='Model Soup'], .activitybar .action-item[aria-label^='Model Soup']",
    )
    .first();
  try {
    await page.goto(
      workbenchUrl(server, workspace.root, [["extensionDevelopmentPath", remoteUri(server.port, projectRoot)]]),
      // Several of us share two cores: the workbench can take a while to load.
      { timeout: 180_000 },
    );
    await page.locator(".monaco-workbench").waitFor({ timeout: 60_000 });
    await modelSoupIcon.waitFor({ timeout: 60_000 });
    if (options.openModelExplorer) await modelSoupIcon.click();
  } catch (error) {
    await close();
    throw error;
  }
  return {
    page,
    modelSoupIcon,
    scratch,
    recordFailure: async () => {
      const path = join(scratch, "failure.png");
      await page.screenshot({ path }).catch(() => undefined);
      console.error(`${options.name} walk-through failed; screenshot: ${path}`);
    },
    close,
  };
}

export async function panelFrame(page: Page, timeoutMs = 60_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const frame of page.frames()) {
      if (await frame.$("#model-soup-panel table").catch(() => null)) return frame;
    }
    if (Date.now() > deadline) throw new Error("the Merge panel's webview did not show its ingredients");
    await page.waitForTimeout(250);
  }
}

/** The frame of an open model viewer whose document shows `text`. */
export async function viewerFrame(page: Page, text: string, timeoutMs = 60_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const frame of page.frames()) {
      const found = await frame
        .$eval("#model-soup-viewer", (el, t) => (el.textContent ?? "").includes(t), text)
        .catch(() => false);
      if (found) return frame;
    }
    if (Date.now() > deadline) throw new Error(`no model viewer showing "${text}"`);
    await page.waitForTimeout(250);
  }
}

/** Quick Open (the palette without ">"): opens a workspace file as a user would. */
/**
 * Opens the command palette and types `text`. A quick pick that is still closing (after a pick or an editor taking
 * focus) can look visible and then vanish, swallowing F1: wait for it to go, and try again when typing fails.
 */
export async function openPalette(page: Page, text: string): Promise<void> {
  const widget = page.locator(".quick-input-widget");
  const input = page.locator(".quick-input-widget input");
  for (let attempt = 1; ; attempt++) {
    await widget.waitFor({ state: "hidden", timeout: 5_000 }).catch(() => undefined);
    await page.keyboard.press("F1");
    try {
      await input.fill(text, { timeout: 10_000 });
      return;
    } catch (error) {
      if (attempt >= 4) throw error;
      await page.keyboard.press("Escape");
    }
  }
}

export async function quickOpen(page: Page, name: string): Promise<void> {
  await openPalette(page, name);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: name }).first().waitFor({ timeout: 30_000 });
  await page.keyboard.press("Enter");
}

/**
 * Runs a command from the palette: moves the highlight to the row whose label is exactly `title` and accepts it.
 * Enter alone would take the highlighted row, which may be a longer title ("… in Folder") or a recently used one.
 * An editor that takes focus as it renders (the walkthrough) can close the palette under us: then open it again,
 * rather than sending keys to that editor.
 */
export async function runCommand(page: Page, title: string): Promise<void> {
  const widget = page.locator(".quick-input-widget");
  const rows = widget.locator(".quick-input-list .monaco-list-row");
  const isTitle = (label: string | null) => label === title || (label ?? "").startsWith(`${title}, `);
  for (let attempt = 1; attempt <= 4; attempt++) {
    await openPalette(page, `>${title}`);
    const listed = await rows
      .filter({ hasText: title })
      .first()
      .waitFor({ timeout: 30_000 })
      .then(() => true)
      .catch(() => false);
    for (let moves = 0; listed && moves < 30 && (await widget.isVisible()); moves++) {
      if (
        isTitle(
          await rows
            .and(page.locator(".focused"))
            .first()
            .getAttribute("aria-label", { timeout: 2_000 })
            .catch(() => null),
        )
      ) {
        await page.keyboard.press("Enter");
        return;
      }
      await page.keyboard.press("ArrowDown");
    }
    await page.keyboard.press("Escape");
  }
  throw new Error(`could not run "${title}" from the command palette`);
}

/**
 * Switches the colour theme as a person would: Preferences: Color Theme, then the theme's name ("Light Modern");
 * returns once the whole workbench wears it (its `vs` / `vs-dark` class), not only the webviews' variables.
 */
export async function setColorTheme(page: Page, theme: string, kind: "light" | "dark"): Promise<void> {
  await runCommand(page, "Preferences: Color Theme");
  const input = page.locator(".quick-input-widget input");
  await input.fill(theme);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: theme }).first().waitFor({ timeout: 30_000 });
  await page.keyboard.press("Enter");
  await page.locator(".quick-input-widget").waitFor({ state: "hidden", timeout: 10_000 });
  // The picker previews each theme it highlights: the theme is applied only if it is still worn once it closed.
  const worn = page.locator(`.monaco-workbench.${kind === "light" ? "vs" : "vs-dark"}`);
  await worn.waitFor({ timeout: 30_000 });
  await page.waitForTimeout(1500);
  await worn.waitFor({ timeout: 1_000 });
}

/** VS Code's simple file dialog (code-server has no native one): type the path and accept. */
export async function answerFileDialog(page: Page, title: string, path: string): Promise<void> {
  const dialogTitle = page.locator(".quick-input-widget .quick-input-title", { hasText: title });
  await dialogTitle.waitFor({ state: "visible" });
  const input = page.locator(".quick-input-widget input");
  // The dialog fills in its starting folder a moment after it shows: type until our path stays.
  for (let attempt = 0; attempt < 20; attempt++) {
    await input.fill(path);
    await page.waitForTimeout(400);
    if ((await input.inputValue()) === path) break;
  }
  await page.keyboard.press("Enter");
  await dialogTitle.waitFor({ state: "hidden", timeout: 10_000 });
}
