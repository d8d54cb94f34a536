/**
 * The permutation symmetry of a PyTorch model, from the torch.fx graph its engine traces (engine.py `structure`):
 * which hidden units can be reordered, with every state-dict tensor that writes or reads them, without changing
 * the function. The weight search (weight-matching.ts) and the permuting (permute.ts) are the Keras path's own.
 *
 * PyTorch layouts: Linear weight [out, in] (units on the last axis of its output), convolution weight
 * [out, in, k…] and BatchNorm over dim 1 (channels-first); a flatten of [N, C, S…] puts channel c at
 * c·S … c·S + S − 1, so a unit there is a block of S consecutive inputs of the next Linear.
 */
import { GroupSets } from "./group-sets.js";
import type { AlignmentPlan, FixedLayer } from "./plan.js";

/** What a node does to the channel axis, as the engine classifies it (engine.py traced_node). */
export type TorchNodeKind =
  | "input"
  | "output"
  | "constant"
  | "linear"
  | "conv"
  | "batchnorm"
  | "layernorm"
  | "elementwise"
  | "pool"
  | "flatten"
  | "merge"
  | "cat"
  | "other";

export interface TorchGraphNode {
  name: string;
  kind: TorchNodeKind;
  /** The nodes whose tensors it takes, in order (numbers and sizes left out). */
  inputs: string[];
  /** Its output's shape on one row (batch first); null when it is no tensor. */
  shape: number[] | null;
  /** For messages: "fc1 (Linear)", "function relu". */
  what: string;
  /** A module's path: its tensors are `<module>.weight`, `<module>.bias`, … */
  module?: string;
  bias?: boolean;
  groups?: number;
  affine?: boolean;
  tracked?: boolean;
  startDim?: number;
  endDim?: number;
  dim?: number | null;
}

/** Units of one group along a tensor's channel axis: unit u at `offset + u·width + j`, j < width. */
interface Segment {
  group: number;
  offset: number;
  size: number;
  width: number;
}

/** What a node's output carries: its channel axis, and which groups' units sit where along it. */
interface Channels {
  shape: readonly number[];
  axis: number;
  segments: Segment[];
}

/** A Linear or convolution that makes a group's units, in graph order (REPAIR rescales its output units). */
export interface TorchUnitMaker {
  node: string;
  module: string;
  /** Its output's channel axis. */
  axis: number;
  weight: string;
  bias?: string;
}

export interface TorchAlignmentPlan {
  plan: AlignmentPlan;
  /** The layers that make units of the plan's groups, in graph order. */
  makers: TorchUnitMaker[];
  /** The channel axis of every node a group is probed at (the engine's correlate and moments need it). */
  probeAxes: Map<string, number>;
}

class Unhandled extends Error {}

/** Kinds whose module owns tensors: called twice, one tensor would need two orders. */
const WITH_TENSORS = new Set<TorchNodeKind>(["linear", "conv", "batchnorm", "layernorm"]);

const product = (values: readonly number[]) => values.reduce((a, b) => a * b, 1);

/**
 * The permutation groups of a traced PyTorch model. `shapes`: every state-dict tensor's shape by name. The model's
 * inputs and outputs never move; a node whose effect on the channels is not known fixes the groups it reads
 * (they stay the identity) and is named in `fixed`.
 */
export function torchPermutationSymmetry(
  nodes: readonly TorchGraphNode[],
  shapes: ReadonlyMap<string, readonly number[]>,
): TorchAlignmentPlan {
  const sets = new GroupSets();
  const outputs = new Map<string, Channels | undefined>();
  const fixed: FixedLayer[] = [];
  const probeAxes = new Map<string, number>();
  const makers: Array<TorchUnitMaker & { group: number }> = [];
  const uses = new Map<string, number>();
  for (const node of nodes) if (node.module !== undefined) uses.set(node.module, (uses.get(node.module) ?? 0) + 1);

  const fixAll = (channels: Channels | undefined) => channels?.segments.forEach((s) => sets.fix(s.group));
  const tensor = (module: string, name: string): { name: string; shape: readonly number[] } => {
    const full = module === "" ? name : `${module}.${name}`;
    const shape = shapes.get(full);
    if (!shape) throw new Unhandled(`its tensor "${full}" is not in the state dict`);
    return { name: full, shape };
  };
  /** A tensor whose `axis` reads (or, for BatchNorm, scales) the channels of `input`. */
  const reads = (input: Channels | undefined, t: { name: string; shape: readonly number[] }, axis: number) => {
    if (!input || input.segments.length === 0) return;
    const channels = input.shape[input.axis]!;
    if (t.shape[axis] !== channels)
      throw new Unhandled(`its tensor "${t.name}" has ${t.shape[axis]} inputs where ${channels} channels arrive`);
    for (const s of input.segments) {
      sets.members[s.group]!.push({
        tensor: t.name,
        axis,
        offset: s.offset,
        period: channels,
        count: 1,
        ...(s.width !== 1 ? { width: s.width } : {}),
      });
    }
  };
  const shapeOf = (node: TorchGraphNode): number[] => {
    if (node.shape === null) throw new Unhandled("its output is not a tensor");
    return node.shape;
  };
  const single = (inputs: Array<Channels | undefined>): Channels | undefined => {
    if (inputs.length !== 1) throw new Unhandled(`it takes ${inputs.length} tensors`);
    return inputs[0];
  };
  const onAxis = (input: Channels | undefined, axis: (rank: number) => number, what: string) => {
    if (input && input.segments.length > 0 && input.axis !== axis(input.shape.length))
      throw new Unhandled(`it ${what} along another axis than the one its input's units are on`);
  };
  /** A module that makes units: a group of `size` along `axis` of its output, written by `members`. */
  const newUnits = (node: TorchGraphNode, size: number, axis: number): Channels => {
    const group = sets.create(node.module!, size, { layer: node.name, offset: 0 });
    probeAxes.set(node.name, axis);
    return { shape: shapeOf(node), axis, segments: [{ group, offset: 0, size, width: 1 }] };
  };
  const maker = (node: TorchGraphNode, c: Channels, weight: string) =>
    makers.push({
      node: node.name,
      module: node.module!,
      axis: c.axis,
      weight,
      ...(node.bias ? { bias: `${node.module}.bias` } : {}),
      group: c.segments[0]!.group,
    });
  const writes = (c: Channels, t: { name: string; shape: readonly number[] }) =>
    sets.members[c.segments[0]!.group]!.push({ tensor: t.name, axis: 0, offset: 0, period: t.shape[0]!, count: 1 });

  const visit = (node: TorchGraphNode, inputs: Array<Channels | undefined>): Channels | undefined => {
    if (node.module !== undefined && WITH_TENSORS.has(node.kind) && (uses.get(node.module) ?? 0) > 1)
      throw new Unhandled(`it is called ${uses.get(node.module)} times (shared modules are not handled)`);
    switch (node.kind) {
      case "input": {
        const shape = shapeOf(node);
        return { shape, axis: 1, segments: [] };
      }
      case "constant":
        return undefined;
      case "linear": {
        const input = single(inputs);
        onAxis(input, (r) => r - 1, "reads features");
        const weight = tensor(node.module!, "weight");
        if (weight.shape.length !== 2) throw new Unhandled("its weight is not a matrix");
        reads(input, weight, 1);
        const out = shapeOf(node);
        const units = newUnits(node, weight.shape[0]!, out.length - 1);
        writes(units, weight);
        if (node.bias) writes(units, tensor(node.module!, "bias"));
        maker(node, units, weight.name);
        return units;
      }
      case "conv": {
        const input = single(inputs);
        onAxis(input, () => 1, "convolves");
        const weight = tensor(node.module!, "weight");
        const out = shapeOf(node);
        const groups = node.groups ?? 1;
        if (groups !== 1) {
          // A depthwise convolution (one filter per channel) carries its input's units through; others are grouped.
          if (!(weight.shape[1] === 1 && weight.shape[0] === groups && input?.shape[1] === groups))
            throw new Unhandled(`it is a grouped convolution (groups=${groups})`);
          reads(input, weight, 0);
          if (node.bias) reads(input, tensor(node.module!, "bias"), 0);
          return input && { ...input, shape: out };
        }
        reads(input, weight, 1);
        const units = newUnits(node, weight.shape[0]!, 1);
        writes(units, weight);
        if (node.bias) writes(units, tensor(node.module!, "bias"));
        maker(node, units, weight.name);
        return units;
      }
      case "batchnorm": {
        const input = single(inputs);
        onAxis(input, () => 1, "normalises");
        const names = [
          ...(node.affine ? ["weight", "bias"] : []),
          ...(node.tracked ? ["running_mean", "running_var"] : []),
        ];
        for (const name of names) reads(input, tensor(node.module!, name), 0);
        return input && { ...input, shape: shapeOf(node) };
      }
      case "layernorm": {
        const input = single(inputs);
        onAxis(input, (r) => r - 1, "normalises");
        if (input && input.segments.length > 0 && input.axis !== input.shape.length - 1)
          throw new Unhandled("it normalises along another axis than the units'");
        if (node.affine) for (const name of ["weight", "bias"]) reads(input, tensor(node.module!, name), 0);
        return input && { ...input, shape: shapeOf(node) };
      }
      case "elementwise": {
        const input = single(inputs);
        if (input && input.segments.some((s) => s.width === 1)) {
          for (const s of input.segments)
            if (s.width === 1) sets.probes[s.group]!.push({ layer: node.name, offset: s.offset });
          probeAxes.set(node.name, input.axis);
        }
        return input && { ...input, shape: shapeOf(node) };
      }
      case "pool": {
        const input = single(inputs);
        if (input && input.segments.length > 0 && (input.axis !== 1 || input.shape.length < 3))
          throw new Unhandled("it pools a tensor whose units are not on dim 1 of [N, C, …]");
        return input && { ...input, shape: shapeOf(node) };
      }
      case "flatten": {
        const input = single(inputs);
        if (!input) return undefined;
        const rank = input.shape.length;
        const start = ((node.startDim ?? 1) + rank) % rank;
        const end = ((node.endDim ?? -1) + rank) % rank;
        const out = shapeOf(node);
        if (input.segments.length === 0) return { shape: out, axis: Math.min(1, out.length - 1), segments: [] };
        if (rank === 2 && out.length === 2) return { ...input, shape: out };
        if (start !== 1 || end !== rank - 1 || input.axis !== 1)
          throw new Unhandled("it flattens other axes than [C, …] after the batch");
        const spatial = product(input.shape.slice(2));
        return {
          shape: out,
          axis: 1,
          segments: input.segments.map((s) => ({ ...s, offset: s.offset * spatial, width: s.width * spatial })),
        };
      }
      case "merge": {
        const first = inputs[0];
        const same =
          first !== undefined &&
          inputs.length >= 2 &&
          inputs.every(
            (c) =>
              c !== undefined &&
              c.axis === first.axis &&
              c.shape.length === first.shape.length &&
              c.shape[c.axis] === first.shape[first.axis] &&
              c.segments.length === first.segments.length &&
              c.segments.every(
                (s, i) =>
                  s.offset === first.segments[i]!.offset &&
                  s.size === first.segments[i]!.size &&
                  s.width === first.segments[i]!.width,
              ),
          );
        if (!same)
          throw new Unhandled("its inputs do not carry the same units (an input, a constant, or other branches)");
        for (const c of inputs.slice(1)) c!.segments.forEach((s, i) => sets.join(first.segments[i]!.group, s.group));
        return { ...first, shape: shapeOf(node) };
      }
      case "cat": {
        const defined = inputs.filter((c): c is Channels => c !== undefined);
        if (defined.length !== inputs.length || defined.length === 0)
          throw new Unhandled("one of its inputs has no known channels");
        const rank = defined[0]!.shape.length;
        const dim = node.dim === null || node.dim === undefined ? Number.NaN : (node.dim + rank) % rank;
        if (defined.some((c) => c.axis !== dim || c.shape.length !== rank))
          throw new Unhandled("it concatenates along another axis than the units'");
        let offset = 0;
        const segments: Segment[] = [];
        for (const c of defined) {
          for (const s of c.segments) segments.push({ ...s, offset: offset + s.offset });
          offset += c.shape[c.axis]!;
        }
        return { shape: shapeOf(node), axis: dim, segments };
      }
      case "output":
        // What the user reads: its units keep their order.
        inputs.forEach(fixAll);
        return undefined;
      default:
        throw new Unhandled("what it does to the channels is not known");
    }
  };

  for (const node of nodes) {
    const inputs = node.inputs.map((name) => outputs.get(name));
    try {
      outputs.set(node.name, visit(node, inputs));
    } catch (error) {
      if (!(error instanceof Unhandled)) throw error;
      inputs.forEach(fixAll);
      fixed.push({ layer: node.module ?? node.name, className: node.what, reason: error.message });
      outputs.set(node.name, undefined);
    }
  }
  const plan = { groups: sets.groups(), fixed };
  const probed = new Set(plan.groups.flatMap((g) => g.probes.map((p) => p.layer)));
  for (const name of [...probeAxes.keys()]) if (!probed.has(name)) probeAxes.delete(name);
  const kept = new Set(plan.groups.flatMap((g) => g.probes.map((p) => p.layer)));
  return {
    plan,
    makers: makers.filter((m) => kept.has(m.node)).map(({ group: _group, ...m }) => m),
    probeAxes,
  };
}
