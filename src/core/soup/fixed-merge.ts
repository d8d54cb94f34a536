/**
 * Fixed-coefficient merges: no data, no TensorFlow.js, one tensor at a time. Being core, the CLI runs it in its
 * own process (src/cli/in-process.ts) and the worker runs it for the editor; neither imports the other's code.
 */
import { UsageError } from "../errors.js";
import { specFromCoefficients } from "../merge/coefficients.js";
import { MERGE_METHOD_IDS, type MergeMethodId, type MergeSpec, type ParamValue } from "../merge/spec.js";
import { dataProtection } from "./output.js";
import { getMergeMethod } from "../merge/registry.js";
import { saveSoup, type SavedSoupCheck } from "./save.js";
import type { MergeParams, MergeResult } from "../../protocol/worker.js";
import { resolveModelPath } from "../io/model-inputs.js";
import type { JobContext } from "../job-context.js";
import { resolveJobModels } from "./job-inputs.js";

/** A merge description's model paths resolved like command-line arguments (a model folder is its model). */
async function resolveSpecModels(spec: MergeSpec): Promise<MergeSpec> {
  const ingredients = [];
  for (const g of spec.ingredients) ingredients.push({ ...g, path: await resolveModelPath(g.path) });
  return { ...spec, ingredients, ...(spec.base !== undefined ? { base: await resolveModelPath(spec.base) } : {}) };
}

function isMethod(id: string): id is MergeMethodId {
  return (MERGE_METHOD_IDS as readonly string[]).includes(id);
}

/** The merge description of a fixed merge request (also what the panel's comparison of that merge scores). */
export function specOf(params: Omit<MergeParams, "out">): { spec: MergeSpec; origin: string } {
  if (params.spec !== undefined) {
    const spec = params.spec as MergeSpec;
    if (
      typeof spec !== "object" ||
      spec === null ||
      !Array.isArray(spec.ingredients) ||
      typeof spec.method !== "string"
    ) {
      throw new UsageError("the merge description needs a method and a list of ingredients");
    }
    return { spec: { ...spec, params: spec.params ?? {} }, origin: "imported" };
  }
  const method = params.method === "weighted" ? "linear" : params.method;
  if (!isMethod(method))
    throw new UsageError(`unknown merge method "${params.method}"; methods: ${MERGE_METHOD_IDS.join(", ")}`);
  const uniformLinear = method === "linear" && params.coefficients === undefined;
  // A task-vector method's default λ_i (merge/methods/task-arithmetic.ts) is written into the recipe, so the recipe
  // says which coefficients made the model.
  const defaultWeight = getMergeMethod(method).modelParams.find((p) => p.name === "weight")?.default;
  const coefficients =
    params.coefficients ?? (typeof defaultWeight === "number" ? params.models.map(() => defaultWeight) : undefined);
  const methodParams = (params.params ?? {}) as Record<string, ParamValue>;
  const spec: MergeSpec =
    coefficients === undefined
      ? {
          method: uniformLinear ? "uniform" : method,
          params: methodParams,
          ingredients: params.models.map((path) => ({ path })),
          ...(params.base ? { base: params.base } : {}),
        }
      : specFromCoefficients({
          method,
          paths: params.models,
          coefficients,
          base: params.base,
          params: methodParams,
        });
  return { spec, origin: uniformLinear || method === "uniform" ? "uniform" : "manual" };
}

/** `check`: what the worker runs on the written soup before the output lock is released (save.ts SavedSoupCheck). */
export async function runMerge(given: MergeParams, context: JobContext, check?: SavedSoupCheck): Promise<MergeResult> {
  const started = performance.now();
  const params = given.spec === undefined ? await resolveJobModels(given) : given;
  const { spec: described, origin } = specOf(params);
  const spec = given.spec === undefined ? described : await resolveSpecModels(described);
  // A soup another job made (the panel saving a learned or greedy soup) is recorded as that job would record it.
  const record = params.record;
  const saved = await saveSoup({
    spec,
    target: params.out,
    origin: record?.origin ?? origin,
    ...(record?.learning !== undefined ? { learning: record.learning } : {}),
    ...(record?.data !== undefined ? { data: record.data } : {}),
    ...(record?.metrics !== undefined ? { metrics: record.metrics } : {}),
    ...(record?.backend !== undefined ? { backend: record.backend } : {}),
    ...(record?.overrides !== undefined ? { overrides: record.overrides } : {}),
    ...(record?.data !== undefined
      ? {
          protect: [
            dataProtection(record.data.path),
            ...(record.data.test !== undefined ? [dataProtection(record.data.test.path)] : []),
          ],
        }
      : {}),
    ...(params.architecture !== undefined ? { architecture: params.architecture } : {}),
    ...(check !== undefined ? { check } : {}),
    cancel: context.token,
    onProgress: (step, totalSteps, unit) =>
      context.progress({ jobId: params.jobId, phase: "writing", step, totalSteps, unit }),
  });
  return { ...saved, seconds: (performance.now() - started) / 1000 };
}
