import { UsageError } from "../errors.js";
import type { MergeMethod } from "./method.js";
import { dareLinear, dareTies } from "./methods/dare.js";
import { fisher } from "./methods/fisher.js";
import { linear, uniform } from "./methods/linear.js";
import { modelStock } from "./methods/model-stock.js";
import { regmean } from "./methods/regmean.js";
import { slerp } from "./methods/slerp.js";
import { taskArithmetic } from "./methods/task-arithmetic.js";
import { ties } from "./methods/ties.js";
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
