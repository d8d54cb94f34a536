/**
 * Finds the user's Python with torch, as a user expects: `--python <path>`, then the `modelSoup.python.path`
 * setting, then the Python extension's selected environment (editor), then every `python3` / `python` on PATH,
 * then the usual system locations; the first whose
 * `import torch` works (each probe bounded in time) is taken. None: a one-line UsageError naming what was tried.
 */
import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { UsageError } from "../errors.js";

export interface PythonWithTorch {
  /** The interpreter as it was found (an absolute path where it came from PATH or a system folder). */
  readonly path: string;
  readonly torchVersion: string;
  /** Devices torch can use here: "cpu", then "cuda:0".., then "mps" when present. */
  readonly devices: readonly string[];
  /** Where it came from: "--python", "setting", "Python extension", "PATH" or "system". */
  readonly source: "--python" | "setting" | "Python extension" | "PATH" | "system";
}

export interface FindPythonOptions {
  /** `--python <path>` on the command line. */
  readonly python?: string;
  /** The `modelSoup.python.path` setting, passed by the host. */
  readonly setting?: string;
  /** The interpreter of the Python extension's selected environment, passed by the host (host/python-environment.ts). */
  readonly pythonExtension?: string;
  /** PATH to search (default: process.env.PATH). */
  readonly pathEnv?: string;
  /** Folders searched after PATH. */
  readonly systemFolders?: readonly string[];
  /** Milliseconds one `import torch` may take (a cold import on a loaded machine takes seconds). */
  readonly probeTimeoutMs?: number;
}

export const SYSTEM_PYTHON_FOLDERS = ["/usr/bin", "/usr/local/bin", "/opt/homebrew/bin", "/opt/local/bin", "/bin"];
const NAMES = ["python3", "python"];

const PROBE = [
  "import json, torch",
  "d = ['cpu'] + ['cuda:%d' % i for i in range(torch.cuda.device_count())]",
  "m = getattr(torch.backends, 'mps', None)",
  "d += ['mps'] if m is not None and m.is_available() else []",
  "print('MODEL-SOUP-PROBE ' + json.dumps({'torch': torch.__version__, 'devices': d}))",
].join("\n");

type Probe = { ok: true; torchVersion: string; devices: string[] } | { ok: false; why: string };

function probe(python: string, timeoutMs: number): Promise<Probe> {
  return new Promise((resolve) => {
    execFile(python, ["-c", PROBE], { timeout: timeoutMs, encoding: "utf8", windowsHide: true }, (error, stdout) => {
      const line = stdout?.split("\n").find((l) => l.startsWith("MODEL-SOUP-PROBE "));
      if (!error && line) {
        try {
          const parsed = JSON.parse(line.slice("MODEL-SOUP-PROBE ".length)) as { torch: string; devices: string[] };
          resolve({ ok: true, torchVersion: parsed.torch, devices: parsed.devices });
          return;
        } catch {
          // fall through to the failure below
        }
      }
      const code = (error as NodeJS.ErrnoException | null)?.code;
      const killed = (error as { killed?: boolean } | null)?.killed;
      resolve({
        ok: false,
        why: code === "ENOENT" ? "not found" : killed ? `import torch took over ${timeoutMs / 1000} s` : "no torch",
      });
    });
  });
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The candidates in the order they are tried, without duplicates. */
export function pythonCandidates(
  options: FindPythonOptions = {},
): Array<{ path: string; source: PythonWithTorch["source"] }> {
  const out: Array<{ path: string; source: PythonWithTorch["source"] }> = [];
  const seen = new Set<string>();
  const add = (path: string, source: PythonWithTorch["source"]) => {
    if (seen.has(path)) return;
    seen.add(path);
    out.push({ path, source });
  };
  if (options.python) add(options.python, "--python");
  if (options.setting) add(options.setting, "setting");
  if (options.pythonExtension) add(options.pythonExtension, "Python extension");
  const pathEnv = options.pathEnv ?? process.env.PATH ?? "";
  for (const folder of pathEnv.split(delimiter).filter((f) => f.length > 0)) {
    for (const name of NAMES) if (isFile(join(folder, name))) add(join(folder, name), "PATH");
  }
  for (const folder of options.systemFolders ?? SYSTEM_PYTHON_FOLDERS) {
    for (const name of NAMES) if (existsSync(join(folder, name))) add(join(folder, name), "system");
  }
  return out;
}

/**
 * The first candidate whose `import torch` works. An explicit `--python` or setting that fails is reported as
 * such (it is what the user asked for) but the search goes on, so a stale setting does not stop a working system.
 */
export async function findPythonWithTorch(options: FindPythonOptions = {}): Promise<PythonWithTorch> {
  const timeoutMs = options.probeTimeoutMs ?? 60_000;
  const tried: string[] = [];
  for (const candidate of pythonCandidates(options)) {
    const result = await probe(candidate.path, timeoutMs);
    if (result.ok)
      return {
        path: candidate.path,
        torchVersion: result.torchVersion,
        devices: result.devices,
        source: candidate.source,
      };
    tried.push(`${candidate.path} (${result.why})`);
  }
  const where = "name the interpreter with --python <path> (editor: modelSoup.python.path)";
  if (tried.length === 0)
    throw new UsageError(
      `No Python found: no python3 or python on PATH or in ${(options.systemFolders ?? SYSTEM_PYTHON_FOLDERS).join(", ")}. ` +
        `Install Python 3 with PyTorch (Debian/Ubuntu: apt install python3-torch; elsewhere: pip install torch) or ${where}.`,
    );
  throw new UsageError(
    `No Python with PyTorch found; tried ${tried.join(", ")}. ` +
      `Install PyTorch (pip install torch, or Debian/Ubuntu: apt install python3-torch) or ${where}.`,
  );
}
