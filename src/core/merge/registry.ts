import { UsageError } from "../errors.js";
import type { MergeMethod } from "./method.js";
import { dareLinear, dareTies } from "./methods/dare.js";
import { fisher } from "./methods/fisher.js";
import { isoC } from "./methods/iso-c.js";
import { isoCts } from "./methods/iso-cts.js";
import { linear, uniform } from "./methods/linear.js";
import { modelStock } from "./methods/model-stock.js";
import { regmean } from "./methods/regmean.js";
import { regmeanPlusPlus } from "./methods/regmean-plusplus.js";
import { slerp } from "./methods/slerp.js";
import { taskArithmetic } from "./methods/task-arithmetic.js";
import { ties } from "./methods/ties.js";
import { tsvM } from "./methods/tsv-m.js";
import { wudi } from "./methods/wudi.js";
import { MERGE_METHOD_IDS, type MergeMethodId } from "./spec.js";

const METHODS: Readonly<Record<MergeMethodId, MergeMethod>> = {
  linear,
  uniform,
  task_arithmetic: taskArithmetic,
  ties,
  dare_linear: dareLinear,
  dare_ties: dareTies,
  slerp,
  model_stock: modelStock,
  regmean,
  fisher,
  tsv_m: tsvM,
  iso_c: isoC,
  iso_cts: isoCts,
  wudi,
  regmean_plusplus: regmeanPlusPlus,
};

export function isMergeMethodId(id: string): id is MergeMethodId {
  return (MERGE_METHOD_IDS as readonly string[]).includes(id);
}

export function getMergeMethod(id: string): MergeMethod {
  if (!isMergeMethodId(id)) {
    throw new UsageError(`Unknown merge method "${id}"; expected one of ${MERGE_METHOD_IDS.join(", ")}`);
  }
  return METHODS[id];
}

export function listMergeMethods(): MergeMethod[] {
  return MERGE_METHOD_IDS.map((id) => METHODS[id]);
}
