/** Bundles the VS Code suite (test/vscode/suite/*.ts) into CommonJS files a real extension host can require. */
import * as esbuild from "esbuild";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "./code-server.js";

export const suiteOutDir = join(projectRoot, "out", "vscode-suite");

export async function bundleSuite(): Promise<string> {
  const suiteDir = join(projectRoot, "test", "vscode", "suite");
  rmSync(suiteOutDir, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: readdirSync(suiteDir)
      .filter((f) => f.endsWith(".ts"))
      .map((f) => join(suiteDir, f)),
    outdir: suiteOutDir,
    outExtension: { ".js": ".cjs" },
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    sourcemap: "inline",
    logLevel: "warning",
    define: { "import.meta.url": "__importMetaUrl" },
    banner: { js: 'const __importMetaUrl = require("url").pathToFileURL(__filename).href;' },
    // mocha is resolved from the project's node_modules at run time; vscode is the host's API.
    external: ["vscode", "mocha", "@tensorflow/tfjs-node"],
  });
  return join(suiteOutDir, "index.cjs");
}
