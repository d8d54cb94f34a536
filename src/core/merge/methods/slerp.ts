import type { MergeMethod, MethodInput } from "../method.js";

/** |cos| above which two tensors count as colinear and are interpolated linearly (mergekit's threshold). */
export const SLERP_DOT_THRESHOLD = 0.9995;
const NORM_EPS = 1e-8;

/**
 * Spherical interpolation from v0 (t = 0) to v1 (t = 1), as mergekit: the angle is taken between the
 * flattened tensors, the result mixes the un-normalized tensors with the slerp coefficients, and nearly
 * colinear (or anti-colinear) tensors fall back to (1 − t)·v0 + t·v1.
 */
export function slerpValues(t: number, v0: Float32Array, v1: Float32Array): Float32Array {
  let n0 = 0;
  let n1 = 0;
  let dot = 0;
  for (let j = 0; j < v0.length; j++) {
    n0 += v0[j]! * v0[j]!;
    n1 += v1[j]! * v1[j]!;
    dot += v0[j]! * v1[j]!;
  }
  n0 = Math.sqrt(n0);
  n1 = Math.sqrt(n1);
  // mergekit leaves a vector of norm <= eps un-normalized.
  const cos = dot / (n0 > NORM_EPS ? n0 : 1) / (n1 > NORM_EPS ? n1 : 1);
  let s0: number;
  let s1: number;
  if (Math.abs(cos) > SLERP_DOT_THRESHOLD) {
    s0 = 1 - t;
    s1 = t;
  } else {
    const theta0 = Math.acos(cos);
    const sinTheta0 = Math.sin(theta0);
    s0 = Math.sin(theta0 - theta0 * t) / sinTheta0;
    s1 = Math.sin(theta0 * t) / sinTheta0;
  }
  const out = new Float32Array(v0.length);
  for (let j = 0; j < v0.length; j++) out[j] = s0 * v0[j]! + s1 * v1[j]!;
  return out;
}

/** SLERP between the base (t = 0) and the one other model (t = 1). */
export const slerp: MergeMethod = {
  id: "slerp",
  mergekit: true,
  label: "SLERP",
  reference: "https://en.wikipedia.org/wiki/Slerp",
  base: "required",
  minModels: 1,
  maxModels: 1,
  scope: "tensor",
  globalParams: [
    { name: "t", kind: "number", description: "Interpolation factor: 0 gives the base, 1 the other model." },
  ],
  modelParams: [],
  merge(input: MethodInput): Float32Array {
    return slerpValues(input.params.t as number, input.base!, input.models[0]!);
  },
};
