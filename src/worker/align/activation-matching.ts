/**
 * Activation matching: a unit of model B is matched with the unit of reference A whose activations on the same
 * inputs correlate best with its own (Pearson correlation, summed over every place the group's units appear).
 * Activations are the models' own, whatever their unit order, so one linear assignment per group suffices.
 */
import * as tf from "@tensorflow/tfjs";
import { maximiseAssignment, type AlignmentPlan, type Permutations } from "../../core/align/index.js";
import { ranges, sliceRows } from "../learn/batches.js";
import type { Cancellation } from "../../core/cancellation.js";
import type { SoupProblem } from "../learn/problem.js";
import { nextStep } from "../learn/yield.js";
import { MixWriter, singleMix } from "../evaluate/soup.js";

/** Samples of the data whose activations are measured (each position of a convolution then counts as a row). */
export const ACTIVATION_ROWS = 1024;

/** Every probed layer's outputs for ingredient i, flattened to [rows, channels]. */
async function layerActivations(
  problem: SoupProblem,
  writer: MixWriter,
  probe: tf.LayersModel,
  layers: readonly string[],
  i: number,
  x: tf.Tensor,
  cancel?: Cancellation,
): Promise<Map<string, tf.Tensor2D>> {
  await writer.write(singleMix(problem.ingredients.length, i));
  const parts: tf.Tensor2D[][] = layers.map(() => []);
  for (const [start, end] of ranges(x.shape[0]!, 256)) {
    await nextStep(cancel);
    const outputs = tf.tidy(() => {
      const out = probe.predict(sliceRows(x, start, end));
      return (Array.isArray(out) ? out : [out]).map(
        (t) => t.reshape([-1, t.shape[t.shape.length - 1]!]) as tf.Tensor2D,
      );
    });
    outputs.forEach((t, k) => parts[k]!.push(t));
  }
  const result = new Map<string, tf.Tensor2D>();
  layers.forEach((name, k) => {
    result.set(name, parts[k]!.length === 1 ? parts[k]![0]! : (tf.concat(parts[k]!) as tf.Tensor2D));
    if (parts[k]!.length > 1) tf.dispose(parts[k]!);
  });
  return result;
}

/** Columns standardised to mean 0 and norm 1 (a constant column stays 0). */
function standardise(t: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const centred = t.sub(t.mean(0));
    const norm = centred.square().sum(0).sqrt().add(1e-8);
    return centred.div(norm) as tf.Tensor2D;
  });
}

/** Far below any correlation that tells units apart (a correlation is at most 1 per probe). */
const TIE_BREAK = 1e-6;

export interface ActivationMatcher {
  /** B's permutations that match its units to the reference's. */
  match(other: number): Promise<Permutations>;
  dispose(): void;
}

/** Measures the reference's activations once; `match` aligns each other ingredient to them. */
export async function activationMatcher(
  problem: SoupProblem,
  plan: AlignmentPlan,
  reference: number,
  data: tf.Tensor,
  cancel?: Cancellation,
): Promise<ActivationMatcher> {
  const layers = [...new Set(plan.groups.flatMap((g) => g.probes.map((p) => p.layer)))];
  const probe = tf.model({
    inputs: problem.model.inputs,
    outputs: layers.map((name) => problem.model.getLayer(name).output as tf.SymbolicTensor),
  });
  const rows = Math.min(data.shape[0]!, ACTIVATION_ROWS);
  const x = sliceRows(data, 0, rows);
  const writer = new MixWriter(problem);
  const standardised = async (i: number) => {
    const raw = await layerActivations(problem, writer, probe, layers, i, x, cancel);
    const out = new Map([...raw].map(([name, t]) => [name, standardise(t)]));
    tf.dispose([...raw.values()]);
    return out;
  };
  const ref = await standardised(reference);
  return {
    async match(other) {
      const own = await standardised(other);
      try {
        const permutations: Permutations = {};
        for (const group of plan.groups) {
          const n = group.size;
          const correlation = tf.tidy(() => {
            let sum: tf.Tensor2D = tf.zeros([n, n]);
            for (const p of group.probes) {
              const a = ref.get(p.layer)!.slice([0, p.offset], [-1, n]);
              const b = own.get(p.layer)!.slice([0, p.offset], [-1, n]);
              sum = sum.add(tf.matMul(a, b, true, false));
            }
            return sum;
          });
          const score = Float64Array.from(correlation.dataSync());
          correlation.dispose();
          // Units that never vary (dead ReLUs) correlate with nothing: among such ties, leave units where they are.
          for (let j = 0; j < n; j++) score[j * n + j] += TIE_BREAK;
          permutations[group.id] = maximiseAssignment(score, n);
        }
        return permutations;
      } finally {
        tf.dispose([...own.values()]);
      }
    },
    dispose() {
      tf.dispose([...ref.values()]);
      writer.dispose();
      if (x !== data) x.dispose();
    },
  };
}
