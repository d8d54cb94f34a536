import type { Hdf5Tree } from "../hdf5/tree.js";

function asStrings(value: unknown): string[] | undefined {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
  // Keras saves an empty name list as numpy's empty float64 array.
  if (ArrayBuffer.isView(value) && (value as unknown as ArrayLike<number>).length === 0) return [];
  if (value instanceof Uint8Array) return [new TextDecoder().decode(value)];
  return undefined;
}

export function hasAttribute(tree: Hdf5Tree, path: string, name: string): boolean {
  return tree.hasAttribute(path, name);
}

/** A string attribute, whether stored as variable-length or fixed-length (Keras 2 and Keras 3 differ). */
export function readStringAttribute(tree: Hdf5Tree, path: string, name: string): string | undefined {
  if (!tree.hasAttribute(path, name)) return undefined;
  const strings = asStrings(tree.attribute(path, name));
  return strings?.length === 1 ? strings[0] : undefined;
}

/**
 * A list-of-names attribute (layer_names, weight_names). Keras splits lists too large for an object header
 * into `name0`, `name1`, ...; both forms are read. Undefined when absent or not strings.
 */
export function readStringListAttribute(tree: Hdf5Tree, path: string, name: string): string[] | undefined {
  if (tree.hasAttribute(path, name)) return asStrings(tree.attribute(path, name));
  if (!tree.hasAttribute(path, `${name}0`)) return undefined;
  const out: string[] = [];
  for (let i = 0; tree.hasAttribute(path, `${name}${i}`); i++) {
    const part = asStrings(tree.attribute(path, `${name}${i}`));
    if (!part) return undefined;
    out.push(...part);
  }
  return out;
}
