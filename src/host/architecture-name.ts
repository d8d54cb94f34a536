/**
 * A short name for a model's architecture, built from its layers: "Dense 64-64-32-10" for an MLP (input width
 * first), "Conv2D 6-16 → Dense 120-84-10" for a LeNet. Files without an architecture (weights-only checkpoints,
 * safetensors) are named from their kernels' shapes when they have Keras kernels, otherwise by their tensors. Used for the Model Explorer's group labels and to say what makes a lone model unique.
 */
import { modelInterface } from "../core/data/index.js";
import type { ModelManifest } from "../core/model.js";

/** The config key that holds each weighted layer class's width. */
const WIDTH_KEYS = ["units", "filters", "output_dim"] as const;
/** Layers that carry weights but do not change what the network computes at this level of detail. */
const QUIET = /^(BatchNormalization|LayerNormalization|GroupNormalization|PReLU)$/;

export function architectureName(manifest: Pick<ModelManifest, "architecture" | "tensors">): string {
  const layers = manifest.architecture?.layers ?? [];
  const runs: { className: string; widths: number[] }[] = [];
  for (const layer of layers) {
    if (layer.weights.length === 0 || QUIET.test(layer.className)) continue;
    const key = WIDTH_KEYS.find((k) => typeof layer.config[k] === "number");
    const width = key ? (layer.config[key] as number) : undefined;
    const last = runs.at(-1);
    if (last && last.className === layer.className) {
      if (width !== undefined) last.widths.push(width);
    } else runs.push({ className: layer.className, widths: width !== undefined ? [width] : [] });
  }
  if (runs.length === 0) runs.push(...runsFromKernels(manifest.tensors));
  if (runs.length === 0) {
    const n = manifest.tensors.length;
    return `${n} tensor${n === 1 ? "" : "s"}`;
  }
  // An MLP reads flat rows: its input width opens the name ("Dense 64-…"); without an architecture, the first
  // kernel's input size tells it.
  const input = manifest.architecture
    ? modelInterface(manifest)?.inputShape
    : [null, firstDenseInput(manifest.tensors)];
  if (runs[0]!.className === "Dense" && input?.length === 2 && typeof input[1] === "number")
    runs[0]!.widths.unshift(input[1]);
  return runs.map((r) => (r.widths.length > 0 ? `${r.className} ${r.widths.join("-")}` : r.className)).join(" → ");
}

/** Keras kernels by rank: [in, out] for Dense, [k, in, out] for Conv1D, [kh, kw, in, out] for Conv2D. */
const KERNEL_CLASS: Record<number, string> = { 2: "Dense", 3: "Conv1D", 4: "Conv2D", 5: "Conv3D" };
const KERNEL = /(^|\/)kernel(:\d+)?$/;

/** The layer runs a weights-only file's kernels give, in file order (their last dimension is the width). */
function runsFromKernels(tensors: ModelManifest["tensors"]): { className: string; widths: number[] }[] {
  const runs: { className: string; widths: number[] }[] = [];
  for (const t of tensors) {
    const className = KERNEL.test(t.name) ? KERNEL_CLASS[t.shape.length] : undefined;
    if (!className) continue;
    const last = runs.at(-1);
    if (last?.className === className) last.widths.push(t.shape.at(-1)!);
    else runs.push({ className, widths: [t.shape.at(-1)!] });
  }
  return runs;
}

function firstDenseInput(tensors: ModelManifest["tensors"]): number | undefined {
  const first = tensors.find((t) => KERNEL.test(t.name) && KERNEL_CLASS[t.shape.length] !== undefined);
  return first?.shape.length === 2 ? first.shape[0] : undefined;
}
