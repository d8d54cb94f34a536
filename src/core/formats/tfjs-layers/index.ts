import type { ModelFormat } from "../../model.js";
import { readTfjsModel } from "./manifest.js";
import { TfjsModelFile } from "./reader.js";
import { writeTfjsModel } from "./writer.js";

const MARKERS = ['"modelTopology"', '"weightsManifest"'];

/** A JSON object whose first bytes name a TF.js model.json key (any file name: model.json, mnist.json, ...). */
function looksLikeModelJson(head: Uint8Array): boolean {
  const text = new TextDecoder("utf-8", { fatal: false })
    .decode(head)
    .replace(/^\uFEFF/, "")
    .trimStart();
  return text.startsWith("{") && MARKERS.some((m) => text.includes(m));
}

export const tfjsLayersFormat: ModelFormat = {
  id: "tfjs-layers",
  label: "TF.js layers model",
  shortLabel: "TF.js",
  detect: (_path, head) => looksLikeModelJson(head),
  readManifest: async (path) => (await readTfjsModel(path)).manifest,
  open: (path) => TfjsModelFile.open(path),
  write: (template, target, source) => writeTfjsModel(template, target, source),
};
