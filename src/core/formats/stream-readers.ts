import { UsageError } from "../errors.js";
import { SafetensorsReader } from "./safetensors/index.js";
import { streamableReader } from "./pytorch/streamable.js";
import { detectFormat } from "./registry.js";

/**
 * The models the streaming merge reads in pieces: safetensors, and PyTorch checkpoints whose tensors lie as
 * plain runs of bytes (as torch.save stores them). Undefined for any other model.
 */
export async function openStreamReader(path: string): Promise<SafetensorsReader | undefined> {
  const format = (await detectFormat(path)).id;
  if (format === "safetensors") return SafetensorsReader.open(path);
  if (format === "pytorch") return streamableReader(path);
  return undefined;
}

/** The streamed reader of `path`, which the caller checked is streamable. */
export async function requireStreamReader(path: string): Promise<SafetensorsReader> {
  const reader = await openStreamReader(path);
  if (!reader) throw new UsageError(`${path} cannot be read in pieces by the streaming merge`);
  return reader;
}

/** True when every model can be streamed and the output is one safetensors file (or sharded, for safetensors inputs). */
export async function canStream(paths: readonly string[], target: string): Promise<boolean> {
  let allSafetensors = true;
  for (const p of paths) {
    const format = (await detectFormat(p)).id;
    if (format === "safetensors") continue;
    allSafetensors = false;
    if (format !== "pytorch") return false;
    const reader = streamableReader(p);
    if (!reader) return false;
    await reader.close();
  }
  return allSafetensors || /\.safetensors$/i.test(target);
}
