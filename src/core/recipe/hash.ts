/**
 * SHA-256 of model files for recipes. A recipe's hash must describe the bytes, so nothing is cached between
 * runs (docs/performance.md says why). Hashing runs on worker threads: `FileHashes` takes the bytes a
 * streaming merge reads anyway (`observe`), in file order, so each input byte is read once and hashed on the
 * other core while the merge combines on this one; whatever the merge did not read in order (headers, tensors
 * copied by the writer, another layout) the thread reads itself.
 */
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { Worker } from "node:worker_threads";

const READ_BYTES = 8 * 1024 * 1024;

/** SHA-256 of a file, read sequentially in large pieces on this thread. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const handle = await open(path, "r");
  try {
    const buffer = new Uint8Array(READ_BYTES);
    for (let position = 0; ;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return hash.digest("hex");
}

/** One hash over every file of a model (manifest and shards, in order), so a changed shard is noticed. */
export function combineFileHashes(hashes: readonly string[]): string {
  if (hashes.length === 1) return hashes[0]!;
  const hash = createHash("sha256");
  for (const h of hashes) hash.update(`${h}\n`);
  return hash.digest("hex");
}

export async function sha256Files(paths: readonly string[]): Promise<string> {
  const hashes: string[] = [];
  for (const p of paths) hashes.push(await sha256File(p));
  return combineFileHashes(hashes);
}

/**
 * The hashing thread. Plain JavaScript run with `eval`, so it works the same from a bundle, tsx and mocha.
 * Per file it keeps the hash and `next`, the first byte not hashed yet: a piece that starts later first gets
 * the gap read from the file; bytes before `next` were hashed already and are skipped. A digest request reads
 * from `next` to the end of the file. Messages are handled in order, so a digest sees every piece sent before.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const READ = ${READ_BYTES};
let scratch;
let selfRead = 0;
const files = new Map();
function state(file) {
  let s = files.get(file);
  if (!s) { s = { hash: createHash("sha256"), next: 0, fd: undefined }; files.set(file, s); }
  return s;
}
function readUpTo(s, file, end) {
  if (s.fd === undefined) s.fd = fs.openSync(file, "r");
  if (!scratch) scratch = Buffer.allocUnsafe(READ);
  while (s.next < end) {
    const n = fs.readSync(s.fd, scratch, 0, Math.min(READ, end - s.next), s.next);
    if (n === 0) return;
    s.hash.update(scratch.subarray(0, n));
    s.next += n;
    selfRead += n;
  }
}
parentPort.on("message", (m) => {
  try {
    const s = state(m.file);
    if (m.type === "piece") {
      if (m.position > s.next) readUpTo(s, m.file, m.position);
      const end = m.position + m.length;
      if (s.next >= m.position && end > s.next) {
        s.hash.update(new Uint8Array(m.buffer, m.byteOffset + (s.next - m.position), end - s.next));
        s.next = end;
      }
      parentPort.postMessage({ id: m.id });
    } else {
      readUpTo(s, m.file, Infinity);
      if (s.fd !== undefined) fs.closeSync(s.fd);
      files.delete(m.file);
      parentPort.postMessage({ id: m.id, hex: s.hash.digest("hex"), selfRead });
    }
  } catch (error) {
    parentPort.postMessage({ id: m.id, error: String(error && error.message || error) });
  }
});
`;

interface Reply {
  id: number;
  hex?: string;
  selfRead?: number;
  error?: string;
}

/**
 * Hashing threads at most: files go to them in turn, so N inputs are hashed up to N at a time. SHA-256 of one
 * file is sequential, and on a 2-core machine one thread hashing 1 GB (~0.6 s) outlasts the merge itself.
 */
const MAX_THREADS = 4;

/**
 * SHA-256 of files on worker threads, fed by the reads a merge makes. `observe` must get a file's bytes in
 * the order they were read; it resolves once the thread is done with them (the buffer may then be reused).
 * `digest` resolves with the file's hash (everything not observed is read by the thread); ask for it after the
 * last `observe` of that file, or early to hash the whole file alongside other work.
 */
export class FileHashes {
  private readonly workers: Worker[] = [];
  private readonly threadOf = new Map<string, Worker>();
  private readonly selfRead = new Map<Worker, number>();
  private readonly threads = Math.max(1, Math.min(MAX_THREADS, availableParallelism()));
  private readonly waiting = new Map<number, { resolve: (hex: string) => void; reject: (e: Error) => void }>();
  private readonly digests = new Map<string, Promise<string>>();
  private nextId = 0;
  private failure: Error | undefined;
  /** Bytes the thread had to read from the files itself (not given by `observe`), as of the last digest. */
  bytesReadByThread = 0;

  /** The thread that hashes `file`: each file stays on one thread, so its bytes are hashed in order. */
  private thread(file: string): Worker {
    let worker = this.threadOf.get(file);
    if (worker) return worker;
    worker = this.workers[this.threadOf.size % this.threads];
    if (!worker) {
      const started = new Worker(WORKER_SOURCE, { eval: true });
      started.on("message", (reply: Reply) => {
        const waiter = this.waiting.get(reply.id);
        this.waiting.delete(reply.id);
        if (reply.selfRead !== undefined) {
          this.selfRead.set(started, reply.selfRead);
          this.bytesReadByThread = [...this.selfRead.values()].reduce((a, b) => a + b, 0);
        }
        if (reply.error !== undefined) waiter?.reject(new Error(reply.error));
        else waiter?.resolve(reply.hex ?? "");
      });
      started.on("error", (error) => this.fail(error));
      started.on("exit", () => this.fail(new Error("the hashing thread stopped")));
      this.workers.push(started);
      worker = started;
    }
    this.threadOf.set(file, worker);
    return worker;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }

  private send(message: { file: string } & Record<string, unknown>): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const worker = this.thread(message.file);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ ...message, id });
    });
  }

  /**
   * Bytes of `file` read from `position`. Shared memory is hashed where it lies; other memory is copied.
   * Once a digest of the file was asked for, later bytes are ignored.
   */
  observe(path: string, position: number, bytes: Uint8Array): Promise<void> {
    const file = resolve(path);
    if (this.digests.has(file)) return Promise.resolve();
    const shared = bytes.buffer instanceof SharedArrayBuffer;
    const view = shared ? bytes : bytes.slice();
    return this.send({
      type: "piece",
      file,
      position,
      buffer: view.buffer,
      byteOffset: view.byteOffset,
      length: view.length,
    }).then(() => undefined);
  }

  digest(path: string): Promise<string> {
    const file = resolve(path);
    let digest = this.digests.get(file);
    if (!digest) {
      digest = this.send({ type: "digest", file });
      this.digests.set(file, digest);
    }
    return digest;
  }

  /** One hash over a model's files, as sha256Files gives. */
  async digestFiles(files: readonly string[]): Promise<string> {
    return combineFileHashes(await Promise.all(files.map((f) => this.digest(f))));
  }

  async close(): Promise<void> {
    for (const worker of this.workers) worker.removeAllListeners("exit");
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
