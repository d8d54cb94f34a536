import { isAbsolute, normalize, sep } from "node:path";
import { ModelFileError } from "../../errors.js";
import type { DType } from "../../tensor.js";
import { parseBoundedJson } from "../limits.js";

type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** tfjs's weight dtypes that a layers model can hold, mapped to ours ("string" and "complex64" are refused). */
const TFJS_DTYPES: Record<string, DType> = { float32: "float32", int32: "int32", bool: "bool" };

/** Storage types of tfjs weight quantization (tfjs-core io_utils decodeWeight). */
const QUANTIZED_BYTES = { uint8: 1, uint16: 2, float16: 2 } as const;
export type QuantizedDType = keyof typeof QUANTIZED_BYTES;

export interface Quantization {
  dtype: QuantizedDType;
  scale?: number;
  min?: number;
}

/** One entry of a weights manifest group, as the file has it. */
export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: DType;
  /** tfjs `group: "optimizer"` marks optimizer state saved with includeOptimizer: dropped on write. */
  optimizer: boolean;
  quantization?: Quantization;
  /** Bytes the entry takes in its group's concatenated shards. */
  byteLength: number;
  /** The entry object exactly as model.json has it, for the writer. */
  raw: Json;
}

export interface WeightGroup {
  /** Shard paths as written in model.json (relative to its folder). */
  paths: string[];
  entries: WeightEntry[];
}

export interface ModelJson {
  /** The whole parsed model.json. */
  json: Json;
  modelTopology: Json;
  groups: WeightGroup[];
}

function bytesPerElement(dtype: DType, quantization: Quantization | undefined): number {
  if (quantization) return QUANTIZED_BYTES[quantization.dtype];
  return dtype === "bool" ? 1 : 4;
}

function parseQuantization(file: string, name: string, dtype: DType, q: unknown): Quantization | undefined {
  if (q === undefined || q === null) return undefined;
  if (!isObject(q) || typeof q.dtype !== "string" || !(q.dtype in QUANTIZED_BYTES)) {
    throw new ModelFileError(
      file,
      `weight "${name}" has a quantization with an unknown dtype ${JSON.stringify(isObject(q) ? q.dtype : q)}; ` +
        "expected uint8, uint16 or float16 (as the TF.js converter writes)",
    );
  }
  const qdtype = q.dtype as QuantizedDType;
  if (qdtype === "float16") {
    if (dtype !== "float32") {
      throw new ModelFileError(
        file,
        `weight "${name}" is quantized to float16 but its dtype is ${dtype}; expected float32`,
      );
    }
    return { dtype: qdtype };
  }
  if (
    typeof q.scale !== "number" ||
    typeof q.min !== "number" ||
    !Number.isFinite(q.scale) ||
    !Number.isFinite(q.min)
  ) {
    throw new ModelFileError(file, `weight "${name}" is quantized to ${qdtype} without a finite numeric scale and min`);
  }
  if (dtype === "bool")
    throw new ModelFileError(file, `weight "${name}" is a quantized bool; expected float32 or int32`);
  return { dtype: qdtype, scale: q.scale, min: q.min };
}

function parseShape(file: string, name: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new ModelFileError(
      file,
      `weight "${name}" has shape ${JSON.stringify(shape)}; expected a list of non-negative integers`,
    );
  }
  return shape as number[];
}

function parseEntry(file: string, raw: unknown, seen: Set<string>): WeightEntry {
  if (!isObject(raw) || typeof raw.name !== "string" || raw.name === "") {
    throw new ModelFileError(file, `has a weightsManifest entry without a name: ${JSON.stringify(raw)?.slice(0, 120)}`);
  }
  const name = raw.name;
  if (seen.has(name))
    throw new ModelFileError(file, `lists weight "${name}" twice in its weightsManifest; expected unique names`);
  seen.add(name);
  const shape = parseShape(file, name, raw.shape);
  const dtype = typeof raw.dtype === "string" ? TFJS_DTYPES[raw.dtype] : undefined;
  if (!dtype) {
    throw new ModelFileError(
      file,
      `weight "${name}" has dtype ${JSON.stringify(raw.dtype)}; expected float32, int32 or bool (a layers model's weight types)`,
    );
  }
  const quantization = parseQuantization(file, name, dtype, raw.quantization);
  let count = 1;
  for (const d of shape) count *= d;
  return {
    name,
    shape,
    dtype,
    optimizer: raw.group === "optimizer",
    quantization,
    byteLength: count * bytesPerElement(dtype, quantization),
    raw,
  };
}

/** Shard paths must stay inside the model's folder: a manifest never makes us read files elsewhere. */
function checkShardPath(file: string, path: unknown): string {
  if (typeof path !== "string" || path === "") {
    throw new ModelFileError(file, `has a weightsManifest shard path ${JSON.stringify(path)}; expected a file name`);
  }
  const normal = normalize(path);
  if (isAbsolute(path) || /^[a-z][a-z0-9+.-]*:/i.test(path) || normal === ".." || normal.startsWith(`..${sep}`)) {
    throw new ModelFileError(
      file,
      `has weight shard path "${path}"; expected a path relative to the model.json folder and inside it`,
    );
  }
  return path;
}

function parseGroups(file: string, manifest: unknown): WeightGroup[] {
  if (!Array.isArray(manifest)) {
    throw new ModelFileError(
      file,
      "has no weightsManifest list; expected a TF.js layers model.json with weightsManifest",
    );
  }
  const seen = new Set<string>();
  return manifest.map((group, g) => {
    if (!isObject(group) || !Array.isArray(group.paths) || group.paths.length === 0 || !Array.isArray(group.weights)) {
      throw new ModelFileError(
        file,
        `weightsManifest group ${g + 1} lacks "paths" or "weights"; expected {paths: [...], weights: [...]}`,
      );
    }
    return {
      paths: group.paths.map((p) => checkShardPath(file, p)),
      entries: group.weights.map((w) => parseEntry(file, w, seen)),
    };
  });
}

/** Parses and checks a model.json's text (no shard is touched). */
export function parseModelJson(file: string, text: string): ModelJson {
  let json: unknown;
  try {
    json = parseBoundedJson(file, "a JSON text", text);
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    throw new ModelFileError(file, `is not valid JSON (${(error as Error).message}); expected a TF.js model.json`);
  }
  if (!isObject(json)) throw new ModelFileError(file, "is not a JSON object; expected a TF.js model.json");
  const modelTopology = json.modelTopology;
  if (!isObject(modelTopology)) {
    throw new ModelFileError(file, "has no modelTopology object; expected a TF.js layers model.json");
  }
  if (json.format === "graph-model" || Array.isArray(modelTopology.node)) {
    throw new ModelFileError(
      file,
      "is a TF.js graph model (a frozen TensorFlow graph); Model Soup merges TF.js layers models, which keep the Keras layers",
    );
  }
  return { json, modelTopology, groups: parseGroups(file, json.weightsManifest) };
}
