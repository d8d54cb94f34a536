// The Python child that runs engine.py: frames requests over its stdin, reads answers from its stdout, one request
// at a time, and turns its death (killed, out of memory, an exception outside a request) into one line.
import { spawn, type ChildProcess } from "node:child_process";
import { CancelledError, EngineError } from "../../core/errors.js";
import type { Cancellation } from "../../core/cancellation.js";

export interface Answer {
  readonly header: Record<string, unknown>;
  readonly payload: Buffer;
}

const HEAD = 12; // uint32 header length, uint64 payload length
const STDERR_KEPT = 16_384;
/** How often a pending request looks at its cancellation token. */
const CANCEL_POLL_MS = 100;

export function frame(header: Record<string, unknown>, payload?: Uint8Array): Buffer[] {
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const head = Buffer.alloc(HEAD);
  head.writeUInt32LE(json.length, 0);
  head.writeBigUInt64LE(BigInt(payload?.byteLength ?? 0), 4);
  const parts: Buffer[] = [head, json];
  if (payload && payload.byteLength > 0)
    parts.push(Buffer.from(payload.buffer as ArrayBuffer, payload.byteOffset, payload.byteLength));
  return parts;
}

/** What happened to a process that ended, in one line, from its exit and the end of its stderr. */
export function deathLine(code: number | null, signal: NodeJS.Signals | null, stderr: string, pid?: number): string {
  const who = `The PyTorch engine${pid ? ` (pid ${pid})` : ""}`;
  if (/CUDA out of memory|OutOfMemoryError/.test(stderr)) return `${who} ran out of GPU memory (CUDA out of memory).`;
  if (/MemoryError|Cannot allocate memory|std::bad_alloc/.test(stderr)) return `${who} ran out of memory.`;
  if (signal === "SIGKILL") return `${who} was killed (SIGKILL: out of memory, or ended from outside).`;
  if (signal) return `${who} was ended by ${signal}.`;
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const last = lines.at(-1);
  return `${who} exited with code ${code}${last ? `: ${last.slice(0, 300)}` : ""}.`;
}

export class EngineProcess {
  private readonly child: ChildProcess;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private stderr = "";
  private waiting?: { resolve: (a: Answer) => void; reject: (e: Error) => void };
  private queue: Promise<unknown> = Promise.resolve();
  private dead?: string;
  private cancelledBy?: string;
  private failedBy?: string;
  readonly exited: Promise<void>;

  constructor(python: string, script: string, env?: NodeJS.ProcessEnv) {
    this.child = spawn(python, ["-u", script], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1", ...env },
      windowsHide: true,
    });
    this.child.stdout!.on("data", (chunk: Buffer) => this.receive(chunk));
    this.child.stderr!.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString("utf8")).slice(-STDERR_KEPT);
    });
    this.child.stdin!.on("error", () => undefined); // a dead child: reported by its exit
    this.exited = new Promise((resolve) => {
      this.child.on("error", (error) => {
        this.die(`The PyTorch engine could not start ${python}: ${error.message}`);
        resolve();
      });
      this.child.on("exit", (code, signal) => {
        this.die(this.failedBy ?? this.cancelledBy ?? deathLine(code, signal, this.stderr, this.child.pid));
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The first frame engine.py sends: versions, once it has imported torch. */
  ready(): Promise<Answer> {
    return this.enqueue(() => this.next());
  }

  /** Sends one request and waits for its answer; an {ok: false} answer is an EngineError with its line. */
  request(header: Record<string, unknown>, payload?: Uint8Array, cancel?: Cancellation): Promise<Answer> {
    return this.requestAfter([], header, payload, cancel);
  }

  /**
   * Sends `before` (requests marked reply: false, which engine.py answers only by a failure, in place of the
   * next answer) and then the request, in one go, and waits for the one answer.
   */
  requestAfter(
    before: ReadonlyArray<{ header: Record<string, unknown>; payload?: Uint8Array }>,
    header: Record<string, unknown>,
    payload?: Uint8Array,
    cancel?: Cancellation,
  ): Promise<Answer> {
    return this.enqueue(async () => {
      if (cancel?.isCancellationRequested) this.kill("Cancelled");
      if (this.dead) throw this.deadError();
      const parts = [
        ...before.flatMap((b) => frame({ ...b.header, reply: false }, b.payload)),
        ...frame(header, payload),
      ];
      this.child.stdin!.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
      return this.next(cancel);
    });
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private next(cancel?: Cancellation): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      if (this.dead) return reject(this.deadError());
      let timer: NodeJS.Timeout | undefined;
      const done = () => timer !== undefined && clearInterval(timer);
      this.waiting = {
        resolve: (a) => {
          done();
          if (a.header.ok === false) reject(new EngineError(String(a.header.error)));
          else resolve(a);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      if (cancel) {
        timer = setInterval(() => {
          if (cancel.isCancellationRequested) this.kill("Cancelled");
        }, CANCEL_POLL_MS);
      }
      this.take();
    });
  }

  private deadError(): Error {
    const line = this.dead ?? this.cancelledBy ?? "The PyTorch engine has ended.";
    return this.cancelledBy && !this.failedBy ? new CancelledError(this.cancelledBy) : new EngineError(line);
  }

  private receive(chunk: Buffer): void {
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    this.take();
  }

  /** Hands a complete frame, if one has arrived, to the request waiting for it. */
  private take(): void {
    if (!this.waiting || this.bufferedBytes < HEAD) return;
    const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
    this.buffered = [all];
    const headerBytes = all.readUInt32LE(0);
    const payloadBytes = Number(all.readBigUInt64LE(4));
    const total = HEAD + headerBytes + payloadBytes;
    if (all.length < total) return;
    const header = JSON.parse(all.subarray(HEAD, HEAD + headerBytes).toString("utf8")) as Record<string, unknown>;
    // A copy: the payload outlives the receive buffer.
    const payload = Buffer.from(all.subarray(HEAD + headerBytes, total));
    const rest = all.subarray(total);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.bufferedBytes = rest.length;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting.resolve({ header, payload });
  }

  private die(line: string): void {
    if (this.dead) return;
    this.dead = line;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(this.deadError());
  }

  /** Ends the process now (a cancelled job); the request in flight rejects with CancelledError(reason). */
  kill(reason = "Cancelled"): void {
    if (this.dead) return;
    this.cancelledBy = reason;
    this.child.kill("SIGKILL");
  }

  /** Ends the process now because something it depends on failed (another rank died): requests reject with `line`. */
  fail(line: string): void {
    if (this.dead) return;
    this.failedBy = line;
    this.child.kill("SIGKILL");
  }

  /** Asks the engine to exit, and kills it if it has not within a second. */
  async close(): Promise<void> {
    if (this.dead) return;
    this.cancelledBy ??= "The PyTorch engine was closed.";
    for (const part of frame({ op: "exit" })) this.child.stdin!.write(part);
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 1000);
    await this.exited;
    clearTimeout(timer);
  }
}
