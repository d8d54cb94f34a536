/** JSON-RPC error codes the worker answers with, so a client can rebuild the kind of error it was. */
export const WorkerErrorCodes = {
  /** A model or data file cannot be used; `data.file` names it. */
  modelFile: -32001,
  /** The request cannot be carried out as given (bad option, incompatible models, ...); `data.engine` when the
   * PyTorch engine failed (an EngineError). */
  usage: -32002,
  /** Cancelled by the client (the JSON-RPC standard code). */
  cancelled: -32800,
} as const;
