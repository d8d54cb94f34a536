import type { ModelFormat } from "../../model.js";
import { looksLikeSafetensorsFile, looksLikeShardIndex } from "./detect.js";
import { SafetensorsReader, manifestOf } from "./reader.js";
import { readSafetensorsSet } from "./tensor-set.js";
import { writeSafetensors } from "./writer.js";

export const safetensorsFormat: ModelFormat = {
  id: "safetensors",
  label: "safetensors",
  shortLabel: "safetensors",
  detect: (path, head) => looksLikeSafetensorsFile(head) || looksLikeShardIndex(path, head),
  readManifest: async (path) => manifestOf(await readSafetensorsSet(path)),
  open: (path) => SafetensorsReader.open(path),
  write: writeSafetensors,
};

export { SafetensorsReader } from "./reader.js";
export { writeFromTemplate, type PieceSink, type StreamedTensor, type StreamingTensorSource } from "./writer.js";
export { readSafetensorsSet, totalDataBytes, type SafetensorsSet, type TensorLocation } from "./tensor-set.js";
export { compareNatural } from "./natural-order.js";
