/**
 * Runs the VS Code suite (test/vscode/suite) inside a real VS Code on machines where VS Code desktop cannot
 * be downloaded: code-server serves the workbench, Chromium opens it with a `payload` that names this
 * extension (extensionDevelopmentPath) and the suite (extensionTestsPath), and the suite's result comes back
 * through window.codeAutomationExit. Exits with the suite's code.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { automationExit, newWorkbenchPage, openBrowser } from "./browser.js";
import { bundleSuite } from "./bundle.js";
import { projectRoot, remoteUri, startCodeServer, workbenchUrl } from "./code-server.js";
import { makeTestWorkspace } from "./workspace.js";

const SUITE_TIMEOUT_MS = 15 * 60_000;

export async function runSuiteInCodeServer(
  extraEnv: Record<string, string> = {},
  options: { trust?: boolean } = {},
): Promise<number> {
  const entry = await bundleSuite();
  const workspace = makeTestWorkspace();
  const scratch = mkdtempSync(join(tmpdir(), "model-soup-vscode-"));
  const log = join(scratch, "mocha.log");
  writeFileSync(log, "");
  const server = await startCodeServer({
    userDataDir: join(scratch, "user-data"),
    extensionsDir: join(scratch, "extensions"),
    workspace: workspace.root,
    env: { MODEL_SOUP_TEST_LOG: log, MODEL_SOUP_TEST_GREP: process.env.MODEL_SOUP_TEST_GREP ?? "", ...extraEnv },
    trust: options.trust,
  });
  const browser = await openBrowser();
  let printed = 0;
  const tail = setInterval(() => {
    const text = readFileSync(log, "utf8");
    process.stdout.write(text.slice(printed));
    printed = text.length;
  }, 500);
  try {
    const page = await newWorkbenchPage(browser);
    const { exit } = await automationExit(page);
    await page.goto(
      workbenchUrl(server, workspace.root, [
        ["extensionDevelopmentPath", remoteUri(server.port, projectRoot)],
        ["extensionTestsPath", remoteUri(server.port, entry)],
      ]),
    );
    const code = await Promise.race([exit, new Promise<number>((r) => setTimeout(() => r(-1), SUITE_TIMEOUT_MS))]);
    if (code === -1) console.error(`The VS Code suite did not finish within ${SUITE_TIMEOUT_MS / 60000} minutes`);
    return code;
  } finally {
    clearInterval(tail);
    process.stdout.write(readFileSync(log, "utf8").slice(printed));
    await browser.close();
    await server.stop();
    if (process.env.MODEL_SOUP_KEEP_TMP) {
      console.log(`kept ${scratch} and ${workspace.root}; code-server said:\n${server.output.join("")}`);
    } else {
      rmSync(scratch, { recursive: true, force: true });
      rmSync(workspace.root, { recursive: true, force: true });
    }
  }
}
