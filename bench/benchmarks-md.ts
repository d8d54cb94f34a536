/**
 * BENCHMARKS.md is written by the benchmarks: each owns the section between `<!-- name -->` and `<!-- /name -->`
 * and replaces it (or appends it when missing), leaving every other section as it is. The file is formatted
 * with the project's prettier settings as it is written, so `npm test`'s format check passes after any run.
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as prettier from "prettier";

const BENCHMARKS = join(dirname(fileURLToPath(import.meta.url)), "..", "BENCHMARKS.md");

export async function writeBenchmarkSection(name: string, body: string): Promise<void> {
  const open = `<!-- ${name} -->`;
  const close = `<!-- /${name} -->`;
  const block = `${open}\n${body}\n${close}`;
  const text = existsSync(BENCHMARKS) ? await readFile(BENCHMARKS, "utf8") : "# Benchmarks\n";
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  const updated =
    start >= 0 && end > start
      ? text.slice(0, start) + block + text.slice(end + close.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  const options = (await prettier.resolveConfig(BENCHMARKS)) ?? {};
  await writeFile(BENCHMARKS, await prettier.format(updated, { ...options, filepath: BENCHMARKS }));
}
