import type { H5File } from "./open.js";

type H5Object = Pick<H5File, "attrs">;

function asStrings(value: unknown): string[] | undefined {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
  // Keras saves an empty name list as numpy's empty float64 array.
  if (ArrayBuffer.isView(value) && (value as unknown as ArrayLike<number>).length === 0) return [];
  if (value instanceof Uint8Array) return [new TextDecoder().decode(value)];
  return undefined;
}

export function hasAttribute(obj: H5Object, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj.attrs, name);
}

/** A string attribute, whether stored as variable-length or fixed-length (Keras 2 and Keras 3 differ). */
export function readStringAttribute(obj: H5Object, name: string): string | undefined {
  const attribute = obj.attrs[name];
  if (!attribute) return undefined;
  const strings = asStrings(attribute.value);
  return strings?.length === 1 ? strings[0] : undefined;
}

/**
 * A list-of-names attribute (layer_names, weight_names). Keras splits lists too large for an object header
 * into `name0`, `name1`, ...; both forms are read. Undefined when absent or not strings.
 */
export function readStringListAttribute(obj: H5Object, name: string): string[] | undefined {
  const attrs = obj.attrs;
  if (attrs[name]) return asStrings(attrs[name].value);
  if (!attrs[`${name}0`]) return undefined;
  const out: string[] = [];
  for (let i = 0; attrs[`${name}${i}`]; i++) {
    const part = asStrings(attrs[`${name}${i}`]!.value);
    if (!part) return undefined;
    out.push(...part);
  }
  return out;
}
