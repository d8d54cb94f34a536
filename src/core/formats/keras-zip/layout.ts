import { ModelFileError } from "../../errors.js";
import type { Hdf5Tree } from "../hdf5/tree.js";
import { LIMITS } from "../limits.js";

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Keras' naming.to_snake_case: the name saving_lib gives a layer's group inside a container. */
export function toSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, "")
    .replace(/(.)([A-Z][a-z]+)/g, "$1_$2")
    .replace(/([a-z])([A-Z])/g, "$1_$2")
    .toLowerCase();
}

export interface LayerGroup {
  /** The layer's name in config.json. */
  layer: string;
  className: string;
  /** Its group in model.weights.h5, e.g. "layers/dense_1". */
  path: string;
  /** The config of a nested Sequential/Functional model, whose own layers sit under `<path>/layers`. */
  nested?: Json;
}

function configLayers(modelConfig: Json): Json[] {
  const inner = modelConfig.config;
  const layers = Array.isArray(inner) ? inner : isObject(inner) && Array.isArray(inner.layers) ? inner.layers : [];
  return layers.filter(isObject);
}

const MODEL_CLASSES = new Set(["Sequential", "Functional", "Model"]);

/**
 * The groups Keras 3's saving_lib writes for a model's layers: `<prefix>/layers/<snake_case(class)>[_<n>]`,
 * numbered per class in the order of `model.layers` (which, for a Sequential, leaves out its InputLayer).
 */
export function layerGroups(modelConfig: Json, prefix: string): LayerGroup[] {
  const sequential = modelConfig.class_name === "Sequential";
  const used = new Map<string, number>();
  const groups: LayerGroup[] = [];
  for (const layer of configLayers(modelConfig)) {
    const className = String(layer.class_name);
    if (sequential && className === "InputLayer") continue;
    const base = toSnakeCase(className);
    const seen = used.get(base);
    used.set(base, seen === undefined ? 0 : seen + 1);
    const key = seen === undefined ? base : `${base}_${seen + 1}`;
    const config = isObject(layer.config) ? layer.config : {};
    const name = String(config.name ?? layer.name ?? key);
    groups.push({
      layer: name,
      className,
      path: `${prefix}layers/${key}`,
      nested: MODEL_CLASSES.has(className) && configLayers(layer).length > 0 ? layer : undefined,
    });
  }
  return groups;
}

export function isGroupAt(file: Hdf5Tree, path: string): boolean {
  return file.kind(path) === "group";
}

function naturalKey(name: string): [string, number] {
  const match = /^(.*?)(?:_(\d+))?$/.exec(name)!;
  return [match[1]!, match[2] === undefined ? 0 : Number(match[2]) + 1];
}

/** saving_lib's visiting order: own `vars` (numbered), then `layers`, then other attributes, private ones last. */
export function childOrder(names: string[]): string[] {
  const rank = (n: string) => (n === "vars" ? 0 : n === "layers" ? 1 : n.startsWith("_") ? 3 : 2);
  return [...names].sort((a, b) => {
    if (rank(a) !== rank(b)) return rank(a) - rank(b);
    if (/^\d+$/.test(a) && /^\d+$/.test(b)) return Number(a) - Number(b);
    const [ka, na] = naturalKey(a);
    const [kb, nb] = naturalKey(b);
    return ka === kb ? na - nb : ka < kb ? -1 : 1;
  });
}

/** Every dataset under a layer's group, in the order Keras saved them; nested models follow their own config. */
export function datasetsUnder(file: string, h5: Hdf5Tree, group: LayerGroup): string[] {
  const out: string[] = [];
  let visited = 0;
  const visit = (path: string, nested?: Json, depth = 0) => {
    // Groups may link in a cycle (a group holding a hard link to its parent): bound the walk rather than follow it.
    if (depth > LIMITS.hdf5Depth || ++visited > LIMITS.hdf5Objects) {
      throw new ModelFileError(
        file,
        `has HDF5 groups under "${group.path}" nested more than ${LIMITS.hdf5Depth} deep or more than ${LIMITS.hdf5Objects} objects (groups linked in a cycle?)`,
      );
    }
    const kind = h5.kind(path);
    if (kind === "dataset") {
      out.push(path);
      return;
    }
    if (kind !== "group") return;
    for (const child of childOrder(h5.keys(path))) {
      if (child === "layers" && nested) {
        const inner = layerGroups(nested, `${path}/`);
        for (const g of inner) {
          if (!isGroupAt(h5, g.path)) throw missingGroup(file, g);
          visit(g.path, g.nested, depth + 2);
        }
        for (const extra of childOrder(h5.keys(`${path}/layers`))) {
          if (!inner.some((g) => g.path === `${path}/layers/${extra}`))
            visit(`${path}/layers/${extra}`, undefined, depth + 2);
        }
        continue;
      }
      visit(`${path}/${child}`, undefined, depth + 1);
    }
  };
  visit(group.path, group.nested);
  return out;
}

export function missingGroup(file: string, group: LayerGroup): ModelFileError {
  return new ModelFileError(
    file,
    `has no group "${group.path}" in model.weights.h5 for layer "${group.layer}" (${group.className}); ` +
      "expected the layout Keras 3 writes (layers/<class in snake_case>[_n]/vars/<i>)",
  );
}
