import { realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, relative, sep } from "node:path";
import { ModelFileError } from "../errors.js";
import { cannotOpen } from "../io/open.js";

/**
 * The bounds every reader applies to what a file declares, so that a hostile file of a few MB cannot make a read
 * hang, overflow the stack or take GBs of memory. Each is in one place; the inflation ceiling can be raised
 * with the MODEL_SOUP_MAX_INFLATE_MB environment variable for legitimately huge compressed data files.
 */
export const LIMITS = {
  /** Any JSON text we parse (model.json, config.json, a safetensors header, a recipe, a shard index). */
  jsonBytes: 256 * 1024 * 1024,
  /** Nesting of arrays and objects in any JSON or YAML document (real Keras configs nest about 10 deep). */
  jsonDepth: 1000,
  /** A YAML document's aliases (a "billion laughs" document expands a few aliases into millions of nodes). */
  yamlAliases: 1000,
  /** The text of a mergekit YAML config. */
  yamlBytes: 16 * 1024 * 1024,
  /** HDF5 group nesting below the root (groups linked in a cycle would otherwise be walked forever). */
  hdf5Depth: 64,
  /** HDF5 objects visited while listing one model's datasets. */
  hdf5Objects: 1_000_000,
  /** A PyTorch checkpoint's data.pkl (the pickle of names and shapes; the tensors' bytes are entries of their own). */
  pickleBytes: 256 * 1024 * 1024,
  /** TorchScript module nesting below the root module. */
  torchScriptDepth: 64,
};

const DEFAULT_INFLATE_MB = 256;

/** DEFLATE cannot expand data by more than about 1032:1; a larger claim is a corrupt or hostile file. */
export const MAX_DEFLATE_RATIO = 1032;

/** The most bytes any compressed entry (zip, npz, gzip) may inflate to in memory. */
export function inflateCeiling(): number {
  const configured = Number(process.env.MODEL_SOUP_MAX_INFLATE_MB);
  const mb = Number.isFinite(configured) && configured > 0 ? configured : DEFAULT_INFLATE_MB;
  return Math.floor(mb * 1024 * 1024);
}

/** The error for data that would inflate beyond the ceiling. */
export function inflateTooLarge(file: string, what: string, bytes: number): ModelFileError {
  return new ModelFileError(
    file,
    `${what} inflates to ${bytes} bytes, more than the ${inflateCeiling()}-byte limit (raise MODEL_SOUP_MAX_INFLATE_MB to allow it)`,
  );
}

/**
 * Refuses anything but a regular file before it is opened: opening a FIFO blocks until a writer appears, a device
 * never ends, a folder cannot be read as a model.
 */
export function requireRegularFile(path: string): void {
  let kind: string;
  try {
    const s = statSync(path);
    if (s.isFile()) return;
    kind = s.isDirectory()
      ? "a folder"
      : s.isFIFO()
        ? "a FIFO (named pipe)"
        : s.isSocket()
          ? "a socket"
          : "a device or special file";
  } catch (error) {
    throw cannotOpen(path, error);
  }
  throw new ModelFileError(path, `is ${kind}; expected a regular file`);
}

/**
 * The deepest nesting of arrays and objects in a JSON text, stopping as soon as it passes `limit` (strings are
 * skipped, so brackets inside them do not count). Linear in the text, no recursion.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

/**
 * Parses a JSON text from `file` after checking its size and nesting against LIMITS. `what` names the part
 * ("a safetensors header", "config.json"); a syntax error is rethrown as a SyntaxError for the caller to word.
 */
export function parseBoundedJson(file: string, what: string, text: string): unknown {
  if (text.length > LIMITS.jsonBytes) {
    throw new ModelFileError(
      file,
      `has ${what} of ${text.length} characters, more than the ${LIMITS.jsonBytes} Model Soup reads`,
    );
  }
  if (jsonDepthExceeds(text, LIMITS.jsonDepth)) {
    throw new ModelFileError(
      file,
      `has ${what} nested more than ${LIMITS.jsonDepth} levels deep; expected at most ${LIMITS.jsonDepth}`,
    );
  }
  return JSON.parse(text);
}

/** The same check for a byte count read from a file before its text is decoded. */
export function checkJsonBytes(file: string, what: string, bytes: number): void {
  if (bytes > LIMITS.jsonBytes) {
    throw new ModelFileError(file, `has ${what} of ${bytes} bytes, more than the ${LIMITS.jsonBytes} Model Soup reads`);
  }
}

/**
 * Refuses a file a model names (a TF.js weights shard, a safetensors shard) unless, with every symlink resolved,
 * it lies inside the folder of the model file that names it: a symlinked shard must not pull in bytes from
 * elsewhere. Missing files pass here (the caller reports them).
 */
export function requireInsideModelFolder(modelFile: string, sidecar: string, what: string): void {
  let folder: string;
  let real: string;
  try {
    folder = realpathSync(dirname(modelFile));
    real = realpathSync(sidecar);
  } catch {
    return;
  }
  const rel = relative(folder, real);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new ModelFileError(
      modelFile,
      `names ${what} "${sidecar}" that resolves (through a symlink) to ${real}, outside the model's folder ${folder}; refused`,
    );
  }
  requireRegularFile(sidecar);
}
