import { basename } from "node:path";
import { ModelFileError } from "../errors.js";
import { isZipHead } from "../io/zip.js";

const PICKLE_NAMES = /\.(pt|pth|ckpt|pkl|pickle)$|^pytorch_model.*\.bin$/i;

function startsWith(head: Uint8Array, bytes: number[]): boolean {
  return bytes.every((b, i) => head[i] === b);
}

/** PyTorch's zip checkpoints hold a `.../data.pkl` entry; its name shows in the first local header. */
function isTorchZip(head: Uint8Array): boolean {
  if (!isZipHead(head)) return false;
  const text = new TextDecoder("latin1").decode(head.subarray(0, Math.min(head.length, 512)));
  return /data\.pkl|\/version|\.data\//.test(text);
}

/** A raw pickle stream starts with the PROTO opcode (0x80) and a protocol number 2..5. */
function isRawPickle(head: Uint8Array): boolean {
  return head[0] === 0x80 && head[1] !== undefined && head[1] >= 2 && head[1] <= 5;
}

/**
 * Refuses PyTorch pickle checkpoints: unpickling runs code from the file, so Model Soup never does it.
 * Judged by content, and by name for the usual PyTorch file names.
 */
export function refusePickle(path: string, head: Uint8Array): void {
  if (
    isRawPickle(head) ||
    isTorchZip(head) ||
    (PICKLE_NAMES.test(basename(path)) && !startsWith(head, [0x89, 0x48, 0x44, 0x46]))
  ) {
    throw new ModelFileError(
      path,
      "is a PyTorch pickle checkpoint; Model Soup never unpickles files because unpickling can run code from them. " +
        "Save the weights as safetensors instead (safetensors.torch.save_file(model.state_dict(), 'model.safetensors')).",
    );
  }
}
