/**
 * Aligns a loaded soup problem in place: every ingredient's units are permuted to match a reference
 * ingredient's (weight or activation matching), and the report says what moved and what it changed.
 */
import { resolve } from "node:path";
import {
  isIdentity,
  reorderTensor,
  tensorReorders,
  weightMatching,
  type AlignmentPlan,
  type NamedTensor,
  type Permutations,
} from "../../core/align/index.js";
import { UsageError } from "../../core/errors.js";
import type { RecipeAlignment } from "../../core/recipe/recipe.js";
import type { AlignmentReport, AlignOptions, MetricPair } from "../../protocol/worker.js";
import { mergeability, weightCosine } from "../evaluate/mergeability.js";
import { metricPair } from "../evaluate/score.js";
import { MixWriter, uniformMix, type Mix, type SoupCandidate } from "../evaluate/soup.js";
import { scoreCurrent, settleSoup } from "../evaluate/rows.js";
import { taskFor } from "../evaluate/evaluate.js";
import { hasBatchNorm } from "../learn/batchnorm.js";
import type { Cancellation } from "../../core/cancellation.js";
import { tensorOf, type SoupData, type SoupProblem } from "../learn/problem.js";
import { activationMatcher } from "./activation-matching.js";
import { alignmentReport } from "./alignment-report.js";

export interface AlignmentData {
  learn: SoupData;
  validation: SoupData;
  test: SoupData;
}

export interface AlignmentOutcome {
  reference: number;
  plan: AlignmentPlan;
  /** Per ingredient (the reference's empty): the permutations applied, by the first model's group ids. */
  permutations: Permutations[];
  report: AlignmentReport;
  /** The uniform soup of the models as given, on the test split (labelled data only). */
  unalignedUniform?: MetricPair;
  recipe: RecipeAlignment;
}

export interface AlignProblemOptions {
  models: readonly string[];
  /** The permutation groups of the first model (src/core/align permutationSymmetry of its manifest). */
  plan: AlignmentPlan;
  /** Tensor name (in the first model) of each of the problem's variables. */
  tensorNames: readonly string[];
  trainingConfig?: unknown;
  seed?: number;
  cancel?: Cancellation;
}

function namedTensors(problem: SoupProblem, names: readonly string[], i: number): Map<string, NamedTensor> {
  return new Map(
    names.map((name, k) => [name, { shape: tensorOf(problem.variables[k]!).shape, data: problem.ingredients[i]![k]! }]),
  );
}

function referenceIndex(models: readonly string[], reference: string): number {
  const wanted = resolve(reference);
  const index = models.findIndex((m) => resolve(m) === wanted);
  if (index < 0) throw new UsageError(`the reference ${reference} is not one of the models to align`);
  return index;
}

/** Loss barrier and cosine of every pair, when the data is labelled; the ingredients' own losses too. */
async function measure(problem: SoupProblem, data: AlignmentData | undefined, options: AlignProblemOptions) {
  if (data?.validation.y === undefined) return undefined;
  const task = taskFor(problem, data.validation, { trainingConfig: options.trainingConfig });
  const batchNormData = hasBatchNorm(problem.model) ? data.learn.x : undefined;
  return mergeability(problem, data.validation, task, { batchNormData, cancel: options.cancel });
}

/**
 * A soup's score on the test split: a given mix as every row defines a soup (rows.ts: BatchNormalization statistics
 * re-estimated on the learn split when that lowers the validation loss), a candidate as it is.
 */
export async function scoreSoupOnTest(
  problem: SoupProblem,
  soup: Mix | SoupCandidate,
  data: Pick<AlignmentData, "learn" | "validation" | "test">,
  options: { trainingConfig?: unknown; cancel?: Cancellation },
): Promise<MetricPair> {
  const task = taskFor(problem, data.test, { trainingConfig: options.trainingConfig });
  const candidate = "mix" in soup ? soup : (await settleSoup(problem, soup, task, data, options)).candidate;
  const writer = new MixWriter(problem);
  try {
    await writer.writeCandidate(candidate);
  } finally {
    writer.dispose();
  }
  return metricPair(await scoreCurrent(problem, data.test, task, options));
}

/** Permutes every ingredient of `problem` (its arrays are replaced) to match the reference's units. */
export async function alignProblem(
  problem: SoupProblem,
  align: AlignOptions,
  data: AlignmentData | undefined,
  options: AlignProblemOptions,
): Promise<AlignmentOutcome> {
  const { models, tensorNames } = options;
  const n = problem.ingredients.length;
  if (align.method === "activation" && data === undefined)
    throw new UsageError("activation matching needs data (--data <file>)");
  if (problem.base !== undefined)
    throw new UsageError("alignment does not apply to task-vector merges: the models already share the base's basin");
  const plan = options.plan;
  const before = await measure(problem, data, options);
  const unalignedUniform =
    data?.test.y !== undefined
      ? await scoreSoupOnTest(problem, uniformMix(problem.ingredients.length), data, options)
      : undefined;

  let reference = 0;
  let referenceChosenBy: AlignmentReport["referenceChosenBy"] = "first";
  if (align.reference !== undefined) {
    reference = referenceIndex(models, align.reference);
    referenceChosenBy = "user";
  } else if (before !== undefined) {
    const losses = Array.from({ length: n }, (_, i) => {
      const p = before.pairs.find((q) => q.a === i || q.b === i)!;
      return p.a === i ? p.lossA : p.lossB;
    });
    reference = losses.indexOf(Math.min(...losses));
    referenceChosenBy = "validation";
  }

  const shapes = new Map(tensorNames.map((name, k) => [name, tensorOf(problem.variables[k]!).shape]));
  const permutations: Permutations[] = Array.from({ length: n }, () => ({}));
  const matcher =
    align.method === "activation"
      ? await activationMatcher(problem, plan, reference, data!.learn.x, options.cancel)
      : undefined;
  try {
    for (let i = 0; i < n; i++) {
      if (i === reference) continue;
      const found =
        matcher !== undefined
          ? await matcher.match(i)
          : weightMatching(plan, namedTensors(problem, tensorNames, reference), namedTensors(problem, tensorNames, i), {
              seed: options.seed ?? 0,
            }).permutations;
      permutations[i] = Object.fromEntries(Object.entries(found).filter(([, p]) => !isIdentity(p)));
    }
  } finally {
    matcher?.dispose();
  }
  const cosineBefore = (a: number, b: number) => weightCosine(problem.ingredients[a]!, problem.ingredients[b]!);
  const cosines = new Map<string, number>();
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) cosines.set(`${a},${b}`, cosineBefore(a, b));
  // Replace each ingredient's arrays with its permuted ones.
  for (let i = 0; i < n; i++) {
    const reorders = tensorReorders(plan, permutations[i]!, shapes);
    (problem.ingredients as Float32Array[][])[i] = problem.ingredients[i]!.map((values, k) =>
      reorderTensor(values, shapes.get(tensorNames[k]!)!, reorders.get(tensorNames[k]!)),
    );
  }
  const after = await measure(problem, data, options);
  const pairs: AlignmentReport["pairs"] = [];
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const pb = before?.pairs.find((p) => p.a === a && p.b === b);
      const pa = after?.pairs.find((p) => p.a === a && p.b === b);
      pairs.push({
        a: models[a]!,
        b: models[b]!,
        cosineBefore: cosines.get(`${a},${b}`)!,
        cosineAfter: weightCosine(problem.ingredients[a]!, problem.ingredients[b]!),
        ...(pb ? { barrierBefore: pb.barrier } : {}),
        ...(pa ? { barrierAfter: pa.barrier } : {}),
      });
    }
  }
  const report = alignmentReport({ align, models, reference, referenceChosenBy, plan, permutations, pairs });
  return {
    reference,
    plan,
    permutations,
    report,
    ...(unalignedUniform ? { unalignedUniform } : {}),
    recipe: { method: align.method, reference: models[reference]!, permutations },
  };
}
