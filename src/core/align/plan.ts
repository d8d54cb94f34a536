/** The types of an alignment: permutation groups over a model's tensors, and the permutations found. */

/**
 * Where a group's units sit along one axis of one tensor: unit u occupies the indices
 * `offset + u·width + j + k·period` for j in [0, width) and k in [0, count). Covers a plain axis (count 1), gate
 * blocks of an LSTM/GRU (period = units, count = gates), a Flatten after a convolution (period = channels,
 * count = spatial positions), a Concatenate block (offset) and the outputs of a depthwise convolution with a
 * depth multiplier (width = multiplier: each input channel's block of outputs moves as one).
 */
export interface AxisMember {
  tensor: string;
  axis: number;
  offset: number;
  period: number;
  count: number;
  /** Consecutive indices per unit; 1 when absent. */
  width?: number;
}

/** Where a group's units can be observed when the model runs: channels `offset + u` of a layer's output. */
export interface Probe {
  layer: string;
  offset: number;
}

/** Units that can be reordered together without changing what the model computes. */
export interface PermutationGroup {
  /** Named after the layer that makes the units (the first one, for groups joined by a residual Add). */
  id: string;
  size: number;
  members: AxisMember[];
  probes: Probe[];
}

/** A layer whose symmetry is not handled: its neighbours' units stay where they are. */
export interface FixedLayer {
  layer: string;
  className: string;
  reason: string;
}

export interface AlignmentPlan {
  groups: PermutationGroup[];
  fixed: FixedLayer[];
}

/** Group id → permutation: unit j of the aligned model is unit perm[j] of the original. */
export type Permutations = Record<string, number[]>;
