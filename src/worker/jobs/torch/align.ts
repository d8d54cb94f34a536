/**
 * `--align` on PyTorch models: the engine traces the model's graph (engine.py `structure`), core/align derives its
 * permutation groups (torch-symmetry.ts) and finds each ingredient's permutations (weight matching, or activation
 * matching on correlations the engine measures), the permutations are applied to the tensors here, and the engine
 * is handed the aligned ingredients. Every soup of the job after that is a soup of the aligned models.
 */
import { resolve } from "node:path";
import {
  isIdentity,
  maximiseAssignment,
  reorderTensor,
  tensorReorders,
  torchPermutationSymmetry,
  weightMatching,
  type AlignmentPlan,
  type NamedTensor,
  type Permutations,
  type TorchAlignmentPlan,
} from "../../../core/align/index.js";
import { ModelFileError, UsageError } from "../../../core/errors.js";
import type { JobContext } from "../../../core/job-context.js";
import type { AlignmentReport, AlignOptions, LossChoice, PairMergeability } from "../../../protocol/worker.js";
import { ACTIVATION_ROWS } from "../../align/activation-matching.js";
import type { AlignmentOutcome } from "../../align/align-problem.js";
import { weightCosine } from "../../evaluate/mergeability.js";
import { metricPair } from "../../evaluate/score.js";
import type { IngredientTensors, TorchEngine } from "../../torch/torch-engine.js";
import { modelLabel } from "../session/report.js";
import { engineMergeability, scoreWrittenOnTest, uniformEngineSoup, writeEngineSoup } from "./rows.js";
import type { TorchJobData } from "./data.js";
import { torchObjective } from "./task.js";
import type { DatasetTask } from "../../../core/data/dataset.js";
import { alignmentReport } from "../../align/alignment-report.js";

/** A PyTorch alignment: the outcome the TF.js reports take, and the plan with its probes' channel axes. */
export interface TorchAlignment extends AlignmentOutcome {
  readonly torchPlan: TorchAlignmentPlan;
}

/** Far below any correlation that tells units apart (activation-matching.ts's rule). */
const TIE_BREAK = 1e-6;

/** An ingredient's floating tensors by name, as weight matching takes them. */
function named(ingredient: IngredientTensors): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const t of ingredient.tensors)
    if (t.data instanceof Float32Array) out.set(t.name, { shape: t.shape, data: t.data });
  return out;
}

/** The ingredient with its units permuted; integer tensors (num_batches_tracked) are in no group and stay. */
export function permuteIngredient(
  ingredient: IngredientTensors,
  plan: AlignmentPlan,
  permutations: Permutations,
): IngredientTensors {
  const shapes = new Map(ingredient.tensors.map((t) => [t.name, t.shape]));
  const reorders = tensorReorders(plan, permutations, shapes);
  return {
    file: ingredient.file,
    tensors: ingredient.tensors.map((t) => {
      const reorder = reorders.get(t.name);
      return reorder === undefined ? t : { ...t, data: reorderTensor(t.data, t.shape, reorder) };
    }),
  };
}

/** Activation matching: per group, the assignment of largest summed correlation over the group's probes. */
async function activationPermutations(
  engine: TorchEngine,
  torchPlan: TorchAlignmentPlan,
  reference: number,
  other: number,
): Promise<Permutations> {
  const probes = [...torchPlan.probeAxes] as Array<[string, number]>;
  const matrices = await engine.correlate(reference, other, probes, ACTIVATION_ROWS);
  const byNode = new Map(probes.map(([name], k) => [name, matrices[k]!]));
  const channelsOf = new Map(probes.map(([name], k) => [name, Math.round(Math.sqrt(matrices[k]!.length))]));
  const permutations: Permutations = {};
  for (const group of torchPlan.plan.groups) {
    const n = group.size;
    const score = new Float64Array(n * n);
    for (const p of group.probes) {
      const m = byNode.get(p.layer)!;
      const c = channelsOf.get(p.layer)!;
      for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) score[j * n + i] += m[(p.offset + j) * c + p.offset + i]!;
    }
    // Units that never vary (dead ReLUs) correlate with nothing: among such ties, leave units where they are.
    for (let j = 0; j < n; j++) score[j * n + j] += TIE_BREAK;
    permutations[group.id] = maximiseAssignment(score, n);
  }
  return permutations;
}

export interface TorchAlignParams {
  readonly models: readonly string[];
  readonly base?: string;
  readonly seed: number;
  readonly labels: DatasetTask;
  readonly loss?: LossChoice;
  readonly outputUnits: number;
}

/**
 * Aligns the session's ingredients to a reference and hands the engine the aligned ones. Returns them with the
 * outcome (report, recipe). `labelled`: validation and test hold labelled rows (barriers, the reference by
 * validation loss, the models-as-given uniform soup's test score).
 */
export async function alignTorchIngredients(
  engine: TorchEngine,
  ingredients: readonly IngredientTensors[],
  data: TorchJobData,
  align: AlignOptions,
  params: TorchAlignParams,
  context: JobContext,
): Promise<{ ingredients: IngredientTensors[]; alignment: TorchAlignment }> {
  const { models } = params;
  if (params.base !== undefined)
    throw new UsageError("--align does not apply with --base: task vectors already share the base's basin");
  const n = ingredients.length;
  const nodes = await engine.structure();
  const shapes = new Map(ingredients[0]!.tensors.map((t) => [t.name, t.shape]));
  const torchPlan = torchPermutationSymmetry(nodes, shapes);
  const plan = torchPlan.plan;
  for (const f of plan.fixed)
    context.log("info", `alignment: "${f.layer}" (${f.className}) keeps its neighbours' units in place: ${f.reason}`);
  if (plan.groups.length === 0)
    throw new ModelFileError(
      models[0]!,
      `--align found no hidden units it can permute in this architecture (${plan.fixed.map((f) => `${f.layer}: ${f.reason}`).join("; ") || "no hidden layers"})`,
    );
  const { validation, test } = data.split;
  const labelled = validation.y !== undefined && validation.xShape[0]! > 0 && test.y !== undefined;
  const objective = labelled ? torchObjective("supervised", params.labels, params.outputUnits, params.loss) : undefined;
  const labels = models.map(modelLabel);
  const measure = (current: readonly IngredientTensors[]) =>
    engineMergeability(engine, objective!, current, models, labels).then((m) => m.pairs);
  const before: PairMergeability[] | undefined = labelled ? await measure(ingredients) : undefined;
  let unalignedUniform;
  if (objective !== undefined) {
    const uniform = await uniformEngineSoup(engine, objective, true);
    await writeEngineSoup(engine, uniform.soup);
    unalignedUniform = metricPair(await scoreWrittenOnTest(engine, objective.task, test, true));
  }

  let reference = 0;
  let referenceChosenBy: AlignmentReport["referenceChosenBy"] = "first";
  if (align.reference !== undefined) {
    reference = models.findIndex((m) => resolve(m) === resolve(align.reference!));
    if (reference < 0) throw new UsageError(`the reference ${align.reference} is not one of the models to align`);
    referenceChosenBy = "user";
  } else if (before !== undefined) {
    const losses = Array.from({ length: n }, (_, i) => {
      const p = before.find((q) => q.a === models[i] || q.b === models[i])!;
      return p.a === models[i] ? p.endpointLoss[0] : p.endpointLoss[1];
    });
    reference = losses.indexOf(Math.min(...losses));
    referenceChosenBy = "validation";
  }

  const permutations: Permutations[] = Array.from({ length: n }, () => ({}));
  for (let i = 0; i < n; i++) {
    if (i === reference) continue;
    const found =
      align.method === "activation"
        ? await activationPermutations(engine, torchPlan, reference, i)
        : weightMatching(plan, named(ingredients[reference]!), named(ingredients[i]!), { seed: params.seed })
            .permutations;
    permutations[i] = Object.fromEntries(Object.entries(found).filter(([, p]) => !isIdentity(p)));
  }
  const aligned = ingredients.map((ing, i) => permuteIngredient(ing, plan, permutations[i]!));
  await engine.replaceIngredients(aligned);
  const after = labelled ? await measure(aligned) : undefined;

  const floats = (ing: IngredientTensors) => [...named(ing).values()].map((t) => t.data);
  const pairs: AlignmentReport["pairs"] = [];
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const pb = before?.find((p) => p.a === models[a] && p.b === models[b]);
      const pa = after?.find((p) => p.a === models[a] && p.b === models[b]);
      pairs.push({
        a: models[a]!,
        b: models[b]!,
        cosineBefore: weightCosine(floats(ingredients[a]!), floats(ingredients[b]!)),
        cosineAfter: weightCosine(floats(aligned[a]!), floats(aligned[b]!)),
        ...(pb ? { barrierBefore: pb.barrier } : {}),
        ...(pa ? { barrierAfter: pa.barrier } : {}),
      });
    }
  }
  const report = alignmentReport({ align, models, reference, referenceChosenBy, plan, permutations, pairs });
  const groups = plan.groups.map(({ id, size, members }) => ({ id, size, members }));
  return {
    ingredients: aligned,
    alignment: {
      reference,
      plan,
      torchPlan,
      permutations,
      report,
      ...(unalignedUniform !== undefined ? { unalignedUniform } : {}),
      recipe: { method: align.method, reference: models[reference]!, permutations, groups },
    },
  };
}
