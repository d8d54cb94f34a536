import type { ModelFormat } from "../../model.js";
import { looksLikeTorchZip } from "./detect.js";
import { PytorchReader, manifestOf } from "./reader.js";
import { readTorchCheckpoint } from "./checkpoint.js";
import { writePytorch } from "./writer.js";

/** PyTorch checkpoints: torch.save zip archives (.pt, .pth, .bin, .ckpt) and TorchScript archives, by their weights. */
export const pytorchFormat: ModelFormat = {
  id: "pytorch",
  label: "PyTorch (.pt, .pth, .bin, .ckpt)",
  shortLabel: "PyTorch",
  detect: looksLikeTorchZip,
  readManifest: async (path) => manifestOf(readTorchCheckpoint(path)),
  open: (path) => PytorchReader.open(path),
  write: writePytorch,
};

export { PytorchReader } from "./reader.js";
export { isTorchArchiveTarget } from "./writer.js";
export { isTorchScriptArchive } from "./detect.js";
export { PYTORCH_NAMES } from "./detect.js";
