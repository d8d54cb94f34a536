/**
 * A torch.save zip archive (or a TorchScript archive) read as a state dict: `<name>/data.pkl` unpickled with the
 * restricted unpickler, every tensor located in its `<name>/data/<key>` entry and bounded by that entry's size.
 * Only the pickle is read here; the tensors' bytes are read on demand (reader.ts).
 */
import { ModelFileError } from "../../errors.js";
import { type ZipEntry, ZipArchive } from "../../io/zip.js";
import { BYTES_PER_ELEMENT, type TensorInfo, elementCount } from "../../tensor.js";
import { LIMITS } from "../limits.js";
import { layerOf } from "../safetensors/tensor-set.js";
import { PickleDict, PickleSet, PickleTuple, type PickleValue, ScriptObject, TensorRef } from "./pickle-values.js";
import { PickleRefused, unpickle } from "./unpickler.js";

/** Where the weights sit in a training checkpoint, in the order they are looked for. */
export const STATE_DICT_KEYS = ["state_dict", "model_state_dict", "model", "module"] as const;

/** The prefix DataParallel and DistributedDataParallel put on every name; removed when every name has it. */
const WRAPPER_PREFIX = "module.";

export interface TorchTensor {
  info: TensorInfo;
  ref: TensorRef;
  entry: ZipEntry;
  /** The tensor's values lie in one run of the storage, in C order. */
  contiguous: boolean;
  /** Bytes of the storage from the first to the last element the tensor views. */
  span: { start: number; length: number };
}

export interface TorchCheckpoint {
  path: string;
  /** The archive's folder name ("archive", or the file's stem as torch.save names it). */
  prefix: string;
  torchScript: boolean;
  tensors: Map<string, TorchTensor>;
  metadata: Record<string, unknown>;
  warnings: string[];
  /**
   * TorchScript: the storages that tensors of the module tree hold outside the named attributes (in lists, dicts or
   * custom states), which a writer that replaces named tensors in place must not touch.
   */
  unnamedStorages: Set<string>;
}

const EXPECTED = "expected a torch.save zip archive (NAME/data.pkl with NAME/data/…)";

function pickleEntry(path: string, entries: readonly ZipEntry[]): { entry: ZipEntry; prefix: string } {
  const entry = entries.find((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (!entry) throw new ModelFileError(path, `has no data.pkl; ${EXPECTED}`);
  return { entry, prefix: entry.name.slice(0, entry.name.indexOf("/")) };
}

function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = step;
    step *= shape[i]!;
  }
  return strides;
}

/** Checks a tensor's view against its storage entry and finds the byte range it covers. */
function locate(path: string, name: string, ref: TensorRef, entry: ZipEntry): TorchTensor {
  const { storage, offset, shape, stride } = ref;
  const width = BYTES_PER_ELEMENT[storage.dtype];
  const bad = (what: string) => new ModelFileError(path, `has tensor "${name}" ${what}; refused`);
  if (storage.numel * width > entry.size)
    throw new ModelFileError(
      path,
      `has storage "${storage.key}" declaring ${storage.numel} ${storage.dtype} elements, but its entry holds ${entry.size} bytes; refused`,
    );
  if (offset < 0) throw bad(`with a negative storage offset (${offset})`);
  if (shape.some((d) => d < 0)) throw bad(`with a negative size [${shape.join(", ")}]`);
  if (stride.some((s) => s < 0)) throw bad(`with a negative stride [${stride.join(", ")}]`);
  const count = elementCount(shape);
  let last = offset;
  for (let i = 0; i < shape.length && count > 0; i++) last += (shape[i]! - 1) * stride[i]!;
  if (!Number.isSafeInteger(count) || !Number.isSafeInteger(last) || (count > 0 && last >= storage.numel)) {
    throw bad(
      `of size [${shape.join(", ")}] (stride [${stride.join(", ")}], offset ${offset}) reaching past its storage of ${storage.numel} elements`,
    );
  }
  if (count > storage.numel)
    throw bad(
      `viewing ${count} elements of a ${storage.numel}-element storage (an expanded view; save it .contiguous())`,
    );
  const expected = contiguousStrides(shape);
  const contiguous = shape.every((d, i) => d === 1 || stride[i] === expected[i]);
  const span = count === 0 ? { start: 0, length: 0 } : { start: offset * width, length: (last - offset + 1) * width };
  const info: TensorInfo = { name, shape: [...shape], dtype: storage.dtype, layer: layerOf(name) };
  return { info, ref, entry, contiguous, span };
}

/** The attributes of a TorchScript module tree that are tensors, named by their module path. */
function scriptTensors(path: string, root: ScriptObject): Array<[string, TensorRef]> {
  const found: Array<[string, TensorRef]> = [];
  const seen = new Set<ScriptObject>();
  const todo: Array<{ object: ScriptObject; prefix: string; depth: number }> = [{ object: root, prefix: "", depth: 0 }];
  while (todo.length > 0) {
    const { object, prefix, depth } = todo.pop()!;
    if (seen.has(object)) continue;
    seen.add(object);
    if (depth > LIMITS.torchScriptDepth)
      throw new ModelFileError(
        path,
        `has TorchScript modules nested more than ${LIMITS.torchScriptDepth} deep; refused`,
      );
    if (!(object.state instanceof PickleDict)) continue;
    const children: typeof todo = [];
    for (const [key, value] of object.state.entries) {
      if (typeof key !== "string") continue;
      if (value instanceof TensorRef) found.push([`${prefix}${key}`, value]);
      else if (value instanceof ScriptObject)
        children.push({ object: value, prefix: `${prefix}${key}.`, depth: depth + 1 });
    }
    // Depth first, children in attribute order (state_dict's order).
    todo.push(...children.reverse());
  }
  return found;
}

/** Storage keys of every tensor anywhere in `root` that is not one of `named` (each object visited once). */
function storagesOutside(root: PickleValue, named: ReadonlySet<TensorRef>): Set<string> {
  const keys = new Set<string>();
  const seen = new Set<object>();
  const todo: PickleValue[] = [root];
  while (todo.length > 0) {
    const value = todo.pop()!;
    if (value === null || typeof value !== "object" || value instanceof Uint8Array || seen.has(value)) continue;
    seen.add(value);
    if (value instanceof TensorRef) {
      if (!named.has(value)) keys.add(value.storage.key);
    } else if (Array.isArray(value)) todo.push(...value);
    else if (value instanceof PickleTuple || value instanceof PickleSet) todo.push(...value.items);
    else if (value instanceof PickleDict) for (const [k, v] of value.entries) todo.push(k, v);
    else if (value instanceof ScriptObject) todo.push(value.state);
  }
  return keys;
}

function holdsTensors(value: PickleValue | undefined): value is PickleDict {
  return value instanceof PickleDict && value.entries.some(([, v]) => v instanceof TensorRef);
}

/** The state dict of a torch.save'd object: the object itself, or one of STATE_DICT_KEYS of a training checkpoint. */
function stateDictOf(
  path: string,
  root: PickleValue,
  metadata: Record<string, unknown>,
  warnings: string[],
): Array<[string, TensorRef]> {
  if (!(root instanceof PickleDict)) {
    const what =
      root instanceof TensorRef
        ? "a single tensor"
        : Array.isArray(root)
          ? "a list"
          : root instanceof PickleTuple
            ? "a tuple"
            : `a ${root === null ? "None" : typeof root}`;
    throw new ModelFileError(path, `holds ${what}; expected a state dict (names to tensors) saved with torch.save`);
  }
  let chosen: PickleDict | undefined;
  for (const key of STATE_DICT_KEYS) {
    const value: PickleValue | undefined = root.get(key);
    if (holdsTensors(value) && value !== root) {
      chosen = value;
      metadata.state_dict_key = key;
      break;
    }
  }
  for (const [key, value] of root.entries) {
    if (
      typeof key === "string" &&
      (typeof value === "number" || typeof value === "string" || typeof value === "boolean")
    )
      metadata[key] = value;
  }
  if (!chosen && holdsTensors(root)) chosen = root;
  if (!chosen) {
    throw new ModelFileError(
      path,
      `holds no tensors; expected a state dict, or a dict holding one under ${STATE_DICT_KEYS.map((k) => `"${k}"`).join(", ")}`,
    );
  }
  const tensors: Array<[string, TensorRef]> = [];
  const skipped: string[] = [];
  for (const [key, value] of chosen.entries) {
    if (typeof key === "string" && value instanceof TensorRef) tensors.push([key, value]);
    else skipped.push(typeof key === "string" ? key : "(a key that is not a string)");
  }
  if (skipped.length > 0)
    warnings.push(
      `${skipped.length} entr${skipped.length === 1 ? "y is" : "ies are"} not tensors and left out (e.g. "${skipped[0]}")`,
    );
  if (tensors.length > 0 && tensors.every(([k]) => k.startsWith(WRAPPER_PREFIX))) {
    warnings.push(
      `every name starts with "${WRAPPER_PREFIX}" (DataParallel / DistributedDataParallel); the prefix is removed`,
    );
    metadata.removed_prefix = WRAPPER_PREFIX;
    return tensors.map(([k, v]) => [k.slice(WRAPPER_PREFIX.length), v]);
  }
  return tensors;
}

/** Reads and checks the archive's pickle; never reads tensor data. */
export function readTorchCheckpoint(path: string): TorchCheckpoint {
  const zip = ZipArchive.open(path, "PyTorch zip checkpoint");
  try {
    const { entry, prefix } = pickleEntry(path, zip.entries);
    const byName = new Map(zip.entries.map((e) => [e.name, e]));
    const byteorder = byName.get(`${prefix}/byteorder`);
    if (byteorder && new TextDecoder().decode(zip.read(byteorder)).trim() === "big")
      throw new ModelFileError(path, "was saved on a big-endian machine; expected little-endian storages");
    if (entry.size > LIMITS.pickleBytes)
      throw new ModelFileError(
        path,
        `has a data.pkl of ${entry.size} bytes, more than the ${LIMITS.pickleBytes} Model Soup reads`,
      );
    const torchScript = zip.entries.some((e) => e.name.startsWith(`${prefix}/code/`));
    let root: PickleValue;
    try {
      root = unpickle(zip.read(entry), { torchScript });
    } catch (error) {
      if (error instanceof PickleRefused) throw new ModelFileError(path, `data.pkl ${error.message}`);
      throw error;
    }
    const metadata: Record<string, unknown> = {};
    const warnings: string[] = [];
    let named: Array<[string, TensorRef]>;
    let unnamedStorages = new Set<string>();
    if (torchScript && root instanceof ScriptObject) {
      metadata.torchscript = true;
      named = scriptTensors(path, root);
      if (named.length === 0) throw new ModelFileError(path, "is a TorchScript archive whose modules hold no tensors");
      unnamedStorages = storagesOutside(root, new Set(named.map(([, ref]) => ref)));
    } else {
      named = stateDictOf(path, root, metadata, warnings);
    }
    const tensors = new Map<string, TorchTensor>();
    for (const [name, ref] of named) {
      const storageEntry = byName.get(`${prefix}/data/${ref.storage.key}`);
      if (!storageEntry)
        throw new ModelFileError(
          path,
          `has tensor "${name}" in storage "${ref.storage.key}", but no entry ${prefix}/data/${ref.storage.key}`,
        );
      if (tensors.has(name)) throw new ModelFileError(path, `has two tensors named "${name}"`);
      tensors.set(name, locate(path, name, ref, storageEntry));
    }
    const version = byName.get(`${prefix}/version`) ?? byName.get(`${prefix}/.data/version`);
    if (version && version.size < 64) metadata.archive_version = new TextDecoder().decode(zip.read(version)).trim();
    return { path, prefix, torchScript, tensors, metadata, warnings, unnamedStorages };
  } finally {
    zip.close();
  }
}
