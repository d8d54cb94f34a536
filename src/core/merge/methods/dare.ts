import type { MergeMethod, MethodInput, ParamDef } from "../method.js";
import { keyedRandom } from "../../random.js";
import { combineTaskVectors, dropAndRescale, taskVector } from "../task-vectors.js";
import { LAMBDA, TIES_WEIGHT, WEIGHT } from "./task-arithmetic.js";
import { DENSITY } from "./ties.js";

const DARE_PARAMS: readonly ParamDef[] = [
  { name: "normalize", kind: "boolean", default: false, description: "Divide by the sum of the (agreeing) weights." },
  { name: "rescale", kind: "boolean", default: true, description: "Divide kept entries by density = 1 − p." },
  LAMBDA,
  {
    name: "seed",
    kind: "number",
    default: 0,
    description: "Seed of the drop masks (with the tensor name and model index).",
  },
];

/** The drop mask of model `index` on `tensor` depends only on the seed, the tensor's name and the index. */
export function dareRandom(seed: number, tensor: string, index: number): () => number {
  return keyedRandom(`dare\u0000${seed}\u0000${tensor}\u0000${index}`);
}

function dare(input: MethodInput, consensus: boolean): Float32Array {
  const base = input.base!;
  const seed = input.params.seed as number;
  const rescale = input.params.rescale as boolean;
  const deltas = input.models.map((m, i) =>
    dropAndRescale(
      taskVector(m, base),
      input.modelParams[i]!.density!,
      rescale,
      dareRandom(seed, input.tensor.name, i),
    ),
  );
  return combineTaskVectors(
    base,
    deltas,
    input.modelParams.map((p) => p.weight!),
    {
      consensus,
      normalize: input.params.normalize as boolean,
      lambda: input.params.lambda as number,
    },
  );
}

/** DARE drops (probability p = 1 − density, rescaled), then task arithmetic. */
export const dareLinear: MergeMethod = {
  id: "dare_linear",
  mergekit: true,
  label: "DARE (linear)",
  reference: "https://arxiv.org/abs/2311.03099",
  base: "required",
  minModels: 1,
  maxModels: Infinity,
  scope: "tensor",
  globalParams: DARE_PARAMS,
  modelParams: [WEIGHT, DENSITY],
  merge: (input) => dare(input, false),
};

/** DARE drops, then TIES sign election. */
export const dareTies: MergeMethod = {
  id: "dare_ties",
  mergekit: true,
  label: "DARE (TIES)",
  reference: "https://arxiv.org/abs/2311.03099",
  base: "required",
  minModels: 1,
  maxModels: Infinity,
  scope: "tensor",
  globalParams: DARE_PARAMS,
  modelParams: [TIES_WEIGHT, DENSITY],
  merge: (input) => dare(input, true),
};
