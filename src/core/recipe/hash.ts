import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** One hash over every file of a model (manifest and shards, in order), so a changed shard is noticed. */
export async function sha256Files(paths: readonly string[]): Promise<string> {
  if (paths.length === 1) return sha256File(paths[0]!);
  const hash = createHash("sha256");
  for (const p of paths) hash.update(`${await sha256File(p)}\n`);
  return hash.digest("hex");
}
