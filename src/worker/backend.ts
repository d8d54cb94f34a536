// Chooses the fastest TensorFlow.js backend that loads here: tfjs-node, else wasm, else the pure-JS cpu backend.
import * as tf from "@tensorflow/tfjs";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  registerComparisonGradients,
  registerCpuGradientKernels,
  registerWasmGradientKernels,
} from "./kernels/index.js";

export type BackendName = "tfjs-node" | "wasm" | "cpu";

export interface BackendChoice {
  /** The backend that is now active. */
  readonly backend: BackendName;
  /** Why each better backend was not used (empty when the first choice loaded). */
  readonly skipped: ReadonlyArray<{ readonly backend: BackendName; readonly reason: string }>;
}

const ORDER: readonly BackendName[] = ["tfjs-node", "wasm", "cpu"];
const WASM_FILE = "tfjs-backend-wasm.wasm";

/**
 * Where the .wasm binaries are: next to the running bundle (the build copies them beside dist/worker.cjs),
 * else in the installed package. Returns the folder with a trailing separator, or undefined.
 */
export function findWasmDirectory(extraCandidates: readonly string[] = []): string | undefined {
  const candidates = [...extraCandidates];
  try {
    candidates.push(dirname(fileURLToPath(import.meta.url)));
  } catch {
    // import.meta.url is not a file URL (not expected in Node); fall through to the package lookup.
  }
  try {
    const require = createRequire(import.meta.url);
    candidates.push(dirname(require.resolve("@tensorflow/tfjs-backend-wasm")));
  } catch {
    // Package missing: the caller reports wasm as unavailable.
  }
  candidates.push(join(process.cwd(), "node_modules/@tensorflow/tfjs-backend-wasm/dist"));
  const found = candidates.find((dir) => existsSync(join(dir, WASM_FILE)));
  return found === undefined ? undefined : found.endsWith("/") ? found : found + "/";
}

async function tryTfjsNode(): Promise<void> {
  // A variable specifier keeps bundlers from resolving the optional native package at build time.
  const specifier = "@tensorflow/tfjs-node";
  await import(specifier);
  if (!(await tf.setBackend("tensorflow"))) throw new Error("the 'tensorflow' backend did not initialise");
}

let wasmPathsSet = false;

async function tryWasm(): Promise<void> {
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  if (!wasmPathsSet) {
    const dir = findWasmDirectory();
    if (dir === undefined) throw new Error(`${WASM_FILE} not found next to the program nor in node_modules`);
    wasm.setWasmPaths(dir);
    wasmPathsSet = true;
  }
  if (!(await tf.setBackend("wasm"))) throw new Error("the wasm backend did not initialise");
  registerWasmGradientKernels();
}

async function tryCpu(): Promise<void> {
  if (!(await tf.setBackend("cpu"))) throw new Error("the cpu backend did not initialise");
  registerCpuGradientKernels();
}

const LOADERS: Record<BackendName, () => Promise<void>> = { "tfjs-node": tryTfjsNode, wasm: tryWasm, cpu: tryCpu };

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0] ?? message;
}

/**
 * Activates a backend. With a preference, that one is tried first and the usual order follows it when it
 * fails; every skipped backend is reported with the reason.
 */
export async function selectBackend(preference?: BackendName): Promise<BackendChoice> {
  // Every report names the backend and why better ones were skipped; tfjs's own console advice (install
  // tfjs-node) would only be noise on the user's terminal. Production mode also skips debug-only checks.
  tf.enableProdMode();
  registerComparisonGradients();
  const order = preference === undefined ? ORDER : [preference, ...ORDER.filter((b) => b !== preference)];
  const skipped: Array<{ backend: BackendName; reason: string }> = [];
  for (const backend of order) {
    try {
      await LOADERS[backend]();
      await tf.ready();
      return { backend, skipped };
    } catch (error) {
      skipped.push({ backend, reason: describe(error) });
    }
  }
  throw new Error(
    `No TensorFlow.js backend could start: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join("; ")}`,
  );
}
