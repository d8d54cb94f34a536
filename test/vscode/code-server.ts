/**
 * Starts and stops code-server (the VS Code workbench served by Node) for tests, as
 * /work/shared/recipes/real-vscode.md describes. Used by the runners in this folder; never by the extension.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

export const projectRoot = join(import.meta.dirname, "..", "..");
export const codeServerBin = join(projectRoot, ".vscode-test", "code-server", "node_modules", ".bin", "code-server");
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export function codeServerInstalled(): boolean {
  return existsSync(codeServerBin) && existsSync(chromiumPath);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export interface RunningCodeServer {
  port: number;
  url: string;
  process: ChildProcess;
  output: string[];
  stop(): Promise<void>;
}

export interface CodeServerOptions {
  userDataDir: string;
  extensionsDir: string;
  workspace: string;
  env?: Record<string, string>;
  settings?: Record<string, unknown>;
  /** false: workspace trust on and the folder left untrusted (restricted mode), without a startup prompt. */
  trust?: boolean;
}

export async function startCodeServer(options: CodeServerOptions): Promise<RunningCodeServer> {
  const port = await freePort();
  mkdirSync(join(options.userDataDir, "User"), { recursive: true });
  mkdirSync(options.extensionsDir, { recursive: true });
  writeFileSync(
    join(options.userDataDir, "User", "settings.json"),
    JSON.stringify(
      {
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": false,
        "security.workspace.trust.enabled": options.trust === false,
        "security.workspace.trust.startupPrompt": "never",
        "extensions.autoCheckUpdates": false,
        "extensions.autoUpdate": false,
        "telemetry.telemetryLevel": "off",
        // code-server is a remote setup, where VS Code looks for ports to forward by spawning `ps` from the
        // extension host every few seconds: an 80 ms stall of its own that desktop VS Code does not have.
        "remote.autoForwardPorts": false,
        ...options.settings,
      },
      null,
      2,
    ),
  );
  const child = spawn(
    codeServerBin,
    [
      "--auth",
      "none",
      "--bind-addr",
      `127.0.0.1:${port}`,
      "--disable-telemetry",
      "--disable-update-check",
      ...(options.trust === false ? [] : ["--disable-workspace-trust"]),
      "--user-data-dir",
      options.userDataDir,
      "--extensions-dir",
      options.extensionsDir,
      options.workspace,
    ],
    {
      env: { ...process.env, XDG_CONFIG_HOME: join(options.userDataDir, "config"), ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  const output: string[] = [];
  child.stdout!.on("data", (d) => output.push(String(d)));
  child.stderr!.on("data", (d) => output.push(String(d)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited (${child.exitCode}):\n${output.join("")}`);
    try {
      const response = await fetch(url + "/healthz");
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`code-server did not answer on ${url} within 60 s:\n${output.join("")}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    port,
    url,
    process: child,
    output,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      // The server starts the extension host and terminals as children: stop the whole group we started.
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        child.kill("SIGTERM");
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          child.kill("SIGKILL");
        }
      }
    },
  };
}

/** The URI the web workbench understands for an absolute path on this machine. */
export function remoteUri(port: number, path: string): string {
  return `vscode-remote://127.0.0.1:${port}${path}`;
}

export function workbenchUrl(server: RunningCodeServer, folder: string, payload?: Array<[string, string]>): string {
  let url = `${server.url}/?folder=${encodeURIComponent(folder)}`;
  if (payload) url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  return url;
}

export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
