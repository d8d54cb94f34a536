import { basename } from "node:path";
import { ModelFileError } from "../errors.js";
import { isZipHead } from "../io/zip.js";
import { isLegacyTorchSave, legacyRefusal } from "./pytorch/detect.js";

const PICKLE_NAMES = /\.(pt|pth|ckpt|pkl|pickle)$|^pytorch_model.*\.bin$/i;

function startsWith(head: Uint8Array, bytes: number[]): boolean {
  return bytes.every((b, i) => head[i] === b);
}

/**
 * A safetensors file starts with its header's length (u64, little-endian) and the header's "{": a header of 0x280
 * bytes starts 80 02, as a protocol-2 pickle does.
 */
function isSafetensorsHead(head: Uint8Array): boolean {
  return head.length > 8 && head[8] === 0x7b && head[4] === 0 && head[5] === 0 && head[6] === 0 && head[7] === 0;
}

/** A raw pickle stream starts with the PROTO opcode (0x80) and a protocol number 2..5. */
function isRawPickle(head: Uint8Array): boolean {
  return head[0] === 0x80 && head[1] !== undefined && head[1] >= 2 && head[1] <= 5 && !isSafetensorsHead(head);
}

/**
 * Refuses bare pickle files: unpickling them runs code, and only torch.save's zip archives (read by the PyTorch
 * format's restricted unpickler, which runs nothing) are read. A legacy torch.save file is told how to re-save.
 * Judged by content, and by name for the usual pickle file names that are neither zip nor HDF5.
 */
export function refusePickle(path: string, head: Uint8Array): void {
  if (isLegacyTorchSave(head)) throw legacyRefusal(path);
  if (
    isRawPickle(head) ||
    (PICKLE_NAMES.test(basename(path)) && !isZipHead(head) && !startsWith(head, [0x89, 0x48, 0x44, 0x46]))
  ) {
    throw new ModelFileError(
      path,
      `${isRawPickle(head) ? "is a bare pickle" : "is not a zip checkpoint"}: Model Soup reads PyTorch files only in ` +
        "torch.save's zip format (PyTorch >= 1.6), with an unpickler that runs nothing, and never unpickles other " +
        "files because unpickling can run code from them; re-save with torch.save(state_dict, path), or as safetensors " +
        "(safetensors.torch.save_file(model.state_dict(), 'model.safetensors')).",
    );
  }
}
