export { buildModel } from "./build.js";
export { bindWeights, type WeightBinding } from "./bind.js";
export { loadWeights } from "./load.js";
export { finalOutputIndex, finalOutputModel } from "./outputs.js";
