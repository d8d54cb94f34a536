/**
 * What the Merge panel asks the worker, from the panel's configuration: which request runs a method, with
 * which parameters, what the panel calls it while it runs, and how the answer becomes the panel's report.
 * No vscode: each method's request is tested on its own (test/host/panel-request.test.ts).
 */
import { canAlign } from "../protocol/choices.js";
import { isFixedMethod, needsBase } from "../protocol/capability.js";
import { sweepParam } from "../protocol/fixed-methods.js";
import { heldOutTestFraction, type MergeConfig } from "../protocol/panel.js";
import {
  isDataAwareMethod,
  type AlignOptions,
  type AlignParams,
  type AlignmentReport,
  type BackendName,
  type Coefficients,
  type DataMergeParams,
  type DataSpec,
  type EvaluateParams,
  type EvaluateReport,
  type FixedEvaluateParams,
  type GreedyParams,
  type LearnParams,
  type MergeParams,
  type PythonCandidates,
  type RecipeRecord,
  type RunOptions,
  type SoupReport,
} from "../protocol/worker.js";

function sameCoefficients(a: Coefficients, b: Coefficients | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A worker request the panel sends: its name in WorkerRequests and its parameters. */
export type PanelJob =
  | { request: "learn"; params: LearnParams }
  | { request: "dataMerge"; params: DataMergeParams }
  | { request: "greedy"; params: GreedyParams }
  /** The uniform soup with data: the worker's evaluation, made a report by reportOfEvaluation. */
  | { request: "evaluate"; params: EvaluateParams; coefficients: number[] }
  /** The other fixed merges with data: made in memory, compared, and swept on validation where they have a sweep. */
  | { request: "fixedEvaluate"; params: FixedEvaluateParams }
  /** A fixed merge without data: nothing to compare, it is written at once (the host asks where). */
  | { request: "fixedSave"; merge: FixedMerge };

/** A fixed merge as `merge` takes it: the models besides the base, the method id, its weights and parameters. */
export interface FixedMerge {
  models: string[];
  method: string;
  base?: string;
  coefficients?: number[];
  params?: Record<string, number>;
}

/** The base of a task-vector method: the chosen one when included, else the first included ingredient. */
export function baseOf(config: MergeConfig, models: readonly string[]): string | undefined {
  if (!needsBase(config.method)) return undefined;
  const included = includedModels(config, models);
  return config.base !== undefined && included.includes(config.base) ? config.base : included[0];
}

/** The configured fixed merge (uniform, weighted average, task arithmetic, TIES, ...) as the merge request takes it. */
export function fixedMerge(config: MergeConfig, panelModels: readonly string[]): FixedMerge {
  const included = includedModels(config, panelModels);
  if (config.method === "uniform") return { models: included, method: "uniform" };
  if (config.method === "manual")
    return { models: included, method: "linear", coefficients: soupCoefficients(config, panelModels) };
  const base = baseOf(config, panelModels);
  const params = config.params ?? {};
  return {
    models: included.filter((m) => m !== base),
    method: config.method,
    ...(base !== undefined ? { base } : {}),
    ...(Object.keys(params).length > 0 ? { params: { ...params } } : {}),
  };
}

/** The ingredients the configuration includes, of the panel's models, in the panel's order. */
export function includedModels(config: MergeConfig, models: readonly string[]): string[] {
  return config.ingredients.filter((i) => i.include && models.includes(i.path)).map((i) => i.path);
}

/** The data and its split; with the user's own test rows, the data is split into learn and validation only. */
export function dataSpec(config: MergeConfig): DataSpec {
  if (!config.data) throw new Error("Choose the data to learn from and compare on first (Data → Choose…).");
  const test = heldOutTestFraction(config);
  const learn = 1 - config.validationFraction - test;
  return {
    path: config.data.path,
    ...(config.data.label ? { label: config.data.label } : {}),
    ...(config.data.test !== undefined ? { test: config.data.test } : {}),
    seed: config.seed,
    fractions: { learn, validation: config.validationFraction, test },
  };
}

/**
 * What every job that runs the models takes: the loss (when not the model's own), the architecture (for
 * weights-only ingredients and PyTorch state dicts), and for PyTorch models the device and the editor's Python
 * candidates.
 */
export function runOptions(config: MergeConfig, python?: PythonCandidates): RunOptions {
  return {
    ...(config.loss !== "auto" ? { loss: config.loss } : {}),
    ...(config.architecture !== undefined ? { architecture: config.architecture } : {}),
    ...(config.device !== undefined && config.device !== "auto" ? { device: config.device } : {}),
    ...(python !== undefined && Object.keys(python).length > 0 ? { pythonCandidates: { ...python } } : {}),
  };
}

function backendOf(config: MergeConfig): { backend?: BackendName } {
  return config.backend === "auto" ? {} : { backend: config.backend };
}

/** Each included ingredient's weight: the manual ones normalised to sum to 1, else equal. */
export function soupCoefficients(config: MergeConfig, models: readonly string[]): number[] {
  const rows = config.ingredients.filter((i) => i.include && models.includes(i.path));
  if (config.method !== "manual") return rows.map(() => 1 / rows.length);
  const total = rows.reduce((s, r) => s + r.coefficient, 0);
  if (total === 0) throw new Error("The manual coefficients sum to zero.");
  return rows.map((r) => r.coefficient / total);
}

/** What the progress channel says while the method runs. */
export function jobTitle(method: MergeConfig["method"]): string {
  if (method === "learned") return "learning the coefficients";
  if (method === "greedy") return "greedy soup";
  return isDataAwareMethod(method) ? "computing data statistics" : "evaluating";
}

function alignOf(config: MergeConfig): { align?: AlignOptions } {
  if (config.align === undefined) return {};
  if (!canAlign(config.method))
    throw new Error(`"Align first" applies to the learned and greedy soups, not to the ${config.method} one.`);
  return { align: { method: config.align } };
}

/** The request that runs the configured method on the panel's models (`python`: the editor's candidates). */
export function jobRequest(
  config: MergeConfig,
  panelModels: readonly string[],
  jobId: string,
  python?: PythonCandidates,
): PanelJob {
  const models = includedModels(config, panelModels);
  if (models.length < 2 && config.method !== "manual") throw new Error("Include at least two ingredients.");
  if (isFixedMethod(config.method) && config.data === undefined)
    return { request: "fixedSave", merge: fixedMerge(config, panelModels) };
  if (isFixedMethod(config.method) && config.method !== "uniform") {
    const merge = fixedMerge(config, panelModels);
    const sweep = sweepParam(config.method);
    return {
      request: "fixedEvaluate",
      params: {
        // The base takes part in the comparison as an ingredient row.
        models: merge.base !== undefined ? [merge.base, ...merge.models] : merge.models,
        method: merge.method,
        ...(merge.base !== undefined ? { base: merge.base } : {}),
        ...(merge.coefficients !== undefined ? { coefficients: merge.coefficients } : {}),
        ...(merge.params !== undefined ? { params: merge.params } : {}),
        data: dataSpec(config),
        ...(sweep !== undefined
          ? {
              sweep: {
                name: sweep.name,
                values: sweep.values,
                ...(sweep.name === "weight" ? { ingredient: merge.models[0]! } : {}),
              },
            }
          : {}),
        ...runOptions(config, python),
        ...backendOf(config),
        jobId,
      },
    };
  }
  const common = { models, data: dataSpec(config), ...runOptions(config, python), ...backendOf(config), jobId };
  const align = alignOf(config);
  if (config.method === "learned") {
    return {
      request: "learn",
      params: {
        ...common,
        granularity: config.granularity,
        parameterisation: config.parameterisation,
        objective: config.objective,
        learningRate: config.learningRate,
        maxSteps: config.steps,
        batchSize: config.batchSize,
        ...align,
      },
    };
  }
  if (isDataAwareMethod(config.method)) return { request: "dataMerge", params: { ...common, method: config.method } };
  if (config.method === "greedy") return { request: "greedy", params: { ...common, ...align } };
  // The uniform soup is the evaluation's own uniform row (a weighted average with data is a fixedEvaluate above).
  return { request: "evaluate", params: common, coefficients: soupCoefficients(config, panelModels) };
}

/** The panel's report of the uniform soup, from the worker's evaluation (its uniform row is the merge). */
export function reportOfEvaluation(
  evaluation: EvaluateReport,
  job: Extract<PanelJob, { request: "evaluate" }>,
): SoupReport {
  const { merged: _, ...metrics } = evaluation.metrics;
  const record = evaluation.records?.uniform;
  return {
    backend: evaluation.backend,
    method: "uniform",
    coefficients: job.coefficients,
    metricName: evaluation.metricName,
    metrics: { ...metrics, merged: metrics.uniform },
    mergeability: evaluation.mergeability,
    split: evaluation.split,
    warnings: evaluation.warnings,
    seconds: evaluation.seconds,
    ...(record !== undefined ? { record } : {}),
  };
}

/** A save request: the merge with known coefficients, or (RegMean, Fisher: no coefficients) the data-aware merge again. */
export type SaveJob =
  | { request: "merge"; params: MergeParams }
  | { request: "dataMerge"; params: DataMergeParams }
  /** An aligned result: the same alignment (its reference and method, on the same data) again, then the merge. */
  | { request: "align"; params: AlignParams };

export interface SaveWhat {
  /** The last run's configuration (none before a run: the uniform soup of every model). */
  config: MergeConfig | undefined;
  panelModels: readonly string[];
  /** Coefficients the webview asked to save with. */
  given?: Coefficients;
  /** The last report's coefficients. */
  reported?: Coefficients;
  /** The last report's recipe record (how the job made its soup): the saved recipe records the same. */
  record?: RecipeRecord;
  /** The last report's alignment: what the merge is made of. */
  alignment?: Pick<AlignmentReport, "method" | "reference">;
  out: string;
  jobId: string;
  /** The editor's Python candidates, for PyTorch models. */
  python?: PythonCandidates;
}

/**
 * Writes the merge the panel shows to `out`: a linear merge of the included models with the given, reported or
 * configured coefficients; a RegMean or Fisher result has none, so its statistics are computed again (the
 * recipe records the data).
 */
export function saveRequest({
  config,
  panelModels,
  given,
  reported,
  record,
  alignment,
  out,
  jobId,
  python,
}: SaveWhat): SaveJob {
  const models = config ? includedModels(config, panelModels) : [...panelModels];
  if (alignment !== undefined && config !== undefined) {
    const coefficients = given ?? reported;
    return {
      request: "align",
      params: {
        models,
        align: { method: alignment.method, reference: alignment.reference },
        data: dataSpec(config),
        out,
        merge: coefficients === undefined ? {} : { coefficients },
        ...runOptions(config, python),
        ...backendOf(config),
        jobId,
      },
    };
  }
  if (given === undefined && config !== undefined && isDataAwareMethod(config.method)) {
    return {
      request: "dataMerge",
      params: {
        models,
        data: dataSpec(config),
        method: config.method,
        ...runOptions(config, python),
        ...backendOf(config),
        out,
        jobId,
      },
    };
  }
  const describedOnly = given === undefined && reported === undefined;
  if (
    config !== undefined &&
    isFixedMethod(config.method) &&
    (describedOnly || (config.method !== "uniform" && config.method !== "manual"))
  ) {
    // A fixed merge as described (run without data, or a task-vector or SVD merge), with the comparison's record
    // when one was made.
    const merge = fixedMerge(config, panelModels);
    return { request: "merge", params: { ...merge, ...(record !== undefined ? { record } : {}), out, jobId } };
  }
  const chosen = given ?? reported ?? (config ? soupCoefficients(config, panelModels) : undefined);
  // The soup the job made (its coefficients as reported) is saved with the job's own record; other weights are manual.
  const asReported = record !== undefined && (given === undefined || sameCoefficients(given, reported));
  return {
    request: "merge",
    params: {
      models,
      method: chosen ? "linear" : "uniform",
      ...(chosen ? { coefficients: chosen } : {}),
      ...(asReported ? { record } : {}),
      ...(config?.architecture !== undefined ? { architecture: config.architecture } : {}),
      ...(config ? backendOf(config) : {}),
      out,
      jobId,
    },
  };
}
