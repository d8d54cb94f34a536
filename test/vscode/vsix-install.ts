/**
 * The packaged extension: `vsce package --no-dependencies` (everything it needs is bundled in dist/), then
 * `code-server --install-extension` into a fresh extensions folder, then a probe test inside that VS Code
 * checks that the installed copy (not this source tree) activates, registers its commands and starts its
 * bundled worker.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { automationExit, newWorkbenchPage, openBrowser } from "./browser.js";
import { codeServerBin, projectRoot, remoteUri, startCodeServer, workbenchUrl } from "./code-server.js";

const PROBE = String.raw`
const vscode = require("vscode");
exports.run = async function run() {
  const extension = vscode.extensions.getExtension("model-soup.model-soup");
  if (!extension) throw new Error("model-soup.model-soup is not installed");
  if (!extension.extensionPath.startsWith(process.env.MODEL_SOUP_EXTENSIONS_DIR)) {
    throw new Error("expected the installed copy, got " + extension.extensionPath);
  }
  const api = await extension.activate();
  const commands = await vscode.commands.getCommands(true);
  for (const id of ["modelSoup.mergeModels", "modelSoup.mergeFolder", "modelSoup.showLayerDiff", "modelSoup.restartWorker"]) {
    if (!commands.includes(id)) throw new Error(id + " is not registered");
  }
  // The README the extension view shows starts with what Model Soup does and a picture, not with npm commands.
  const fs = require("fs");
  const readmeName = fs.readdirSync(extension.extensionPath).find((f) => f.toLowerCase() === "readme.md");
  const readme = fs.readFileSync(require("path").join(extension.extensionPath, readmeName), "utf8");
  const opening = readme.split("\n").slice(0, 12).join("\n");
  if (!/^# Model Soup\n\n\*\*Merge trained neural networks/.test(readme)) throw new Error("the packaged README does not start with what Model Soup does");
  if (/npm install/.test(opening)) throw new Error("the packaged README opens with npm install");
  if (!/!\[[^\]]*\]\(media\/screenshot-panel\.png\)/.test(opening)) throw new Error("the packaged README shows no picture at its start");
  for (const image of ["screenshot-panel.png", "screenshot-viewer.png"]) {
    if (!fs.existsSync(require("path").join(extension.extensionPath, "media", image))) throw new Error("the packaged extension lacks media/" + image);
  }
  const backend = await api.workerBackend();
  console.log("installed extension activated; worker backend: " + backend.backend);
  require("fs").writeFileSync(process.env.MODEL_SOUP_PROBE_OUT, JSON.stringify({ path: extension.extensionPath, backend }));
};
`;

export async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), "model-soup-vsix-"));
  try {
    execFileSync(process.execPath, [join(projectRoot, "scripts", "build.mjs"), "--production"], { stdio: "inherit" });
    const vsix = join(scratch, "model-soup.vsix");
    execFileSync(
      join(projectRoot, "node_modules", ".bin", "vsce"),
      [
        "package",
        "--no-dependencies",
        "--skip-license",
        "--no-rewrite-relative-links",
        "--readme-path",
        "MARKETPLACE.md",
        "--out",
        vsix,
      ],
      {
        cwd: projectRoot,
        stdio: "inherit",
      },
    );
    const extensions = join(scratch, "extensions");
    execFileSync(
      codeServerBin,
      ["--extensions-dir", extensions, "--user-data-dir", join(scratch, "user-data"), "--install-extension", vsix],
      {
        stdio: "inherit",
        env: { ...process.env, XDG_CONFIG_HOME: join(scratch, "config") },
      },
    );
    const installed = readdirSync(extensions).find((d) => d.startsWith("model-soup.model-soup-"));
    if (!installed) throw new Error(`the .vsix did not install into ${extensions}`);

    const probe = join(scratch, "probe");
    mkdirSync(probe);
    writeFileSync(
      join(probe, "package.json"),
      JSON.stringify({ name: "probe", publisher: "test", version: "0.0.0", engines: { vscode: "^1.100.0" } }),
    );
    writeFileSync(join(probe, "probe.cjs"), PROBE);
    const workspace = join(scratch, "workspace");
    mkdirSync(workspace);
    const out = join(scratch, "probe.json");
    const server = await startCodeServer({
      userDataDir: join(scratch, "user-data"),
      extensionsDir: extensions,
      workspace,
      env: { MODEL_SOUP_EXTENSIONS_DIR: extensions, MODEL_SOUP_PROBE_OUT: out },
    });
    const browser = await openBrowser();
    try {
      const page = await newWorkbenchPage(browser);
      const errors: string[] = [];
      page.on(
        "console",
        (m) => m.type() === "error" && !/open-vsx|404|ERR_NAME_NOT_RESOLVED/.test(m.text()) && errors.push(m.text()),
      );
      const { exit } = await automationExit(page);
      await page.goto(
        workbenchUrl(server, workspace, [
          ["extensionDevelopmentPath", remoteUri(server.port, probe)],
          ["extensionTestsPath", remoteUri(server.port, join(probe, "probe.cjs"))],
        ]),
      );
      const code = await Promise.race([exit, new Promise<number>((r) => setTimeout(() => r(-1), 180_000))]);
      if (code !== 0)
        throw new Error(
          `the installed extension did not activate (probe exit ${code}):\n${errors.join("\n").slice(-3000)}`,
        );
      console.log(`installed ${installed}; probe: ${readdirSync(scratch).includes("probe.json") ? "ok" : "no report"}`);
    } finally {
      await browser.close();
      await server.stop();
    }
  } finally {
    // Leave the development build as the other tests expect it.
    execFileSync(process.execPath, [join(projectRoot, "scripts", "build.mjs")], { stdio: "inherit" });
    rmSync(scratch, { recursive: true, force: true });
  }
}
