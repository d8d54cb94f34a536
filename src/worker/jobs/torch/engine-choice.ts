/**
 * Which engine runs a job's models, decided in one place: PyTorch models (TorchScript files, or state dicts and
 * safetensors with a PyTorch architecture from `--architecture` or a `model-soup.json` beside the checkpoints) run
 * on the user's PyTorch (worker/torch); everything else on TensorFlow.js, as before.
 */
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ModelFileError } from "../../../core/errors.js";
import { readManifest } from "../../../core/formats/registry.js";
import { torchArchitecture, withResolvedFile } from "../../../protocol/torch-architecture.js";
import type { TorchModelSource } from "../../torch/torch-engine.js";

/** The file beside PyTorch checkpoints that records their architecture once. */
export const MODEL_SOUP_JSON = "model-soup.json";

export interface TorchModel {
  readonly source: TorchModelSource;
  /** The PyTorch architecture (resolved), when the model is built from one rather than run as TorchScript. */
  readonly architecture?: string;
  /** Where the architecture came from, for the report. */
  readonly from: "--architecture" | "model-soup.json" | "TorchScript";
}

const STATE_DICT_ADVICE =
  "needs its PyTorch architecture: --architecture torchvision:<name>, <file.py>:<function> or <module>:<callable>, " +
  `or a ${MODEL_SOUP_JSON} beside it: {"architecture": "build.py:build"} (TorchScript files need none)`;

/** The architecture a `model-soup.json` in `folder` records (its Python file relative to that folder), if any. */
async function recordedArchitecture(folder: string): Promise<string | undefined> {
  const path = join(folder, MODEL_SOUP_JSON);
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw new ModelFileError(path, `cannot be read (${error.message})`);
  });
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ModelFileError(path, `is not JSON (${(error as Error).message}); expected {"architecture": "..."}`);
  }
  const spec = (parsed as { architecture?: unknown } | null)?.architecture;
  if (typeof spec !== "string")
    throw new ModelFileError(path, 'has no "architecture" string; expected {"architecture": "torchvision:resnet18"}');
  const architecture = torchArchitecture(spec);
  if (architecture === undefined)
    throw new ModelFileError(
      path,
      `"architecture": "${spec}" is not torchvision:<name>, <file.py>:<function> or <module>:<callable>`,
    );
  return withResolvedFile(architecture, (file) => resolve(folder, file)).spec;
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
          : STATE_DICT_ADVICE.replace(/^needs its PyTorch architecture: /, "it needs one of ")),
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
  // Safetensors without a PyTorch architecture stay TensorFlow.js's (Keras weights); a torch.save state dict cannot.
  if (manifest.format === "pytorch") throw new ModelFileError(first, `(pytorch state dict) ${STATE_DICT_ADVICE}`);
  return undefined;
}
