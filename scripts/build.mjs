// One esbuild entry per runtime: extension host, worker, CLI (all Node, CommonJS) and the webview (browser).
import * as esbuild from "esbuild";
import { cpSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const watch = process.argv.includes("--watch");
const production = process.argv.includes("--production");

// ESM dependencies (h5wasm) read import.meta.url; in a CommonJS bundle it comes from __filename.
const nodeCommon = {
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  sourcemap: !production,
  minify: production,
  logLevel: "warning",
  define: { "import.meta.url": "__importMetaUrl" },
  banner: { js: 'const __importMetaUrl = require("url").pathToFileURL(__filename).href;' },
  // tfjs-node is optional and native: load it at run time when it exists, never bundle it.
  external: ["vscode", "@tensorflow/tfjs-node"],
};

const builds = [
  { ...nodeCommon, entryPoints: [join(root, "src/host/extension.ts")], outfile: join(root, "dist/extension.cjs") },
  { ...nodeCommon, entryPoints: [join(root, "src/worker/main.ts")], outfile: join(root, "dist/worker.cjs") },
  {
    ...nodeCommon,
    entryPoints: [join(root, "src/cli/main.ts")],
    outfile: join(root, "dist/cli.cjs"),
    banner: { js: "#!/usr/bin/env node\n" + nodeCommon.banner.js },
  },
  {
    bundle: true,
    platform: "browser",
    format: "iife",
    target: "es2022",
    sourcemap: !production,
    minify: production,
    logLevel: "warning",
    entryPoints: [join(root, "webview/main.ts")],
    outfile: join(root, "dist/webview.js"),
    loader: { ".css": "text" },
  },
  {
    bundle: true,
    platform: "browser",
    format: "iife",
    target: "es2022",
    sourcemap: !production,
    minify: production,
    logLevel: "warning",
    entryPoints: [join(root, "webview/viewer.ts")],
    outfile: join(root, "dist/viewer.js"),
  },
  {
    bundle: true,
    platform: "browser",
    format: "iife",
    target: "es2022",
    sourcemap: !production,
    minify: production,
    logLevel: "warning",
    entryPoints: [join(root, "webview/compare.ts")],
    outfile: join(root, "dist/compare.js"),
  },
];

function copyAssets() {
  mkdirSync(join(root, "dist"), { recursive: true });
  const wasmDir = join(root, "node_modules/@tensorflow/tfjs-backend-wasm/dist");
  for (const f of readdirSync(wasmDir).filter((f) => f.endsWith(".wasm"))) {
    cpSync(join(wasmDir, f), join(root, "dist", f));
  }
  cpSync(join(root, "node_modules/uplot/dist/uPlot.min.css"), join(root, "dist/uPlot.min.css"));
  // The PyTorch engine runs in the user's Python; the worker finds it beside its bundle.
  cpSync(join(root, "src/worker/torch/engine.py"), join(root, "dist/engine.py"));
}

const present = builds.filter((b) => existsSync(b.entryPoints[0]));

copyAssets();
if (watch) {
  for (const b of present) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(present.map((b) => esbuild.build(b)));
}
