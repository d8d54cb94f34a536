/** An input file that cannot be used: the message names the file and what was expected. */
export class ModelFileError extends Error {
  constructor(
    readonly file: string,
    readonly expected: string,
  ) {
    super(`${file}: ${expected}`);
    this.name = "ModelFileError";
  }
}

/** A request the user made that cannot be carried out as given (bad option, incompatible models, ...). */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * A failure of the PyTorch engine or of what it ran (killed, out of memory, the user's factory raising, torch's own
 * refusal): a UsageError to every caller, but no usage mistake, so the CLI does not point to --help after it.
 */
export class EngineError extends UsageError {
  override name = "EngineError";
}

/** Thrown by long work when its cancellation token fired. Nothing has been written when it is seen. */
export class CancelledError extends Error {
  override name = "CancelledError";
  constructor(message = "Cancelled") {
    super(message);
  }
}

/** An output file that the system refused to write (disk full, file too large, no permission): names the file. */
export class OutputWriteError extends ModelFileError {
  constructor(
    file: string,
    readonly code: string,
  ) {
    super(
      file,
      `cannot be written (${code}${WRITE_REASONS[code] ? `: ${WRITE_REASONS[code]}` : ""}); nothing was written`,
    );
    this.name = "OutputWriteError";
  }
}

const WRITE_REASONS: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EFBIG: "the file would be larger than the system allows",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOENT: "its folder does not exist",
  ENOTDIR: "a part of its path is not a folder",
  EISDIR: "it is a folder",
  EEXIST: "a file of that name appeared while writing",
  EIO: "input/output error",
};
