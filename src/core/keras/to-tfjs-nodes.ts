/** Keras 3 call graphs ({args, kwargs} nodes, flat endpoints) in the Keras 2 form tfjs-layers reads. */
import { refuse } from "./refusal.js";

type Json = Record<string, unknown>;
/** Keras 2 node entry: [layer name, node index, tensor index, call kwargs]. */
type NodeEntry = [string, number, number, Json];

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function kerasTensor(value: unknown): NodeEntry | undefined {
  if (!isObject(value) || value.class_name !== "__keras_tensor__" || !isObject(value.config)) return undefined;
  const history = value.config.keras_history;
  if (!Array.isArray(history) || typeof history[0] !== "string") refuse("a call argument has no keras_history");
  return [history[0], Number(history[1] ?? 0), Number(history[2] ?? 0), {}];
}

/** Every Keras tensor in a nested call argument, in order; anything else but null is refused. */
function collectTensors(value: unknown, out: NodeEntry[], where: string): void {
  const tensor = kerasTensor(value);
  if (tensor) {
    out.push(tensor);
  } else if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, out, where);
  } else if (value !== null && value !== undefined) {
    refuse(`its call passes ${where} ${JSON.stringify(value).slice(0, 80)}, which a TF.js layer call cannot take`);
  }
}

/** Keras 3 node {args, kwargs} -> Keras 2 node [[layer, node, tensor, {}], ...]; RNN initial states follow the input. */
function translateNode(node: unknown): NodeEntry[] | unknown {
  if (Array.isArray(node)) return node;
  if (!isObject(node))
    refuse(
      `it has an inbound node ${JSON.stringify(node)} that is neither a Keras 2 list nor a Keras 3 {args, kwargs}`,
    );
  const entries: NodeEntry[] = [];
  collectTensors(node.args ?? [], entries, "an argument");
  const kwargs = isObject(node.kwargs) ? node.kwargs : {};
  for (const [key, value] of Object.entries(kwargs)) {
    if (key === "initial_state") collectTensors(value, entries, "an initial state");
    else if (key === "training" && value === true)
      refuse("it is called with training=true, so it behaves as in training even at inference");
    else if (key === "training") continue;
    else if (key === "mask" && value === null) continue;
    else {
      const found: NodeEntry[] = [];
      try {
        collectTensors(value, found, `the keyword argument ${key}`);
      } catch {
        continue; // plain values (flags, numbers) leave the inference graph unchanged
      }
      if (found.length > 0)
        refuse(`its call passes tensors as the keyword argument "${key}", which TF.js cannot express`);
    }
  }
  return entries;
}

/**
 * Node indices a reference must be raised by, per producing layer. Keras 2 and tfjs give every nested model
 * a first node of its own (inputs to outputs), so its first call is node 1; Keras 3 does so for nested
 * Functional models but not for nested Sequential ones, whose first call it numbers 0.
 */
export type NodeShift = (layer: string) => number;

function shiftEntry(entry: unknown, shift: NodeShift): unknown {
  if (!Array.isArray(entry) || typeof entry[0] !== "string") return entry;
  const by = shift(entry[0]);
  return by === 0 ? entry : [entry[0], Number(entry[1]) + by, ...entry.slice(2)];
}

export function translateInboundNodes(nodes: unknown, shift: NodeShift = () => 0): unknown[] {
  if (!Array.isArray(nodes)) return [];
  return nodes.map((node) => {
    const entries = translateNode(node);
    return Array.isArray(entries) ? entries.map((e) => shiftEntry(e, shift)) : entries;
  });
}

/** input_layers/output_layers: Keras 3 writes one endpoint flat (["x", 0, 0]) and may use a dict. */
export function translateEndpoints(endpoints: unknown, shift: NodeShift = () => 0): unknown[] {
  if (isObject(endpoints)) return Object.values(endpoints).flatMap((v) => translateEndpoints(v, shift));
  if (!Array.isArray(endpoints)) return [];
  if (typeof endpoints[0] === "string") return [shiftEntry(endpoints, shift)];
  return endpoints.flatMap((e) =>
    Array.isArray(e) && typeof e[0] === "string" ? [shiftEntry(e, shift)] : translateEndpoints(e, shift),
  );
}
