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

/** Thrown by long work when its cancellation token fired. Nothing has been written when it is seen. */
export class CancelledError extends Error {
  override name = "CancelledError";
  constructor(message = "Cancelled") {
    super(message);
  }
}
