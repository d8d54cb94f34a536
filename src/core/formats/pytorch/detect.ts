import { ModelFileError } from "../../errors.js";
import { ZipArchive, firstEntryName, isZipHead } from "../../io/zip.js";

/** The file names PyTorch checkpoints usually have. */
export const PYTORCH_NAMES = /\.(pt|pth|ckpt)$|(^|[\\/])pytorch_model[^\\/]*\.bin$/i;

/** torch.save and torch.jit.save archives keep everything under one folder: NAME/data.pkl, NAME/data/0, …. */
const TORCH_ENTRY = /^[^/]+\/(data\.pkl|data\/|version$|byteorder$|\.data\/|code\/|constants\.pkl)/;

/** A zip written by torch.save or torch.jit.save, judged by its first entry's name (or the file's name). */
export function looksLikeTorchZip(path: string, head: Uint8Array): boolean {
  if (!isZipHead(head)) return false;
  return TORCH_ENTRY.test(firstEntryName(head)) || PYTORCH_NAMES.test(path);
}

/** Legacy torch.save (before 1.6, or _use_new_zipfile_serialization=False) starts with this pickled magic number. */
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

export function isLegacyTorchSave(head: Uint8Array): boolean {
  return LEGACY_MAGIC.every((b, i) => head[i] === b);
}

export function legacyRefusal(path: string): ModelFileError {
  return new ModelFileError(
    path,
    "is a legacy (non-zip) PyTorch checkpoint, which Model Soup does not read; re-save it with PyTorch >= 1.6 " +
      "(torch.save(state_dict, path) writes the zip format by default) or as safetensors " +
      "(safetensors.torch.save_file(state_dict, 'model.safetensors'))",
  );
}

/**
 * A torch.jit.save archive (NAME/code/… beside NAME/data.pkl), judged from the zip's directory alone; false for a
 * torch.save zip. Throws as the zip reader does for a file that is no zip.
 */
export function isTorchScriptArchive(path: string): boolean {
  const zip = ZipArchive.open(path, "PyTorch zip checkpoint");
  try {
    const pickle = zip.entries.find((e) => /^[^/]+\/data\.pkl$/.test(e.name));
    if (!pickle) return false;
    const code = `${pickle.name.slice(0, pickle.name.indexOf("/"))}/code/`;
    return zip.entries.some((e) => e.name.startsWith(code));
  } finally {
    zip.close();
  }
}
