/**
 * The output guard every command and every soup writer goes through before any work: an output never equals,
 * lies inside, or overlaps (by the shard names its writer will create) an input model's files, the data, a
 * recipe or a config being read; and it never replaces an existing file that is not what it would write.
 * Refusals name the output, the protected file and why.
 */
import { realpath, stat } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { ModelFileError } from "../errors.js";

/** A path no output may touch, and what it is ("the input model a/model.json", "the data file", ...). */
export interface ProtectedPath {
  path: string;
  role: string;
  /** Files created beside `path` with these names belong to it too (an output's shards). */
  siblings?: RegExp;
}

/** One file about to be written. */
export interface PlannedOutput {
  path: string;
  /** What it is, for messages: "the merged model", "the report", ... */
  what: string;
  /** Shard names the writer creates beside `path`. */
  siblings?: RegExp;
  /** Set when the output is a folder the user named: it must not hold a protected file. */
  folder?: string;
}

/** The real path, following links; for a path that does not exist yet, its nearest existing folder's real path. */
export async function canonicalPath(path: string): Promise<string> {
  const absolute = resolve(path);
  const real = await realpath(absolute).catch(() => undefined);
  if (real !== undefined) return real;
  const parent = dirname(absolute);
  return parent === absolute ? absolute : join(await canonicalPath(parent), basename(absolute));
}

function isInside(child: string, folder: string): boolean {
  const rel = relative(folder, child);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

/** Refuses, before anything is written, outputs that would touch a protected path. */
export async function guardOutputs(
  outputs: readonly PlannedOutput[],
  protectedPaths: readonly ProtectedPath[],
): Promise<void> {
  const guarded = await Promise.all(
    protectedPaths.map(async (p) => ({
      ...p,
      real: await canonicalPath(p.path),
      isFolder: await stat(p.path).then(
        (s) => s.isDirectory(),
        () => false,
      ),
    })),
  );
  for (const output of outputs) {
    const real = await canonicalPath(output.path);
    const refuse = (why: string): never => {
      throw new ModelFileError(output.path, `refused as ${output.what}: ${why} (inputs are never modified)`);
    };
    const info = await stat(real).catch(() => undefined);
    if (info && !info.isFile()) refuse("it exists and is not a regular file");
    for (const p of guarded) {
      if (real === p.real) refuse(p.isFolder ? `it is ${p.role}` : `it would overwrite ${p.role}`);
      if (p.isFolder && isInside(real, p.real)) refuse(`it is inside ${p.role}`);
      if (output.siblings && dirname(p.real) === dirname(real) && output.siblings.test(basename(p.real))) {
        refuse(`its shard files would overwrite ${p.role}`);
      }
      if (p.siblings && dirname(p.real) === dirname(real) && p.siblings.test(basename(real)))
        refuse(`it would overwrite a shard of ${p.role}`);
    }
    if (output.folder !== undefined) {
      const folder = await canonicalPath(output.folder);
      const held = guarded.find((p) => p.real === folder || isInside(p.real, folder));
      if (held) refuse(`the output folder ${output.folder} holds ${held.role}; choose a new or empty folder`);
    }
  }
}
