export type { AlignmentPlan, AxisMember, FixedLayer, PermutationGroup, Permutations, Probe } from "./plan.js";
export { permutationSymmetry } from "./symmetry.js";
export {
  checkPermutation,
  identity,
  isIdentity,
  permuteTensors,
  reorderTensor,
  tensorReorders,
  type TensorReorder,
} from "./permute.js";
export { assignmentScore, maximiseAssignment } from "./assignment.js";
export {
  weightMatching,
  type NamedTensor,
  type WeightMatchingOptions,
  type WeightMatchingResult,
} from "./weight-matching.js";
export {
  torchPermutationSymmetry,
  type TorchAlignmentPlan,
  type TorchGraphNode,
  type TorchNodeKind,
  type TorchUnitMaker,
} from "./torch-symmetry.js";
