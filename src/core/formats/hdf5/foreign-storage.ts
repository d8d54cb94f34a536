import { ModelFileError } from "../../errors.js";
import { LIMITS } from "../limits.js";
import { fileSource } from "../../io/byte-source.js";
import { Hdf5Metadata, Hdf5Unsupported } from "./metadata-reader.js";

/**
 * Refuses an HDF5 file any of whose datasets keeps its values in other files (external storage, virtual
 * datasets): reading it would pull in bytes of files the user never named, and rewriting it in place would
 * write into them. h5wasm cannot tell external storage apart, so the pure-JS metadata reader walks the file.
 * Files it cannot walk (HDF5 1.10+ layouts h5py does not write by default) are refused when `forWriting` (their
 * storage cannot be checked, and only the output may ever be opened for writing); for reading, h5wasm's own view
 * (which reports virtual datasets and external links) is the check left.
 */
export function refuseForeignStorage(path: string, forWriting: boolean): void {
  let meta: Hdf5Metadata | undefined;
  let found: ReturnType<Hdf5Metadata["foreignStorage"]>;
  try {
    meta = Hdf5Metadata.open(fileSource(path));
    found = meta.foreignStorage(LIMITS.hdf5Objects);
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    if (!forWriting) return;
    const reason = error instanceof Hdf5Unsupported ? error.message : (error as Error).message;
    throw new ModelFileError(
      path,
      `uses an HDF5 layout whose dataset storage Model Soup cannot check before writing (${reason}); expected the layout h5py and Keras write`,
    );
  } finally {
    meta?.close();
  }
  if (found) {
    throw new ModelFileError(
      path,
      `has dataset "${found.path}" stored as ${found.kind}, whose values live in other files; Model Soup reads and writes only self-contained HDF5 files`,
    );
  }
}
