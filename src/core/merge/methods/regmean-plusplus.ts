/**
 * RegMean++ (Nguyen et al. 2025, "RegMean++: Enhancing Effectiveness and Generalization of Regression Mean for
 * Model Merging"): RegMean whose Gram matrix of layer l is taken on the inputs that the MERGED model's earlier layers
 * produce, merged layer by layer from the input up, instead of on each ingredient's own features. The kernel is
 * RegMean's; the difference is in the statistics, which the worker gathers (src/worker/stats/). Tensors that are
 * not the kernel of a linear map are plainly averaged.
 */
import type { MergeMethod, MethodInput } from "../method.js";
import { uniformAverage } from "./linear.js";
import { regmean, regmeanKernel } from "./regmean.js";

export const regmeanPlusPlus: MergeMethod = {
  ...regmean,
  id: "regmean_plusplus",
  label: "RegMean++",
  reference: "https://arxiv.org/abs/2508.03121",
  merge(input: MethodInput): Float32Array {
    const grams = input.statistics?.gram;
    if (grams === undefined) return uniformAverage(input.models, input.tensor.name);
    return regmeanKernel(
      input.tensor.shape,
      input.models,
      grams,
      input.params.alpha as number,
      input.tensor.name,
      input.warn,
    );
  },
};
