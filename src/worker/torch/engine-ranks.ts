// Data-parallel ranks of the PyTorch engine (TorchEngine's nproc, nnodes, nodeRank, masterAddr, masterPort, as
// torchrun takes them): the environment each engine.py rank is started with, and the ranks that only follow rank 0
// (every local rank but rank 0 on node 0, every local rank on the other nodes), which speak no protocol.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import type { Cancellation } from "../../core/cancellation.js";
import { CancelledError, UsageError } from "../../core/errors.js";
import { deathLine } from "./engine-process.js";

export interface RankOptions {
  /** Ranks on this machine (default 1). */
  readonly nproc?: number;
  /** Machines (default 1). */
  readonly nnodes?: number;
  /** This machine's place, 0..nnodes−1 (default 0: the one that talks to the learner). */
  readonly nodeRank?: number;
  /** Where rank 0 listens (default 127.0.0.1; give node 0's address with several nodes). */
  readonly masterAddr?: string;
  /** Its port (default: a free one on one node; required with several). */
  readonly masterPort?: number;
}

const RANK_OPTIONS = ["nproc", "nnodes", "nodeRank", "masterAddr", "masterPort"] as const;

/** The rank options among `from`'s fields (a job's parameters), those given only. */
export function rankOptions(from: RankOptions): RankOptions {
  return Object.fromEntries(RANK_OPTIONS.flatMap((k) => (from[k] !== undefined ? [[k, from[k]]] : []))) as RankOptions;
}

export interface RankLayout {
  readonly nproc: number;
  readonly nnodes: number;
  readonly nodeRank: number;
  readonly world: number;
  readonly masterAddr: string;
  readonly masterPort: number;
}

const STDERR_KEPT = 8_192;
const CANCEL_POLL_MS = 200;

function whole(value: number | undefined, fallback: number, what: string, least: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < least) throw new UsageError(`${what} must be a whole number ≥ ${least}, not ${v}`);
  return v;
}

/** A free TCP port on this machine (the default master port of a one-machine run). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** Checks the options and fills in the defaults. */
export async function rankLayout(options: RankOptions): Promise<RankLayout> {
  const nproc = whole(options.nproc, 1, "nproc", 1);
  const nnodes = whole(options.nnodes, 1, "nnodes", 1);
  const nodeRank = whole(options.nodeRank, 0, "nodeRank", 0);
  if (nodeRank >= nnodes) throw new UsageError(`nodeRank ${nodeRank} is not below nnodes ${nnodes}`);
  if (nnodes > 1 && options.masterPort === undefined)
    throw new UsageError("several nodes need masterPort (and masterAddr: node 0's address), as torchrun does");
  const masterPort = options.masterPort ?? (nproc * nnodes > 1 ? await freePort() : 0);
  if (!Number.isInteger(masterPort) || masterPort < 0 || masterPort > 65535)
    throw new UsageError(`masterPort must be a TCP port (0..65535), not ${masterPort}`);
  return { nproc, nnodes, nodeRank, world: nproc * nnodes, masterAddr: options.masterAddr ?? "127.0.0.1", masterPort };
}

/** The environment of local rank `local` (engine.py reads these; one rank needs none). */
export function rankEnvironment(layout: RankLayout, local: number): NodeJS.ProcessEnv {
  if (layout.world === 1) return {};
  return {
    MODEL_SOUP_RANK: String(layout.nodeRank * layout.nproc + local),
    MODEL_SOUP_LOCAL_RANK: String(local),
    MODEL_SOUP_LOCAL_WORLD_SIZE: String(layout.nproc),
    MODEL_SOUP_WORLD_SIZE: String(layout.world),
    MODEL_SOUP_MASTER_ADDR: layout.masterAddr,
    MODEL_SOUP_MASTER_PORT: String(layout.masterPort),
  };
}

/** Ranks that follow rank 0: started together, watched, ended together. */
export class FollowerRanks {
  private readonly children: ChildProcess[] = [];
  private ending = false;
  /** Resolves with the first follower's death line (undefined when they were ended by end()). */
  readonly failed: Promise<string | undefined>;
  private fail!: (line: string | undefined) => void;

  constructor(python: string, script: string, layout: RankLayout, locals: readonly number[]) {
    this.failed = new Promise((resolve) => (this.fail = resolve));
    for (const local of locals) {
      const rank = layout.nodeRank * layout.nproc + local;
      const child = spawn(python, ["-u", script], {
        stdio: ["ignore", "ignore", "pipe"],
        env: { ...process.env, PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1", ...rankEnvironment(layout, local) },
        windowsHide: true,
      });
      let stderr = "";
      child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_KEPT)));
      const died = (line: string) => {
        if (!this.ending) this.fail(line.replace("The PyTorch engine", `The PyTorch engine's rank ${rank}`));
      };
      child.on("error", (error) => died(`The PyTorch engine could not start ${python}: ${error.message}`));
      // Exiting 0 is following rank 0's exit; anything else is a failure.
      child.on("exit", (code, signal) => (code === 0 ? undefined : died(deathLine(code, signal, stderr, child.pid))));
      this.children.push(child);
    }
  }

  /** Resolves once every follower has exited. */
  exited(): Promise<void> {
    return Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) =>
            child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve()),
          ),
      ),
    ).then(() => undefined);
  }

  get pids(): number[] {
    return this.children.map((c) => c.pid ?? 0);
  }

  /** Waits up to `graceMs` for every follower to exit (rank 0 told them to), then kills those left. */
  async end(graceMs = 1000): Promise<void> {
    this.ending = true;
    this.fail(undefined);
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
            child.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
  }

  /** Ends every follower now. */
  kill(): void {
    this.ending = true;
    this.fail(undefined);
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

/**
 * On a node other than node 0 (nodeRank ≥ 1): starts this node's nproc ranks, which follow rank 0 on node 0, and
 * resolves when they have ended (rejects with the first one's death line).
 */
export async function serveTorchRanks(
  python: string,
  script: string,
  options: RankOptions,
  cancel?: Cancellation,
): Promise<number[]> {
  const layout = await rankLayout(options);
  if (layout.nodeRank === 0)
    throw new UsageError("node 0 runs the learner: start TorchEngine there, not serveTorchRanks");
  const locals = Array.from({ length: layout.nproc }, (_, i) => i);
  const followers = new FollowerRanks(python, script, layout, locals);
  // A worker that is ended (Ctrl-C in the CLI) takes this node's ranks with it.
  const onExit = () => followers.kill();
  process.on("exit", onExit);
  let poll: NodeJS.Timeout | undefined;
  const cancelled = new Promise<"cancelled">((resolve) => {
    poll = setInterval(() => cancel?.isCancellationRequested && resolve("cancelled"), CANCEL_POLL_MS);
  });
  try {
    const end = await Promise.race([followers.failed, followers.exited().then(() => undefined), cancelled]);
    if (end === "cancelled") {
      followers.kill();
      throw new CancelledError("Cancelled: this node's ranks were stopped.");
    }
    if (end !== undefined) {
      followers.kill();
      throw new UsageError(end);
    }
    return locals.map((local) => layout.nodeRank * layout.nproc + local);
  } finally {
    clearInterval(poll);
    process.off("exit", onExit);
  }
}
