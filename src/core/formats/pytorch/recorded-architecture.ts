/**
 * The PyTorch architecture a `model-soup.json` beside checkpoints records once for all of them
 * (`{"architecture": "build.py:build"}`, its Python file relative to that folder). Read by the worker to build the
 * models and by the editor to know they can run.
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { torchArchitecture, withResolvedFile } from "../../../protocol/torch-architecture.js";
import { ModelFileError } from "../../errors.js";

/** The file beside PyTorch checkpoints that records their architecture once. */
export const MODEL_SOUP_JSON = "model-soup.json";

/** The architecture a `model-soup.json` in `folder` records (its Python file resolved against that folder), if any. */
export async function recordedArchitecture(folder: string): Promise<string | undefined> {
  const path = join(folder, MODEL_SOUP_JSON);
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw new ModelFileError(path, `cannot be read (${error.message})`);
  });
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ModelFileError(path, `is not JSON (${(error as Error).message}); expected {"architecture": "..."}`);
  }
  const spec = (parsed as { architecture?: unknown } | null)?.architecture;
  if (typeof spec !== "string")
    throw new ModelFileError(path, 'has no "architecture" string; expected {"architecture": "torchvision:resnet18"}');
  const architecture = torchArchitecture(spec);
  if (architecture === undefined)
    throw new ModelFileError(
      path,
      `"architecture": "${spec}" is not torchvision:<name>, <file.py>:<function>, <module>:<callable> or huggingface:<folder>`,
    );
  return withResolvedFile(architecture, (file) => resolve(folder, file)).spec;
}
