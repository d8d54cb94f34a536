/**
 * Writes a merged PyTorch model: safetensors by default (the target ends in .safetensors), or, when the target
 * ends in .pt or .pth, the template's own kind of .pt: a TorchScript archive from a TorchScript template
 * (torchscript-writer.ts), else a state-dict zip that `torch.load(path, weights_only=True)` reads. Either way one
 * tensor at a time: each is asked of the source, encoded, written at its place and let go.
 */
import { open } from "node:fs/promises";
import { writeFilesAtomically } from "../../io/atomic.js";
import { UsageError } from "../../errors.js";
import type { TensorSource, WriteOptions } from "../../model.js";
import { BYTES_PER_ELEMENT, type TensorInfo, elementCount } from "../../tensor.js";
import { encodeTensorData } from "../safetensors/encode.js";
import { encodeHeader, layOut } from "../safetensors/header-json.js";
import { stateDictPickle, storageClassOf } from "./pickle-writer.js";
import { PytorchReader } from "./reader.js";
import { writeTorchScript } from "./torchscript-writer.js";
import { AlignedZipWriter, ZIP_LIMIT, ZIP_MAX_ENTRIES, writeAll } from "./zip-writer.js";

/** The bytes of one output tensor: the source's values, or the template's own when the source keeps them. */
type TensorBytes = (info: TensorInfo) => Promise<Uint8Array>;

const sizeOf = (info: TensorInfo) => elementCount(info.shape) * BYTES_PER_ELEMENT[info.dtype];

async function writeSafetensorsFile(
  temp: string,
  tensors: readonly TensorInfo[],
  bytesOf: TensorBytes,
  metadata: Record<string, string>,
): Promise<void> {
  const entries = layOut(
    tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, begin: 0, end: sizeOf(t) })),
  );
  const header = encodeHeader(entries, metadata);
  const handle = await open(temp, "wx");
  try {
    await writeAll(handle, header, 0);
    for (let i = 0; i < tensors.length; i++)
      await writeAll(handle, await bytesOf(tensors[i]!), header.length + entries[i]!.begin);
  } finally {
    await handle.close();
  }
}

const ARCHIVE = "archive";

async function writeStateDictZip(temp: string, target: string, tensors: readonly TensorInfo[], bytesOf: TensorBytes) {
  for (const t of tensors) {
    if (storageClassOf(t.dtype) === undefined)
      throw new UsageError(
        `${target}: tensor "${t.name}" is ${t.dtype}, which a PyTorch state dict cannot hold; write .safetensors`,
      );
  }
  const total = tensors.reduce((sum, t) => sum + sizeOf(t) + 256, 0);
  if (total >= ZIP_LIMIT || tensors.length + 3 > ZIP_MAX_ENTRIES)
    throw new UsageError(
      `${target}: the model is too large for the .pt writer (4 GiB, 65,535 tensors); write .safetensors`,
    );
  const handle = await open(temp, "wx");
  try {
    const zip = new AlignedZipWriter(handle);
    await zip.add(`${ARCHIVE}/data.pkl`, stateDictPickle(tensors));
    await zip.add(`${ARCHIVE}/byteorder`, new TextEncoder().encode("little"));
    for (let i = 0; i < tensors.length; i++) await zip.add(`${ARCHIVE}/data/${i}`, await bytesOf(tensors[i]!));
    await zip.add(`${ARCHIVE}/version`, new TextEncoder().encode("3\n"));
    await zip.finish();
  } finally {
    await handle.close();
  }
}

/** A target a .pt archive is written to (a TorchScript one from TorchScript templates, else a state dict). */
export function isTorchArchiveTarget(target: string): boolean {
  return /\.(pt|pth)$/i.test(target);
}

export async function writePytorch(
  template: string,
  target: string,
  source: TensorSource,
  options: WriteOptions = {},
): Promise<void> {
  const asArchive = isTorchArchiveTarget(target);
  if (!asArchive && !/\.safetensors$/i.test(target))
    throw new UsageError(
      `${target}: a merged PyTorch model is written as .safetensors (the default) or as a .pt / .pth archive`,
    );
  const reader = await PytorchReader.open(template);
  try {
    if (asArchive && reader.checkpoint.torchScript) {
      await writeTorchScript(reader, target, source);
      return;
    }
    const tensors = reader.manifest.tensors;
    const bytesOf: TensorBytes = async (info) => {
      const data = await source(info);
      return data === undefined ? reader.readBytes(info.name) : encodeTensorData(target, info, data);
    };
    await writeFilesAtomically([
      {
        path: target,
        write: (temp) =>
          asArchive
            ? writeStateDictZip(temp, target, tensors, bytesOf)
            : writeSafetensorsFile(temp, tensors, bytesOf, { format: "pt", ...options.metadata }),
      },
    ]);
  } finally {
    await reader.close();
  }
}
