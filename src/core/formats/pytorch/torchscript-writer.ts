/**
 * A merged model written as the TorchScript archive it came from: every entry of the template (code/, data.pkl,
 * constants.pkl and constants/, version, .data/, ...) copied as it is, byte for byte (compressed entries stay
 * compressed), and only the storage records `<archive>/data/<key>` of the module tree's named tensors rewritten,
 * each tensor's bytes placed at its own storage offset and strides, in its own dtype. Storages are written
 * stored and every entry's data starts at a multiple of 64 bytes, as torch's PyTorchStreamWriter lays them out.
 *
 * Memory stays near one tensor: entries are copied in chunks, each tensor is asked of the source, placed and let go.
 * Refused, with one line naming the template: a storage that tensors outside the named attributes also hold, and a
 * storage shared by tensors whose new values disagree where they overlap (weights tied in the template but not in
 * every ingredient, say), since no single storage could hold both.
 */
import { type FileHandle, open } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { ModelFileError, UsageError } from "../../errors.js";
import { writeFilesAtomically } from "../../io/atomic.js";
import { type ZipEntry, ZipArchive } from "../../io/zip.js";
import type { TensorSource } from "../../model.js";
import { BYTES_PER_ELEMENT, elementCount } from "../../tensor.js";
import { encodeTensorData } from "../safetensors/encode.js";
import type { TorchTensor } from "./checkpoint.js";
import type { PytorchReader } from "./reader.js";
import { AlignedZipWriter, ZIP_LIMIT, ZIP_MAX_ENTRIES, writeAll } from "./zip-writer.js";

const CHUNK = 1 << 20;

async function readFully(handle: FileHandle, buffer: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await handle.read(buffer, done, buffer.length - done, position + done);
    if (bytesRead === 0) throw new ModelFileError(file, "is truncated: an entry lies past its end");
    done += bytesRead;
  }
}

/** Copies `length` bytes from `input` at `from` to `output` at `to`, a chunk at a time. */
async function copyRange(
  input: FileHandle,
  from: number,
  length: number,
  output: FileHandle,
  to: number,
  file: string,
): Promise<void> {
  const buffer = new Uint8Array(Math.min(CHUNK, length));
  for (let done = 0; done < length; done += buffer.length) {
    const piece = buffer.subarray(0, Math.min(buffer.length, length - done));
    await readFully(input, piece, from + done, file);
    await writeAll(output, piece, to + done);
  }
}

async function crcOfRange(handle: FileHandle, position: number, length: number, file: string): Promise<number> {
  const buffer = new Uint8Array(Math.min(CHUNK, length));
  let crc = 0;
  for (let done = 0; done < length; done += buffer.length) {
    const piece = buffer.subarray(0, Math.min(buffer.length, length - done));
    await readFully(handle, piece, position + done, file);
    crc = crc32(piece, crc);
  }
  return crc;
}

/** The storage offsets (in elements, from the view's first element) of a strided view's elements, in C order. */
function* viewPositions(tensor: TorchTensor): Generator<number> {
  const { shape, stride } = tensor.ref;
  const count = elementCount(shape);
  const index = new Array<number>(shape.length).fill(0);
  let at = 0;
  for (let k = 0; k < count; k++) {
    yield at;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) {
        at += stride[d]!;
        break;
      }
      at -= (shape[d]! - 1) * stride[d]!;
      index[d] = 0;
    }
  }
}

/** One storage record and the named tensors that view it, in the template's tensor order. */
interface StoragePlan {
  entry: ZipEntry;
  key: string;
  numel: number;
  width: number;
  tensors: TorchTensor[];
  /** Elements may be written by more than one tensor (or twice by one view): every write is checked. */
  checked: boolean;
}

function planStorages(reader: PytorchReader): Map<string, StoragePlan> {
  const { path, tensors, unnamedStorages } = reader.checkpoint;
  const plans = new Map<string, StoragePlan>();
  for (const tensor of tensors.values()) {
    const { storage } = tensor.ref;
    if (unnamedStorages.has(storage.key))
      throw new ModelFileError(
        path,
        `has storage "${storage.key}" of tensor "${tensor.info.name}" also held by a tensor outside the modules' attributes (in a list, dict or custom state); refused, since rewriting it would change that tensor too (write .safetensors)`,
      );
    let plan = plans.get(tensor.entry.name);
    if (!plan) {
      plan = {
        entry: tensor.entry,
        key: storage.key,
        numel: storage.numel,
        width: BYTES_PER_ELEMENT[storage.dtype],
        tensors: [],
        checked: false,
      };
      plans.set(tensor.entry.name, plan);
    } else {
      const first = plan.tensors[0]!;
      if (first.info.dtype !== storage.dtype || plan.numel !== storage.numel)
        throw new ModelFileError(
          path,
          `has storage "${storage.key}" read as ${first.info.dtype} by "${first.info.name}" and as ${storage.dtype} by "${tensor.info.name}"; refused`,
        );
      plan.checked = true;
    }
    plan.tensors.push(tensor);
    if (!tensor.contiguous) plan.checked = true;
  }
  return plans;
}

function refuseArchive(reader: PytorchReader, entries: readonly ZipEntry[], plans: Map<string, StoragePlan>): void {
  const path = reader.checkpoint.path;
  const names = new Set<string>();
  let total = 22;
  for (const entry of entries) {
    if (names.has(entry.name))
      throw new ModelFileError(path, `has two zip entries named "${entry.name}"; refused as a TorchScript template`);
    names.add(entry.name);
    const name = new TextEncoder().encode(entry.name).length;
    total += 30 + name + 4 + 63 + (plans.has(entry.name) ? entry.size : entry.compressedSize) + 46 + name;
  }
  if (total >= ZIP_LIMIT || entries.length > ZIP_MAX_ENTRIES)
    throw new UsageError(
      `${path}: the TorchScript writer writes archives below 4 GiB and 65,535 entries; write .safetensors`,
    );
}

/** Writes each named tensor of one storage into the output's copy of it (at `base`), checking shared elements. */
async function placeTensors(
  plan: StoragePlan,
  base: number,
  output: FileHandle,
  reader: PytorchReader,
  target: string,
  source: TensorSource,
  temp: string,
): Promise<void> {
  const { width } = plan;
  const written = plan.checked ? new Uint8Array(Math.ceil(plan.numel / 8)) : undefined;
  const done: TorchTensor[] = [];
  for (const tensor of plan.tensors) {
    const data = await source(tensor.info);
    // A tensor kept as it is needs no write, unless another tensor of its storage may overlap it.
    if (data === undefined && !written) continue;
    const bytes =
      data === undefined ? await reader.readBytes(tensor.info.name) : encodeTensorData(target, tensor.info, data);
    const { span } = tensor;
    if (!written) {
      await writeAll(output, bytes, base + span.start);
      done.push(tensor);
      continue;
    }
    const region = new Uint8Array(span.length);
    await readFully(output, region, base + span.start, temp);
    const first = tensor.ref.offset;
    let k = 0;
    for (const at of viewPositions(tensor)) {
      const element = first + at;
      const value = bytes.subarray(k * width, (k + 1) * width);
      const bit = 1 << (element & 7);
      if (written[element >>> 3]! & bit) {
        const old = region.subarray(at * width, (at + 1) * width);
        if (!old.every((b, i) => b === value[i])) {
          const other =
            done.find((t) => element >= t.ref.offset && (element - t.ref.offset) * width < t.span.length) ?? tensor;
          throw new ModelFileError(
            reader.checkpoint.path,
            other === tensor
              ? `has tensor "${tensor.info.name}" viewing some elements of storage "${plan.key}" twice, and the merged values there differ; refused`
              : `has tensors "${other.info.name}" and "${tensor.info.name}" sharing storage "${plan.key}", and their merged values differ where they overlap (tied in this model but not in every ingredient?); refused (write .safetensors)`,
          );
        }
      }
      written[element >>> 3]! |= bit;
      region.set(value, at * width);
      k++;
    }
    await writeAll(output, region, base + span.start);
    done.push(tensor);
  }
}

interface ArchiveJob {
  reader: PytorchReader;
  zip: ZipArchive;
  plans: Map<string, StoragePlan>;
  target: string;
  source: TensorSource;
}

/** The whole output archive at `temp`: the template's entries in order, storages with their tensors replaced. */
async function writeArchive(temp: string, { reader, zip, plans, target, source }: ArchiveJob): Promise<void> {
  const path = reader.checkpoint.path;
  const input = await open(path, "r");
  try {
    const output = await open(temp, "wx+");
    try {
      const archive = new AlignedZipWriter(output);
      for (const entry of zip.entries) {
        const times = { dosTime: entry.dosTime, dosDate: entry.dosDate };
        const plan = plans.get(entry.name);
        if (!plan) {
          const header = { name: entry.name, method: entry.method, crc: entry.crc32, ...times };
          await archive.addEntry({ ...header, compressedSize: entry.compressedSize, size: entry.size }, (at) =>
            copyRange(input, entry.dataOffset, entry.compressedSize, output, at, path),
          );
          continue;
        }
        const header = { name: entry.name, method: 0, compressedSize: entry.size, size: entry.size, ...times };
        await archive.addEntry(header, async (at) => {
          // A re-zipped (deflated) storage is inflated whole, within the inflation ceiling, as the reader does.
          if (entry.method === 0) await copyRange(input, entry.dataOffset, entry.size, output, at, path);
          else await writeAll(output, zip.read(entry), at);
          await placeTensors(plan, at, output, reader, target, source, temp);
          return crcOfRange(output, at, entry.size, temp);
        });
      }
      await archive.finish();
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}

/** Writes `reader`'s TorchScript archive to `target` with the source's tensors in place of its own. */
export async function writeTorchScript(reader: PytorchReader, target: string, source: TensorSource): Promise<void> {
  const plans = planStorages(reader);
  const zip = ZipArchive.open(reader.checkpoint.path, "TorchScript archive");
  try {
    refuseArchive(reader, zip.entries, plans);
    await writeFilesAtomically([
      { path: target, write: (temp) => writeArchive(temp, { reader, zip, plans, target, source }) },
    ]);
  } finally {
    zip.close();
  }
}
