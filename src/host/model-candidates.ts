/** Moved to core (the CLI and the worker expand model folders with the same rules): re-exported for the host. */
export { MODEL_GLOB, isShardIndex, modelCandidates } from "../core/io/model-candidates.js";
