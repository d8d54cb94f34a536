import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileHashes, sha256File, sha256Files } from "../../../src/core/recipe/hash.js";
import { streamLinearMerge } from "../../../src/core/merge/streaming/index.js";

const SINGLE = "test/fixtures/real-models/safetensors-jl-fixtures/non_sharded/model.safetensors";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("recipe hashes", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-hash-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("hashes a file read in pieces out of order, in shared or plain memory, as the whole file's SHA-256", async () => {
    const path = join(dir, "data.bin");
    const content = Uint8Array.from({ length: 3 * 1024 * 1024 + 17 }, (_, i) => (i * 2654435761) >>> 24);
    await writeFile(path, content);
    assert.equal(await sha256File(path), sha256(content));
    const hashes = new FileHashes();
    try {
      const shared = new Uint8Array(new SharedArrayBuffer(1 << 20));
      shared.set(content.subarray(4096, 4096 + shared.length));
      await hashes.observe(path, 4096, shared); // starts after a gap: the thread reads the gap
      await hashes.observe(path, 100, content.slice(100, 900)); // behind: ignored
      await hashes.observe(
        path,
        4096 + shared.length - 10,
        content.slice(4096 + shared.length - 10, 4096 + shared.length + 500),
      ); // overlaps
      assert.equal(await hashes.digest(path), sha256(content));
      assert.equal(hashes.bytesReadByThread, content.length - (shared.length + 500));
      // A model of several files gets one hash over the files' hashes, as sha256Files.
      const other = join(dir, "other.bin");
      await writeFile(other, content.subarray(0, 1000));
      assert.equal(await hashes.digestFiles([path, other]), await sha256Files([path, other]));
      assert.notEqual(await sha256Files([path, other]), await sha256Files([other, path]));
    } finally {
      await hashes.close();
    }
  });

  it("gets every byte a streamed merge combines from the merge itself, in order, and reads only the rest", async () => {
    await mkdir(join(dir, "out"));
    const hashes = new FileHashes();
    const observed: Array<[string, number, number]> = [];
    try {
      await streamLinearMerge({
        inputs: [SINGLE, SINGLE],
        weights: [0.5, 0.5],
        target: join(dir, "out", "soup.safetensors"),
        pieceElements: 5,
        onRead: (file, position, bytes) => {
          observed.push([file, position, bytes.length]);
          return hashes.observe(file, position, bytes);
        },
      });
      assert.equal(await hashes.digest(SINGLE), sha256(await readFile(SINGLE)));
      const seen = observed.filter(([f]) => f === SINGLE);
      assert.ok(seen.length > 20);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]![1] >= seen[i - 1]![1], "reported in file order");
      const mergedBytes = seen.reduce((n, [, , length]) => n + length, 0) / 2;
      assert.equal(
        hashes.bytesReadByThread,
        (await stat(SINGLE)).size - mergedBytes,
        "the thread reads only what the merge did not",
      );
    } finally {
      await hashes.close();
    }
  });

  it("hashes several files at once on its threads, each file's pieces in order, as each file's SHA-256", async () => {
    const files = await Promise.all(
      [0, 1, 2, 3, 4].map(async (k) => {
        const path = join(dir, `input-${k}.bin`);
        const content = Uint8Array.from({ length: 700_000 + k * 1013 }, (_, i) => ((i + k) * 2654435761) >>> 24);
        await writeFile(path, content);
        return { path, content };
      }),
    );
    const hashes = new FileHashes();
    try {
      // Interleaved as a merge reads them: piece j of every file, then piece j + 1.
      const piece = 65536;
      const pending: Promise<void>[] = [];
      for (let at = 0; at < 400_000; at += piece)
        for (const { path, content } of files) {
          const shared = new Uint8Array(new SharedArrayBuffer(piece));
          shared.set(content.subarray(at, at + piece));
          pending.push(hashes.observe(path, at, shared));
        }
      await Promise.all(pending);
      const digests = await Promise.all(files.map(({ path }) => hashes.digest(path)));
      assert.deepEqual(
        digests,
        files.map(({ content }) => sha256(content)),
      );
    } finally {
      await hashes.close();
    }
  });

  it("fails a digest of a missing file with the file's error", async () => {
    const hashes = new FileHashes();
    try {
      await assert.rejects(hashes.digest(join(dir, "missing.bin")), /ENOENT/);
    } finally {
      await hashes.close();
    }
  });
});
