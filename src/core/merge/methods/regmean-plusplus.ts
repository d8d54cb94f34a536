/**
 * RegMean++ (Nguyen et al. 2025, "RegMean++: Enhancing Effectiveness and Generalization of Regression Mean for
 * Model Merging"): RegMean whose Gram matrix of layer l is taken on the inputs that the MERGED model's earlier layers
 * produce, merged layer by layer from the input up, instead of on each ingredient's own features. The kernel is
 * RegMean's; the difference is in the statistics, which the worker gathers (src/worker/stats/). Tensors that are
 * not the kernel of a linear map are plainly averaged.
 */
import type { MergeMethod } from "../method.js";
import { regmean, regmeanMerge } from "./regmean.js";

export const regmeanPlusPlus: MergeMethod = {
  ...regmean,
  id: "regmean_plusplus",
  label: "RegMean++",
  reference: "https://arxiv.org/abs/2508.03121",
  merge: regmeanMerge,
};
