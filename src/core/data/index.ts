export type { DataFormatId, DataLoader, Dataset, DatasetTask, LoadOptions } from "./dataset.js";
export { featureCount, formatInputShape, sampleCount } from "./dataset.js";
export { detectDataFormat, loadDataset } from "./load.js";
export { checkAgainstInput, type CheckedDataset } from "./check.js";
export {
  DEFAULT_SPLIT,
  splitDataset,
  subsetDataset,
  type DatasetSplit,
  type SplitFractions,
  type SplitOptions,
} from "./split.js";
export { describeDataset, type DatasetDescription } from "./describe.js";
export { mulberry32 } from "../random.js";
export { checkDataFitsModel, modelInterface, type ModelInterface } from "./model-fit.js";
