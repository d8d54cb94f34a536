/**
 * Finds the first difference between two fingerprinted models and says it in plain words: by tensor name
 * (missing tensor, shape, dtype), or by structure (layer class, config, wiring, weight shapes, layer count).
 */
import { formatModelShape } from "../../protocol/model-shape.js";
import { formatShape } from "../tensor.js";
import type { FingerprintedModel, InputNode, LayerNode, WeightSignature } from "./fingerprint.js";

export type DifferenceKind =
  | "missing-tensor"
  | "tensor-shape"
  | "tensor-dtype"
  | "input"
  | "layer-class"
  | "layer-config"
  | "layer-wiring"
  | "layer-weights"
  | "layer-count"
  | "extra-tensors";

export interface Difference {
  kind: DifferenceKind;
  /** Plain-words explanation naming the tensor or layer and both values. */
  message: string;
  /** The tensor concerned, by its name in model a (or in b when it exists only there). */
  tensor?: string;
  /** For "missing-tensor": which side lacks it. */
  missingIn?: "a" | "b";
  /** The layer concerned, by its name in model a (or b). */
  layer?: string;
}

/** Short names for the two sides in messages (paths, or whatever the caller shows the user). */
export interface Labels {
  a: string;
  b: string;
}

const q = (s: string): string => JSON.stringify(s);

function shapeText(shape: readonly (number | null)[] | null): string {
  return shape ? formatModelShape(shape) : "(unspecified)";
}

/** First difference by tensor name: walking a's tensors in fingerprint order, then b's tensors absent from a. */
export function firstTensorDifference(
  a: FingerprintedModel,
  b: FingerprintedModel,
  labels: Labels,
): Difference | undefined {
  const tensorsB = new Map(b.manifest.tensors.map((t) => [t.name, t]));
  const tensorsA = new Map(a.manifest.tensors.map((t) => [t.name, t]));
  for (const { name } of a.order) {
    const ta = tensorsA.get(name);
    const tb = tensorsB.get(name);
    if (!ta) continue;
    if (!tb) {
      return {
        kind: "missing-tensor",
        tensor: name,
        missingIn: "b",
        message: `tensor ${q(name)} is in ${labels.a} but missing in ${labels.b}`,
      };
    }
    if (formatShape(ta.shape) !== formatShape(tb.shape)) {
      return {
        kind: "tensor-shape",
        tensor: name,
        message: `tensor ${q(name)} has shape ${formatShape(ta.shape)} in ${labels.a} but ${formatShape(tb.shape)} in ${labels.b}`,
      };
    }
    if (ta.dtype !== tb.dtype) {
      return {
        kind: "tensor-dtype",
        tensor: name,
        message: `tensor ${q(name)} is ${ta.dtype} in ${labels.a} but ${tb.dtype} in ${labels.b}`,
      };
    }
  }
  for (const { name } of b.order) {
    if (!tensorsA.has(name) && tensorsB.has(name)) {
      return {
        kind: "missing-tensor",
        tensor: name,
        missingIn: "a",
        message: `tensor ${q(name)} is in ${labels.b} but missing in ${labels.a}`,
      };
    }
  }
  return undefined;
}

function valueText(value: unknown): string {
  return value === undefined ? "(not set)" : JSON.stringify(value);
}

/** The first config entry that differs, as a dotted path with both values. */
function firstConfigDifference(
  a: unknown,
  b: unknown,
  path: string,
): { path: string; a: unknown; b: unknown } | undefined {
  const bothObjects =
    typeof a === "object" && a !== null && typeof b === "object" && b !== null && Array.isArray(a) === Array.isArray(b);
  if (!bothObjects || Array.isArray(a)) {
    return JSON.stringify(a) === JSON.stringify(b) ? undefined : { path, a, b };
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  for (const key of [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort()) {
    const found = firstConfigDifference(ao[key], bo[key], path ? `${path}.${key}` : key);
    if (found) return found;
  }
  return undefined;
}

function layerLabel(model: FingerprintedModel, k: number): string {
  return `${(model.fingerprint as { layers: LayerNode[] }).layers[k]!.className} ${q(model.layerNames[k] ?? "?")}`;
}

/** "layer 7 (Dense "x")", or with both names when the models name the layer differently. */
function layerWhere(a: FingerprintedModel, b: FingerprintedModel, k: number, labels: Labels): string {
  const na = a.layerNames[k] ?? "?";
  const nb = b.layerNames[k] ?? "?";
  return na === nb
    ? `layer ${k + 1} (${layerLabel(a, k)})`
    : `layer ${k + 1} (${layerLabel(a, k)} in ${labels.a}, ${q(nb)} in ${labels.b})`;
}

function inputDifference(ia: InputNode, ib: InputNode, i: number, labels: Labels): string | undefined {
  if (shapeText(ia.shape) !== shapeText(ib.shape)) {
    return `input ${i + 1} has shape ${shapeText(ia.shape)} in ${labels.a} but ${shapeText(ib.shape)} in ${labels.b}`;
  }
  if (ia.dtype !== ib.dtype) return `input ${i + 1} is ${ia.dtype} in ${labels.a} but ${ib.dtype} in ${labels.b}`;
  return undefined;
}

function weightName(model: FingerprintedModel, layer: number, index: number): string {
  return model.order.find((p) => p.layer === layer && p.index === index)?.name ?? "?";
}

function weightsDifference(
  a: FingerprintedModel,
  b: FingerprintedModel,
  k: number,
  wa: WeightSignature[],
  wb: WeightSignature[],
  labels: Labels,
): Difference | undefined {
  const where = layerWhere(a, b, k, labels);
  if (wa.length !== wb.length) {
    return {
      kind: "layer-weights",
      layer: a.layerNames[k],
      message: `${where} has ${wa.length} weights in ${labels.a} but ${wb.length} in ${labels.b}`,
    };
  }
  for (let j = 0; j < wa.length; j++) {
    const na = weightName(a, k, j);
    const nb = weightName(b, k, j);
    const names = na === nb ? q(na) : `${q(na)} (${q(nb)} in ${labels.b})`;
    if (formatShape(wa[j]!.shape) !== formatShape(wb[j]!.shape)) {
      return {
        kind: "tensor-shape",
        tensor: na,
        layer: a.layerNames[k],
        message: `tensor ${names} of ${where} has shape ${formatShape(wa[j]!.shape)} in ${labels.a} but ${formatShape(wb[j]!.shape)} in ${labels.b}`,
      };
    }
    if (wa[j]!.dtype !== wb[j]!.dtype) {
      return {
        kind: "tensor-dtype",
        tensor: na,
        layer: a.layerNames[k],
        message: `tensor ${names} of ${where} is ${wa[j]!.dtype} in ${labels.a} but ${wb[j]!.dtype} in ${labels.b}`,
      };
    }
  }
  return undefined;
}

/** First structural difference between two models that both have an architecture, comparing layers by position. */
export function firstStructuralDifference(
  a: FingerprintedModel,
  b: FingerprintedModel,
  labels: Labels,
): Difference | undefined {
  const fa = a.fingerprint;
  const fb = b.fingerprint;
  if (fa.kind !== "architecture" || fb.kind !== "architecture") return undefined;
  if (fa.inputs.length !== fb.inputs.length) {
    return {
      kind: "input",
      message: `${labels.a} has ${fa.inputs.length} inputs but ${labels.b} has ${fb.inputs.length}`,
    };
  }
  for (let i = 0; i < fa.inputs.length; i++) {
    const message = inputDifference(fa.inputs[i]!, fb.inputs[i]!, i, labels);
    if (message) return { kind: "input", message };
  }
  const common = Math.min(fa.layers.length, fb.layers.length);
  for (let k = 0; k < common; k++) {
    const la = fa.layers[k]!;
    const lb = fb.layers[k]!;
    const layer = a.layerNames[k];
    if (la.className !== lb.className) {
      return {
        kind: "layer-class",
        layer,
        message: `layer ${k + 1} is ${layerLabel(a, k)} in ${labels.a} but ${layerLabel(b, k)} in ${labels.b}`,
      };
    }
    const where = layerWhere(a, b, k, labels);
    const config = firstConfigDifference(la.config, lb.config, "");
    if (config) {
      return {
        kind: "layer-config",
        layer,
        message: `${where} has ${config.path} = ${valueText(config.a)} in ${labels.a} but ${valueText(config.b)} in ${labels.b}`,
      };
    }
    if (JSON.stringify(la.inbound) !== JSON.stringify(lb.inbound)) {
      const describe = (m: FingerprintedModel, inbound: number[]) => {
        const inputs = (m.fingerprint as { inputs: InputNode[] }).inputs.length;
        return (
          inbound.map((p) => (p < 0 ? "?" : p < inputs ? `input ${p + 1}` : `layer ${p - inputs + 1}`)).join(", ") ||
          "nothing"
        );
      };
      return {
        kind: "layer-wiring",
        layer,
        message: `${where} is fed by ${describe(a, la.inbound)} in ${labels.a} but by ${describe(b, lb.inbound)} in ${labels.b}`,
      };
    }
    const weights = weightsDifference(a, b, k, la.weights, lb.weights, labels);
    if (weights) return weights;
  }
  if (fa.layers.length !== fb.layers.length) {
    const [longer, label, shorterLabel] =
      fa.layers.length > fb.layers.length ? [a, labels.a, labels.b] : [b, labels.b, labels.a];
    return {
      kind: "layer-count",
      layer: longer.layerNames[common],
      message:
        `${labels.a} has ${fa.layers.length} layers but ${labels.b} has ${fb.layers.length}: ` +
        `layer ${common + 1} (${layerLabel(longer, common)}) of ${label} has no counterpart in ${shorterLabel}`,
    };
  }
  if (JSON.stringify(fa.unassigned) !== JSON.stringify(fb.unassigned)) {
    return {
      kind: "extra-tensors",
      message: `the tensors outside any layer differ: ${fa.unassigned.length} in ${labels.a}, ${fb.unassigned.length} in ${labels.b}`,
    };
  }
  return undefined;
}
