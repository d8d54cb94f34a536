/** Opens the code-server workbench in Debian's Chromium through playwright-core. */
import { chromium, type Browser, type Page } from "playwright-core";
import { chromiumArgs, chromiumPath } from "./code-server.js";

export async function openBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
}

export async function newWorkbenchPage(browser: Browser): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  return page;
}

/** `exit` resolves with the code the workbench reports through window.codeAutomationExit (the suite's result). */
export async function automationExit(page: Page): Promise<{ exit: Promise<number> }> {
  let resolveExit!: (code: number) => void;
  const exit = new Promise<number>((r) => (resolveExit = r));
  await page.exposeFunction("codeAutomationExit", (code: number) => resolveExit(code));
  return { exit };
}
