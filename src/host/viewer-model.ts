/**
 * What the model viewer shows, computed from a manifest (headers only, no tensor data): the layer table with
 * output shapes inferred from the layers' configs where the config alone tells them, and every tensor.
 * No vscode: tested on its own.
 */
import { basename } from "node:path";
import { declaredInputShape } from "../core/architecture/layer-config.js";
import { parameterCount } from "../core/architecture/index.js";
import type { LayerSpec, ModelManifest } from "../core/model.js";
import { elementCount } from "../core/tensor.js";
import type { ViewerInit, ViewerLayer } from "../protocol/viewer.js";
import { architectureName } from "./architecture-name.js";
import { formatLabel } from "../core/formats/registry.js";
import { kerasVariableNames } from "../core/keras/variable-names.js";

type Shape = (number | null)[];

const SAME_SHAPE =
  /^(Dropout|SpatialDropout[123]D|GaussianNoise|GaussianDropout|Activation|ReLU|LeakyReLU|PReLU|ELU|Softmax|BatchNormalization|LayerNormalization|GroupNormalization|UnitNormalization|Rescaling|Normalization)$/;

function pair(value: unknown, fallback: number): [number, number] {
  if (typeof value === "number") return [value, value];
  if (Array.isArray(value) && value.length >= 2 && value.every((v) => typeof v === "number"))
    return [value[0] as number, value[1] as number];
  return [fallback, fallback];
}

/** One spatial size after a window of `k` with stride `s`: "valid" or "same" padding (dilation 1). */
function slide(size: number | null, k: number, s: number, padding: unknown): number | null {
  if (size === null) return null;
  return padding === "same" ? Math.ceil(size / s) : Math.floor((size - k) / s) + 1;
}

/** A layer's output shape from its input shape and its config, or undefined when the config does not tell it. */
export function layerOutputShape(
  layer: Pick<LayerSpec, "className" | "config">,
  input: Shape | undefined,
): Shape | undefined {
  const c = layer.config;
  if (layer.className === "InputLayer") return declaredInputShape(c);
  const own = declaredInputShape(c);
  const x = input ?? own;
  if (!x) return undefined;
  if (SAME_SHAPE.test(layer.className)) return x;
  switch (layer.className) {
    case "Dense":
      return typeof c.units === "number" ? [...x.slice(0, -1), c.units] : undefined;
    case "Flatten": {
      const rest = x.slice(1);
      return [x[0] ?? null, rest.every((d): d is number => d !== null) ? rest.reduce((a, b) => a * b, 1) : null];
    }
    case "Reshape":
      return Array.isArray(c.target_shape)
        ? [x[0] ?? null, ...c.target_shape.map((d) => (typeof d === "number" && d >= 0 ? d : null))]
        : undefined;
    case "Conv2D":
    case "MaxPooling2D":
    case "AveragePooling2D": {
      if (x.length !== 4 || c.data_format === "channels_first") return undefined;
      const conv = layer.className === "Conv2D";
      const [kh, kw] = pair(conv ? c.kernel_size : c.pool_size, 2);
      const [sh, sw] = pair(c.strides ?? (conv ? 1 : [kh, kw]), conv ? 1 : kh);
      const channels = conv ? (typeof c.filters === "number" ? c.filters : null) : x[3]!;
      return [x[0]!, slide(x[1]!, kh, sh, c.padding), slide(x[2]!, kw, sw, c.padding), channels];
    }
    case "ZeroPadding2D": {
      if (x.length !== 4 || c.data_format === "channels_first") return undefined;
      const p = c.padding;
      const [rows, cols] = pair(p, 1);
      const [[top, bottom], [left, right]] =
        Array.isArray(p) && Array.isArray(p[0])
          ? (p as [[number, number], [number, number]])
          : [
              [rows, rows],
              [cols, cols],
            ];
      const grow = (d: number | null, extra: number) => (d === null ? null : d + extra);
      return [x[0]!, grow(x[1]!, top + bottom), grow(x[2]!, left + right), x[3]!];
    }
    case "GlobalAveragePooling2D":
    case "GlobalMaxPooling2D":
      return x.length === 4 ? [x[0]!, x[3]!] : undefined;
    default:
      return undefined;
  }
}

function layerTable(manifest: ModelManifest): ViewerLayer[] {
  const layers = manifest.architecture?.layers ?? [];
  const params = new Map<string, number>();
  for (const t of manifest.tensors) params.set(t.layer, (params.get(t.layer) ?? 0) + elementCount(t.shape));
  const shapes = new Map<string, Shape | undefined>();
  let previous: Shape | undefined;
  return layers.map((layer) => {
    // A layer reads its (first) inbound layer's output; a Sequential's layers read the previous one.
    const input = layer.inbound.length > 0 ? shapes.get(layer.inbound[0]!) : previous;
    const shape = layerOutputShape(layer, input);
    shapes.set(layer.name, shape);
    previous = shape;
    return {
      name: layer.name,
      className: layer.className,
      ...(shape ? { outputShape: shape } : {}),
      parameters: params.get(layer.name) ?? 0,
      inbound: layer.inbound,
    };
  });
}

function metadataText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function viewerInit(
  manifest: ModelManifest,
  bytes: number,
  group?: ViewerInit["group"],
  extra: { alone?: string; mapping?: readonly { from: string; to: string }[] } = {},
): ViewerInit {
  const readable = kerasVariableNames(manifest.architecture?.layers ?? []);
  const matches = new Map((extra.mapping ?? []).filter((p) => p.from !== p.to).map((p) => [p.from, p.to]));
  return {
    path: manifest.path,
    fileName: basename(manifest.path),
    format: formatLabel(manifest.format, true),
    parameters: parameterCount(manifest),
    bytes,
    files: manifest.files,
    architectureName: architectureName(manifest),
    ...(manifest.architecture ? { modelClass: manifest.architecture.modelClass } : {}),
    layers: layerTable(manifest),
    tensors: manifest.tensors.map((t) => ({
      name: t.name,
      shape: [...t.shape],
      dtype: t.dtype,
      layer: t.layer,
      parameters: elementCount(t.shape),
      ...(readable.has(t.name) ? { readableName: readable.get(t.name)! } : {}),
      ...(matches.has(t.name) ? { matches: matches.get(t.name)! } : {}),
    })),
    metadata: Object.entries(manifest.metadata)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => [k, metadataText(v).slice(0, 2000)] as [string, string]),
    warnings: manifest.warnings,
    ...(group ? { group } : {}),
    ...(extra.alone ? { alone: extra.alone } : {}),
  };
}
