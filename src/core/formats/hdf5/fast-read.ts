import type { ByteSource } from "../../io/byte-source.js";
import { Hdf5Metadata } from "./metadata-reader.js";
import type { Hdf5Tree } from "./tree.js";
import { LIMITS } from "../limits.js";

/**
 * Reads a structure through the pure-JS metadata reader (no h5wasm calls, no copy of the file). Any failure
 * (a layout the JS reader does not decode, a damaged file, a refusal by `read`) gives undefined: the caller then
 * reads the file with h5wasm, the reference, so results and error messages stay exactly h5wasm's.
 */
export async function readWithJsMetadata<T>(
  open: () => ByteSource,
  read: (tree: Hdf5Tree, bytes: number) => Promise<T>,
): Promise<T | undefined> {
  let source: ByteSource;
  try {
    source = open();
  } catch {
    return undefined;
  }
  try {
    const tree = Hdf5Metadata.open(source);
    // A file with datasets stored in other files goes to the h5wasm path, whose opening refuses it by name.
    if (tree.foreignStorage(LIMITS.hdf5Objects)) return undefined;
    return await read(tree, source.length);
  } catch {
    return undefined;
  } finally {
    source.close();
  }
}
