/**
 * The PyTorch forms of `--architecture` (and of a `model-soup.json`'s "architecture"), told apart from a Keras
 * architecture file in one place: `torchvision:<name>`, `<file.py>:<function>`, `<module>:<callable>`, and
 * `huggingface:<folder>` (a Hugging Face model folder whose config.json `transformers` builds the model from; a
 * checkpoint in such a folder gets it without the flag).
 */

export type TorchArchitecture =
  | { readonly kind: "torchvision"; readonly spec: string; readonly name: string }
  /** User code in a Python file: `file` as given (relative paths are the caller's to resolve). */
  | { readonly kind: "file"; readonly spec: string; readonly file: string; readonly name: string }
  | { readonly kind: "module"; readonly spec: string; readonly module: string; readonly name: string }
  /** A Hugging Face folder (its config.json): `folder` as given (relative paths are the caller's to resolve). */
  | { readonly kind: "huggingface"; readonly spec: string; readonly folder: string };

export const HUGGING_FACE_PREFIX = "huggingface:";

/** The `huggingface:<folder>` spec of a Hugging Face model folder. */
export function huggingFaceSpec(folder: string): string {
  return `${HUGGING_FACE_PREFIX}${folder}`;
}

const IDENTIFIER = /^[A-Za-z_]\w*$/;
const MODULE = /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/;

/**
 * The PyTorch architecture `spec` names, or undefined when it is not one (a Keras file path). Split at the last
 * colon, as the engine splits it, so `C:\models\build.py:build` works.
 */
export function torchArchitecture(spec: string): TorchArchitecture | undefined {
  if (spec.startsWith(HUGGING_FACE_PREFIX)) {
    const folder = spec.slice(HUGGING_FACE_PREFIX.length);
    return folder.trim() === "" ? undefined : { kind: "huggingface", spec, folder };
  }
  const at = spec.lastIndexOf(":");
  if (at <= 0) return undefined;
  const where = spec.slice(0, at);
  const name = spec.slice(at + 1);
  if (!IDENTIFIER.test(name)) return undefined;
  if (where === "torchvision") return { kind: "torchvision", spec, name };
  if (where.endsWith(".py")) return { kind: "file", spec, file: where, name };
  if (MODULE.test(where)) return { kind: "module", spec, module: where, name };
  return undefined;
}

/**
 * The same architecture with its Python file (or Hugging Face folder) resolved by `resolve` (a path relative to a
 * model-soup.json's folder).
 */
export function withResolvedFile(
  architecture: TorchArchitecture,
  resolve: (file: string) => string,
): TorchArchitecture {
  if (architecture.kind === "huggingface") {
    const folder = resolve(architecture.folder);
    return { ...architecture, folder, spec: huggingFaceSpec(folder) };
  }
  if (architecture.kind !== "file") return architecture;
  const file = resolve(architecture.file);
  return { ...architecture, file, spec: `${file}:${architecture.name}` };
}
