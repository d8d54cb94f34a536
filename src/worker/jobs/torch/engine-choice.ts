/**
 * Which engine runs a job's models, decided in one place: PyTorch models (TorchScript files, or state dicts and
 * safetensors with a PyTorch architecture from `--architecture`, a `model-soup.json` beside the checkpoints, or the
 * `config.json` of the Hugging Face folder they are in) run
 * on the user's PyTorch (worker/torch); everything else on TensorFlow.js, as before.
 */
import { dirname, resolve } from "node:path";
import { ModelFileError } from "../../../core/errors.js";
import { MODEL_SOUP_JSON, recordedArchitecture } from "../../../core/formats/pytorch/recorded-architecture.js";
import { huggingFaceFolderOf } from "../../../core/formats/pytorch/huggingface-folder.js";
import { readManifest } from "../../../core/formats/registry.js";
import { torchArchitectureWayOut } from "../../../protocol/capability.js";
import { huggingFaceSpec, torchArchitecture, withResolvedFile } from "../../../protocol/torch-architecture.js";
import type { TorchModelSource } from "../../torch/torch-engine.js";

export { MODEL_SOUP_JSON };

export interface TorchModel {
  readonly source: TorchModelSource;
  /** The PyTorch architecture (resolved), when the model is built from one rather than run as TorchScript. */
  readonly architecture?: string;
  /** Where the architecture came from, for the report. */
  readonly from: "--architecture" | "model-soup.json" | "config.json" | "TorchScript";
}

/**
 * The PyTorch model of a job, or undefined when TensorFlow.js runs it (Keras, TF.js, or a Keras architecture
 * file). A PyTorch state dict with no architecture anywhere is refused in one line saying what to give.
 */
export async function torchModelFor(models: readonly string[], architecture?: string): Promise<TorchModel | undefined> {
  const given = architecture === undefined ? undefined : torchArchitecture(architecture);
  const first = models[0];
  if (first === undefined) return undefined;
  if (architecture !== undefined && given === undefined) {
    // A Keras/TF.js architecture file: TensorFlow.js builds the models from it, which it cannot for PyTorch files.
    const manifest = await readManifest(first);
    if (manifest.format !== "pytorch") return undefined;
    const what = manifest.metadata.torchscript === true ? "TorchScript" : "pytorch state dict";
    throw new ModelFileError(
      first,
      `(${what}): --architecture ${architecture} is not a PyTorch architecture; ` +
        (what === "TorchScript"
          ? "a TorchScript file runs as it is (leave --architecture out)"
          : torchArchitectureWayOut("cli").replace(/^needs its PyTorch architecture: /, "it needs one of ")),
    );
  }
  if (given !== undefined) {
    const spec = withResolvedFile(given, (file) => resolve(file)).spec;
    return { source: { architecture: spec }, architecture: spec, from: "--architecture" };
  }
  const manifest = await readManifest(first);
  if (manifest.format !== "pytorch" && manifest.format !== "safetensors") return undefined;
  if (manifest.metadata.torchscript === true) return { source: { torchScript: first }, from: "TorchScript" };
  const recorded = await recordedArchitecture(dirname(resolve(first)));
  if (recorded !== undefined)
    return { source: { architecture: recorded }, architecture: recorded, from: "model-soup.json" };
  const huggingFace = await huggingFaceFolderOf(first);
  if (huggingFace !== undefined) {
    const spec = huggingFaceSpec(huggingFace);
    return { source: { architecture: spec }, architecture: spec, from: "config.json" };
  }
  // Safetensors without a PyTorch architecture stay TensorFlow.js's (Keras weights); a torch.save state dict cannot.
  if (manifest.format === "pytorch")
    throw new ModelFileError(first, `(pytorch state dict) ${torchArchitectureWayOut("cli")}`);
  return undefined;
}
