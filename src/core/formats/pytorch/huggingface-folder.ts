/**
 * A Hugging Face model folder: a `config.json` (with "model_type" or "architectures", as `save_pretrained` writes
 * it) beside the checkpoint (model.safetensors, a sharded model.safetensors.index.json, pytorch_model.bin). The
 * folder is one model whose architecture `transformers` builds from that config (worker/torch/engine.py); a soup
 * of such models is written as such a folder (the first ingredient's config.json copied beside the weights).
 * Only the JSON is read here: no path inside it is ever followed.
 */
import { readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";

export const HUGGING_FACE_CONFIG = "config.json";

/** A config.json larger than this is no model config (the real ones are a few kilobytes). */
const MAX_CONFIG_BYTES = 1024 * 1024;

export interface HuggingFaceConfig {
  /** The config.json (absolute when `folder` is). */
  readonly path: string;
  /** The model class its "architectures" names first (BertForSequenceClassification), or its "model_type". */
  readonly architecture: string;
}

/** The Hugging Face config.json in `folder`, when it holds one (never throws). */
export async function huggingFaceConfigIn(folder: string): Promise<HuggingFaceConfig | undefined> {
  const path = join(folder, HUGGING_FACE_CONFIG);
  const info = await stat(path).catch(() => undefined);
  if (!info || !info.isFile() || info.size > MAX_CONFIG_BYTES) return undefined;
  const text = await readFile(path, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (config === null || typeof config !== "object" || Array.isArray(config)) return undefined;
  const { model_type: type, architectures } = config as { model_type?: unknown; architectures?: unknown };
  const named = Array.isArray(architectures) && typeof architectures[0] === "string" ? architectures[0] : undefined;
  if (named === undefined && typeof type !== "string") return undefined;
  return { path, architecture: named ?? `${String(type)} (AutoModel)` };
}

/** The Hugging Face folder the checkpoint `model` is in (absolute), or undefined when it is in none. */
export async function huggingFaceFolderOf(model: string): Promise<string | undefined> {
  const folder = dirname(resolve(model));
  return (await huggingFaceConfigIn(folder)) !== undefined ? folder : undefined;
}
