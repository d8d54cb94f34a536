import { h5wasm, type H5File } from "./module.js";

/** A dataset whose values live in other files (a virtual dataset); its readers refuse it. */
export class VirtualDatasetError extends Error {
  constructor(readonly path: string) {
    super(`dataset "${path}" is a virtual dataset, whose values live in other files`);
  }
}

export type Hdf5Kind = "group" | "dataset" | "other";

/** What a manifest needs of a dataset: HDF5 type class (as H5Tget_class), element size, sign, shape, filters. */
export interface Hdf5DatasetHeader {
  typeClass: number;
  size: number;
  signed: boolean;
  /** null for a null dataspace, [] for a scalar. */
  shape: number[] | null;
  filterCount: number;
}

/**
 * The read-only view of an HDF5 file's structure that the Keras readers use: groups, datasets' headers and
 * attribute values (decoded as h5wasm decodes them). Paths are absolute or relative to the root.
 * Two implementations: over an open h5wasm file, and a pure-JS reader of the metadata alone (metadata-reader.ts).
 */
export interface Hdf5Tree {
  /** undefined when nothing is at `path`. */
  kind(path: string): Hdf5Kind | undefined;
  /** Children of the group at `path`, in HDF5's name order. */
  keys(path: string): string[];
  attributeNames(path: string): string[];
  hasAttribute(path: string, name: string): boolean;
  /** The attribute's value (strings, string arrays, typed arrays, numbers), undefined when absent. */
  attribute(path: string, name: string): unknown;
  dataset(path: string): Hdf5DatasetHeader;
}

/** An Hdf5Tree over a file h5wasm has open (used to read tensors, and where the JS reader declines a file). */
export function h5wasmTree(file: H5File): Hdf5Tree {
  // HDF5 would follow an external link met along a path into another file: each prefix is checked (once).
  const external = new Map<string, boolean>();
  const isExternal = (prefix: string) => {
    let known = external.get(prefix);
    if (known === undefined) {
      const step = file.get(prefix) as { type?: unknown } | null;
      external.set(prefix, (known = step !== null && step !== undefined && step.type === "ExternalLink"));
    }
    return known;
  };
  const entity = (path: string) => {
    if (path === "/" || path === "") return file;
    try {
      const parts = path.split("/").filter((p) => p !== "");
      for (let i = 1; i < parts.length; i++) if (isExternal(parts.slice(0, i).join("/"))) return null;
      return file.get(path);
    } catch {
      return null;
    }
  };
  const attrs = (path: string) => {
    const node = entity(path);
    return node && "attrs" in node ? node.attrs : {};
  };
  return {
    kind(path) {
      const node = entity(path);
      if (node instanceof h5wasm.Group) return "group";
      if (node instanceof h5wasm.Dataset) return "dataset";
      return node ? "other" : undefined;
    },
    keys(path) {
      const node = entity(path);
      return node instanceof h5wasm.Group ? node.keys() : [];
    },
    attributeNames(path) {
      return Object.keys(attrs(path));
    },
    hasAttribute(path, name) {
      return Object.prototype.hasOwnProperty.call(attrs(path), name);
    },
    attribute(path, name) {
      const all = attrs(path) as Record<string, { value: unknown } | undefined>;
      return Object.prototype.hasOwnProperty.call(all, name) ? all[name]!.value : undefined;
    },
    dataset(path) {
      const node = entity(path);
      if (!(node instanceof h5wasm.Dataset)) throw new Error(`no dataset at ${path}`);
      const m = node.metadata;
      if (m.virtual_sources?.length) throw new VirtualDatasetError(path);
      return { typeClass: m.type, size: m.size, signed: m.signed, shape: node.shape, filterCount: node.filters.length };
    },
  };
}
