/**
 * `npm run test:vscode`: the VS Code suite in a real VS Code. Here that is code-server (installed by
 * .ci/install-code-server.sh into .vscode-test/); with MODEL_SOUP_VSCODE=electron it is VS Code desktop
 * through @vscode/test-electron, for machines that can download it. Then, in code-server, the Playwright
 * panel walk-through and the .vsix install test. When code-server is missing, CI fails and a local run
 * says it skipped.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { codeServerInstalled, codeServerBin, chromiumPath, projectRoot } from "./code-server.js";

async function main(): Promise<number> {
  if (process.env.MODEL_SOUP_VSCODE === "electron") {
    const { runTests } = await import("@vscode/test-electron");
    const { bundleSuite } = await import("./bundle.js");
    const { makeTestWorkspace } = await import("./workspace.js");
    const entry = await bundleSuite();
    await runTests({
      extensionDevelopmentPath: projectRoot,
      extensionTestsPath: entry,
      launchArgs: [makeTestWorkspace().root],
    });
    return 0;
  }
  if (!codeServerInstalled()) {
    const why = `code-server (${codeServerBin}) or Chromium (${chromiumPath}) is missing; run .ci/install-code-server.sh`;
    if (process.env.CI) {
      console.error(`FAIL: the VS Code suite cannot run in CI: ${why}`);
      return 1;
    }
    console.log(`SKIPPED: the VS Code suite did not run: ${why}`);
    return 0;
  }
  const only = process.env.MODEL_SOUP_VSCODE_ONLY; // "suite", "ui" (every walk-through), "ui <file>" or "vsix"
  let failed = 0;
  if (!only || only === "suite") {
    const { runSuiteInCodeServer } = await import("./run-code-server.js");
    const code = await runSuiteInCodeServer();
    console.log(`VS Code suite in code-server: exit ${code}`);
    if (code !== 0) failed++;
    // The same suite once more in a folder that is not trusted: only the tests written for that case run.
    const restricted = await runSuiteInCodeServer(
      { MODEL_SOUP_TEST_GREP: "in an untrusted workspace", MODEL_SOUP_EXPECT_UNTRUSTED: "1" },
      { trust: false },
    );
    console.log(`VS Code suite in an untrusted workspace: exit ${restricted}`);
    if (restricted !== 0) failed++;
  }
  // The panel walk-through, then every walk-through of test/vscode/walkthrough/ (one file per area, each with its
  // own code-server), then the .vsix install.
  const walkthroughs = readdirSync(join(import.meta.dirname, "walkthrough"))
    .filter((f) => f.endsWith(".ts"))
    .sort()
    .map((f) => [`ui ${f.replace(/\.ts$/, "")}`, `./walkthrough/${f.replace(/\.ts$/, ".js")}`] as const);
  for (const [name, module] of [
    ["ui", "./ui-panel.js"] as const,
    ...walkthroughs,
    ["vsix", "./vsix-install.js"] as const,
  ]) {
    if (only && only !== name && !(only === "ui" && name.startsWith("ui "))) continue;
    try {
      const { main: run } = (await import(module)) as { main: () => Promise<void> };
      await run();
      console.log(`VS Code ${name} test: passed`);
    } catch (error) {
      if (
        (error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" &&
        String(error).includes(join("test", "vscode"))
      ) {
        console.log(`VS Code ${name} test: not written yet`);
        continue;
      }
      console.error(`VS Code ${name} test FAILED:`, error);
      failed++;
    }
  }
  return failed === 0 ? 0 : 1;
}

// Exit explicitly: the esbuild service and playwright may keep the event loop alive.
process.exit(await main());
