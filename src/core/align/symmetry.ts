/**
 * The permutation symmetry of a Keras architecture: which units of which layers can be reordered (with every
 * tensor that reads or writes them) without changing the function the model computes. Derived from the graph.
 */
import { canonicalLayerClass, TRAINING_NOISE_LAYERS } from "../keras/layers.js";
import type { LayerSpec, ModelManifest } from "../model.js";
import { GroupSets } from "./group-sets.js";
import type { AlignmentPlan, AxisMember, FixedLayer } from "./plan.js";

/** One stretch of a tensor's last (channel) axis that belongs to a group: unit u at `offset + u·width + j`, j < width. */
interface Segment {
  group: number;
  offset: number;
  size: number;
  /** Channels per unit (after a depthwise convolution with a depth multiplier); 1 when absent. */
  width?: number;
}

/** What the channel axis of a layer's output holds. Positions in no segment never move. */
interface Channels {
  channels: number;
  segments: Segment[];
  /** Rank of the tensor (batch included), when known. */
  rank?: number;
  /** After a Flatten: the channel pattern repeats over the flattened positions. */
  flattened?: boolean;
}

/** Layers that act on each channel alike (or on each channel separately): the channel axis passes through. */
const PASS_THROUGH = new Set([
  "Activation",
  ...TRAINING_NOISE_LAYERS,
  "ReLU",
  "LeakyReLU",
  "ELU",
  "ThresholdedReLU",
  "Softmax",
  "Identity",
  "ActivityRegularization",
  "Masking",
  "MaxPooling1D",
  "MaxPooling2D",
  "MaxPooling3D",
  "AveragePooling1D",
  "AveragePooling2D",
  "AveragePooling3D",
  "ZeroPadding1D",
  "ZeroPadding2D",
  "ZeroPadding3D",
  "Cropping1D",
  "Cropping2D",
  "Cropping3D",
  "UpSampling1D",
  "UpSampling2D",
  "UpSampling3D",
]);
const GLOBAL_POOLING = new Set([
  "GlobalMaxPooling1D",
  "GlobalMaxPooling2D",
  "GlobalMaxPooling3D",
  "GlobalAveragePooling1D",
  "GlobalAveragePooling2D",
  "GlobalAveragePooling3D",
]);
const ELEMENTWISE_MERGE = new Set(["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]);
const CONVOLUTIONS = new Set(["Conv1D", "Conv2D", "Conv3D"]);
const RECURRENT_GATES: Record<string, number> = { SimpleRNN: 1, GRU: 3, LSTM: 4 };

class Unhandled extends Error {}

function isLastAxis(axis: unknown, rank: number | undefined): boolean {
  const value = Array.isArray(axis) && axis.length === 1 ? axis[0] : axis;
  return value === -1 || (rank !== undefined && value === rank - 1);
}

/** The batch shape a model input (or a Sequential's first layer) declares, when it does. */
function declaredShape(config: Record<string, unknown>): unknown[] | undefined {
  const shape = config.batch_input_shape ?? config.batch_shape ?? config.batchInputShape;
  if (Array.isArray(shape)) return shape;
  const inputShape = config.input_shape ?? config.inputShape;
  return Array.isArray(inputShape) ? [null, ...inputShape] : undefined;
}

/**
 * The permutation groups of a model. Inputs and final outputs are never permuted; a layer whose symmetry is
 * not handled fixes the groups it touches (they stay the identity) and is named in `fixed`.
 */
export function permutationSymmetry(manifest: ModelManifest): AlignmentPlan {
  const architecture = manifest.architecture;
  if (!architecture) {
    return {
      groups: [],
      fixed: [{ layer: "(whole model)", className: manifest.format, reason: "the file records no architecture" }],
    };
  }
  const shapes = new Map(manifest.tensors.map((t) => [t.name, t.shape]));
  const sets = new GroupSets();
  const outputs = new Map<string, Channels | undefined>();
  const fixed: FixedLayer[] = [];

  const fixAll = (channels: Channels | undefined) => channels?.segments.forEach((s) => sets.fix(s.group));
  const shapeOf = (name: string) => {
    const shape = shapes.get(name);
    if (!shape) throw new Unhandled(`its weight "${name}" is not in the file`);
    return shape;
  };
  /** The input axis of a weight that reads `input`'s channels. */
  const readsInput = (input: Channels | undefined, tensor: string, axis: number) => {
    if (!input || input.segments.length === 0) return;
    const length = shapeOf(tensor)[axis]!;
    const repeat = length / input.channels;
    if (!Number.isInteger(repeat) || (repeat !== 1 && !input.flattened)) {
      throw new Unhandled(`its weight "${tensor}" has ${length} inputs where ${input.channels} channels were expected`);
    }
    for (const s of input.segments) {
      sets.members[s.group]!.push({
        tensor,
        axis,
        offset: s.offset,
        period: input.channels,
        count: repeat,
        ...(s.width ? { width: s.width } : {}),
      });
    }
  };
  /** A depthwise convolution's output: input channel c becomes channels c·multiplier … c·multiplier + multiplier − 1. */
  const multiplied = (input: Channels | undefined, multiplier: number, rank: number): Channels | undefined =>
    input && {
      channels: input.channels * multiplier,
      segments: input.segments.map((s) => ({
        ...s,
        offset: s.offset * multiplier,
        width: (s.width ?? 1) * multiplier,
      })),
      rank,
    };
  const newUnits = (
    layer: LayerSpec,
    size: number,
    rank: number | undefined,
  ): { group: number; channels: Channels } => {
    const group = sets.create(layer.name, size, { layer: layer.name, offset: 0 });
    return { group, channels: { channels: size, segments: [{ group, offset: 0, size }], rank } };
  };
  const single = (inputs: Array<Channels | undefined>): Channels | undefined => {
    if (inputs.length !== 1)
      throw new Unhandled(`it is called on ${inputs.length} inputs (shared layers are not handled)`);
    return inputs[0];
  };

  const visit = (layer: LayerSpec, inputs: Array<Channels | undefined>): Channels | undefined => {
    const className = canonicalLayerClass(layer.className);
    const config = layer.config;
    if (config.data_format === "channels_first" || config.dataFormat === "channelsFirst") {
      throw new Unhandled("it is channels-first");
    }
    if (PASS_THROUGH.has(className)) {
      if (layer.weights.length > 0) throw new Unhandled("it has weights");
      return single(inputs);
    }
    if (GLOBAL_POOLING.has(className)) {
      const input = single(inputs);
      return input && { ...input, rank: config.keepdims === true ? input.rank : 2 };
    }
    if (className === "RepeatVector") {
      const input = single(inputs);
      return input && { ...input, rank: 3 };
    }
    if (className === "Flatten") {
      const input = single(inputs);
      return input && { ...input, rank: 2, flattened: input.rank !== 2 || input.flattened === true };
    }
    if (ELEMENTWISE_MERGE.has(className)) {
      const defined = inputs.filter((c): c is Channels => c !== undefined);
      const first = defined[0];
      const same =
        first !== undefined &&
        defined.length === inputs.length &&
        defined.every(
          (c) =>
            c.channels === first.channels &&
            c.segments.length === first.segments.length &&
            c.segments.every(
              (s, i) =>
                s.offset === first.segments[i]!.offset &&
                s.size === first.segments[i]!.size &&
                (s.width ?? 1) === (first.segments[i]!.width ?? 1),
            ),
        );
      if (!same)
        throw new Unhandled("its inputs do not carry the same units (an input, or differently built branches)");
      for (const c of defined.slice(1)) c.segments.forEach((s, i) => sets.join(first.segments[i]!.group, s.group));
      return {
        ...first,
        rank: defined.find((c) => c.rank !== undefined)?.rank,
        flattened: defined.some((c) => c.flattened),
      };
    }
    if (className === "Concatenate") {
      if (!isLastAxis(config.axis ?? -1, inputs[0]?.rank))
        throw new Unhandled("it concatenates along an axis other than the channels");
      if (inputs.some((c) => c === undefined || c.flattened || !(c.channels > 0)))
        throw new Unhandled("one of its inputs has no known channels");
      let offset = 0;
      const segments: Segment[] = [];
      for (const c of inputs as Channels[]) {
        for (const s of c.segments) segments.push({ ...s, offset: offset + s.offset });
        offset += c.channels;
      }
      return { channels: offset, segments, rank: inputs[0]!.rank };
    }
    const weights = layer.weights;
    if (className === "Dense") {
      const input = single(inputs);
      const [kernel, bias] = weights;
      if (!kernel || shapeOf(kernel).length !== 2) throw new Unhandled("its kernel is not a matrix");
      readsInput(input, kernel, 0);
      const { group, channels } = newUnits(layer, shapeOf(kernel)[1]!, input?.rank);
      sets.members[group]!.push({ tensor: kernel, axis: 1, offset: 0, period: channels.channels, count: 1 });
      if (bias) sets.members[group]!.push({ tensor: bias, axis: 0, offset: 0, period: channels.channels, count: 1 });
      return channels;
    }
    if (CONVOLUTIONS.has(className)) {
      const input = single(inputs);
      if (input?.flattened) throw new Unhandled("its input is flattened");
      if ((config.groups ?? 1) !== 1) throw new Unhandled("it is a grouped convolution");
      const [kernel, bias] = weights;
      const rank = kernel ? shapeOf(kernel).length : 0;
      if (!kernel || rank < 3) throw new Unhandled("its kernel has no input and output channel axes");
      readsInput(input, kernel, rank - 2);
      const { group, channels } = newUnits(layer, shapeOf(kernel)[rank - 1]!, rank);
      sets.members[group]!.push({ tensor: kernel, axis: rank - 1, offset: 0, period: channels.channels, count: 1 });
      if (bias) sets.members[group]!.push({ tensor: bias, axis: 0, offset: 0, period: channels.channels, count: 1 });
      return channels;
    }
    if (className === "DepthwiseConv1D" || className === "DepthwiseConv2D") {
      const input = single(inputs);
      const [kernel, bias] = weights;
      const rank = kernel ? shapeOf(kernel).length : 0;
      if (!kernel || rank < 3) throw new Unhandled("its kernel has no channel and depth multiplier axes");
      if (input?.flattened) throw new Unhandled("its input is flattened");
      // Each input channel's units carry through the depthwise kernel to its block of `multiplier` output channels.
      readsInput(input, kernel, rank - 2);
      const output = multiplied(input, shapeOf(kernel)[rank - 1]!, rank);
      if (bias) readsInput(output, bias, 0);
      return output;
    }
    if (className === "SeparableConv1D" || className === "SeparableConv2D") {
      const input = single(inputs);
      const [depthwise, pointwise, bias] = weights;
      const rank = depthwise ? shapeOf(depthwise).length : 0;
      if (!depthwise || !pointwise || rank < 3) throw new Unhandled("its kernels have no channel axes");
      if (input?.flattened) throw new Unhandled("its input is flattened");
      readsInput(input, depthwise, rank - 2);
      readsInput(multiplied(input, shapeOf(depthwise)[rank - 1]!, rank), pointwise, rank - 2);
      const { group, channels } = newUnits(layer, shapeOf(pointwise)[rank - 1]!, rank);
      sets.members[group]!.push({ tensor: pointwise, axis: rank - 1, offset: 0, period: channels.channels, count: 1 });
      if (bias) sets.members[group]!.push({ tensor: bias, axis: 0, offset: 0, period: channels.channels, count: 1 });
      return channels;
    }
    if (className === "BatchNormalization" || className === "LayerNormalization") {
      const input = single(inputs);
      if (!isLastAxis(config.axis ?? -1, input?.rank))
        throw new Unhandled("it normalises along an axis other than the last");
      for (const w of weights) readsInput(input, w, 0);
      return input;
    }
    if (className === "Embedding") {
      const [embeddings] = weights;
      if (!embeddings || shapeOf(embeddings).length !== 2) throw new Unhandled("its embeddings are not a matrix");
      const input = inputs[0];
      const { group, channels } = newUnits(
        layer,
        shapeOf(embeddings)[1]!,
        input?.rank === undefined ? undefined : input.rank + 1,
      );
      sets.members[group]!.push({ tensor: embeddings, axis: 1, offset: 0, period: channels.channels, count: 1 });
      return channels;
    }
    if (className in RECURRENT_GATES) {
      const input = single(inputs);
      if (config.return_state === true || config.stateful === true) {
        throw new Unhandled("it returns or keeps its state");
      }
      const gates = RECURRENT_GATES[className]!;
      const [kernel, recurrent, bias] = weights;
      if (!kernel || !recurrent || shapeOf(kernel).length !== 2) throw new Unhandled("its kernels are not matrices");
      const units = shapeOf(recurrent)[0]!;
      if (shapeOf(kernel)[1] !== gates * units || shapeOf(recurrent)[1] !== gates * units) {
        throw new Unhandled(`its kernels do not hold ${gates} gate blocks of ${units} units`);
      }
      if (input?.flattened) throw new Unhandled("its input is flattened");
      readsInput(input, kernel, 0);
      const returnSequences = config.return_sequences === true || config.returnSequences === true;
      const { group, channels } = newUnits(layer, units, returnSequences ? 3 : 2);
      const gatesOf = (tensor: string, axis: number): AxisMember => ({
        tensor,
        axis,
        offset: 0,
        period: units,
        count: gates,
      });
      sets.members[group]!.push(
        gatesOf(kernel, 1),
        { tensor: recurrent, axis: 0, offset: 0, period: units, count: 1 },
        gatesOf(recurrent, 1),
      );
      if (bias) sets.members[group]!.push(gatesOf(bias, shapeOf(bias).length - 1));
      return channels;
    }
    throw new Unhandled(
      layer.weights.length > 0 ? "its weights' symmetry is not handled" : "what it does to the channels is not handled",
    );
  };

  for (const layer of architecture.layers) {
    const isInput = canonicalLayerClass(layer.className) === "InputLayer";
    // The model's inputs (an InputLayer, or a Sequential's first layer that carries the input shape) never move.
    const shape = declaredShape(layer.config);
    const last = shape?.[shape.length - 1];
    const modelInput: Channels = {
      channels: typeof last === "number" ? last : Number.NaN,
      segments: [],
      rank: shape?.length,
    };
    const inputs =
      layer.inbound.length === 0 && !isInput ? [modelInput] : layer.inbound.map((name) => outputs.get(name));
    try {
      outputs.set(layer.name, isInput ? modelInput : visit(layer, inputs));
    } catch (error) {
      if (!(error instanceof Unhandled)) throw error;
      inputs.forEach(fixAll);
      fixed.push({ layer: layer.name, className: layer.className, reason: error.message });
      outputs.set(layer.name, undefined);
    }
  }
  // The model's outputs are what the user reads: their units keep their order.
  for (const name of architecture.outputs) fixAll(outputs.get(name));
  return { groups: sets.groups(), fixed };
}
