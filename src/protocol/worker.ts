/**
 * The messages between the worker process (TensorFlow.js) and its clients (the extension host, the CLI).
 * Declared once here; both sides import these request and notification types.
 */
import { NotificationType, RequestType } from "vscode-jsonrpc";
import type {
  AlignMethod,
  BackendName,
  ComparedMethod,
  DataAwareMethod,
  DeviceName,
  FisherTarget,
  Granularity,
  LossChoice,
  Objective,
  OptimizerName,
  Parameterisation,
  TorchDtype,
} from "./choices.js";
import { choiceValues, DATA_AWARE_METHOD_CHOICES } from "./choices.js";

export type {
  AlignMethod,
  BackendName,
  ComparedMethod,
  DataAwareMethod,
  FisherTarget,
  Granularity,
  LossChoice,
  Objective,
  OptimizerName,
  Parameterisation,
  DeviceName,
  TorchDtype,
};

/** Coefficients: one per ingredient, or for layer granularity one array per layer name. */
export type Coefficients = number[] | Record<string, number[]>;

export interface DataSpec {
  path: string;
  /** CSV column (name or index) or npz key holding the labels. */
  label?: string;
  /** npz key holding the inputs (default "x"). */
  inputKey?: string;
  /** Multiplies every input value (the digits sample is scaled by 1/16). */
  scale?: number;
  /**
   * The user's own held-out rows (same label, input key and scale), used only for the final comparison; `path` is
   * then split into learn and validation only.
   */
  test?: string;
  seed?: number;
  fractions?: { learn: number; validation: number; test: number };
  /** At most this many rows of each data file: a sample seeded by `seed` (from an .npy pair, only those rows are read). */
  maxRows?: number;
}

/** Align before averaging (src/core/align): permute every model's units to match a reference model's. */

export interface AlignOptions {
  /** "weight": weight matching, no data; "activation": units matched by the correlation of their activations on the data. */
  method: AlignMethod;
  /** The model the others are aligned to (one of the models). Default: the best on validation, or without data the first. */
  reference?: string;
}

/** What an alignment did, in reports. */
export interface AlignmentReport {
  method: AlignMethod;
  reference: string;
  /** How the reference was chosen. */
  referenceChosenBy: "validation" | "user" | "first";
  /** Permutation groups found, and how many units they hold. */
  groups: number;
  units: number;
  /** Layers whose symmetry is not handled: their neighbours' units were left in place. */
  fixedLayers: Array<{ layer: string; className: string; reason: string }>;
  /** For each model (reference excluded): how many units moved. */
  moved: Array<{ model: string; units: number }>;
  /**
   * REPAIR of the soup made (learned, greedy, or `merge --align` with labelled data; models without
   * BatchNormalization): each Dense/convolution unit's pre-activation
   * mean and spread reset to the interpolation of the ingredients'; kept only when it lowered the validation loss.
   */
  repair?: { layers: string[]; validation: { before: MetricPair; after: MetricPair }; kept: boolean };
  /** Each pair before and after alignment: weight cosine, and (with labelled data) the loss barrier at the midpoint. */
  pairs: Array<{
    a: string;
    b: string;
    cosineBefore: number;
    cosineAfter: number;
    barrierBefore?: number;
    barrierAfter?: number;
  }>;
}

/** The rows a report was scored on: the split's sizes and seed, and where its test rows came from. */
export interface SplitReport {
  learn: number;
  validation: number;
  test: number;
  seed: number;
  /**
   * "file": the user's own held-out rows (`DataSpec.test`, named in `testFile`); "data": drawn from the learning data,
   * so rows the models were trained on may be among them.
   */
  testFrom?: "data" | "file";
  testFile?: string;
  /** With test rows drawn from the learning data: the line that says what that means and how to give one's own. */
  testNote?: string;
}

/** Where the editor looks for Python with torch: the `modelSoup.python.path` setting, the Python extension's choice. */
export interface PythonCandidates {
  setting?: string;
  pythonExtension?: string;
}

/** What every job that runs the models may be told besides the models and the data. */
export interface RunOptions {
  /** The objective to learn and score with (default "auto": the model's training loss when known). */
  loss?: LossChoice;
  /**
   * A full model file (`.keras`, `.h5`, `model.json`) or a topology JSON of the same architecture, for
   * weights-only checkpoints that record none; or, for PyTorch state dicts and safetensors, a PyTorch
   * architecture: `torchvision:<name>`, `<file.py>:<function>`, `<module>:<callable>` or `huggingface:<folder>` (worker/jobs/torch).
   */
  architecture?: string;
  /** PyTorch models: the interpreter to run them with (default: the first Python on PATH or in the system folders whose torch imports). */
  python?: string;
  /**
   * PyTorch models, without `python`: the editor's interpreters, tried in this order before PATH and the system
   * folders (host/python-environment.ts). `python` given, only it runs.
   */
  pythonCandidates?: PythonCandidates;
  /** PyTorch models: where they run (default auto: the first GPU when there is one). */
  device?: DeviceName;
  /** PyTorch models: the forward pass's dtype (default float32). */
  dtype?: TorchDtype;
  /** PyTorch models: data-parallel ranks on this machine (torch.distributed; default 1). */
  nproc?: number;
  /** PyTorch models on several machines, as torchrun takes them: how many machines (default 1). */
  nnodes?: number;
  /** This machine's place, 0..nnodes−1 (default 0, the one that learns, reports and writes; the others follow it). */
  nodeRank?: number;
  /** Node 0's address, where rank 0 listens (default 127.0.0.1). */
  masterAddr?: string;
  /** Rank 0's TCP port (default: a free one on one machine; needed with several). */
  masterPort?: number;
}

/** What a machine other than node 0 needs to run its ranks: they follow rank 0 and read nothing else. */
export type FollowRanksParams = Pick<
  RunOptions,
  "python" | "pythonCandidates" | "nproc" | "nnodes" | "nodeRank" | "masterAddr" | "masterPort"
>;

export interface FollowRanksResult {
  /** The interpreter the ranks ran. */
  python: string;
  torchVersion: string;
  /** The ranks this machine ran, by global rank. */
  ranks: number[];
}

export interface LearnParams extends RunOptions {
  models: string[];
  data: DataSpec;
  granularity?: Granularity;
  parameterisation?: Parameterisation;
  objective?: Objective;
  optimizer?: OptimizerName;
  learningRate?: number;
  /** Adam steps (or L-BFGS iterations); defaults in src/protocol/learn-defaults.ts. */
  maxSteps?: number;
  batchSize?: number;
  /** Steps without a lower validation loss before stopping (L-BFGS: iterations). */
  patience?: number;
  /** Small-data refit on learn + validation (default: when they hold few rows; see docs/learning.md). */
  refit?: boolean;
  reestimateBatchNorm?: boolean;
  /** Task-vector form: learn λ in W = W_base + Σ λ_i (W_i − W_base). */
  base?: string;
  /** Align the models to a reference before learning (not with `base`). */
  align?: AlignOptions;
  backend?: BackendName;
  /** When given, the merged model and its recipe are written there. */
  out?: string;
  /** Echoed in progress notifications so a client can tell jobs apart. */
  jobId?: string;
}

/** The data a recipe records (paths absolute here; the recipe stores them relative to its own folder). */
export interface RecipeData {
  path: string;
  sha256: string;
  label?: string;
  scale?: number;
  inputKey?: string;
  /** The user's own test rows, when they were given. */
  test?: { path: string; sha256: string };
  seed: number;
  fractions: Record<string, number>;
  /** `--max-rows`: each data file was a seeded sample of this many rows (the split's seed). */
  maxRows?: number;
  /** The loss the soup was learned and judged with. */
  loss?: string;
}

/**
 * Everything a recipe records besides the merge itself: how it was made, on what data, what it scored, where. A
 * job that made a soup returns it, so a client saving that soup (the Merge panel) writes the same recipe the CLI does.
 */
export interface RecipeRecord {
  origin: string;
  learning?: Record<string, unknown>;
  data?: RecipeData;
  metrics?: unknown;
  backend?: string;
  /** Tensor values written as they are rather than merged (re-estimated BatchNormalization statistics). */
  overrides?: Record<string, number[]>;
}

/** What `inspect` answers: the compatibility report as plain data, as `model-soup inspect --json` prints it. */
export interface InspectReport {
  /** Every model readable and all in one group. */
  compatible: boolean;
  models: Array<{
    path: string;
    format: string;
    parameters: number;
    tensors: Array<{ name: string; shape: readonly number[]; dtype: string }>;
    group: string;
    status: string;
    /** This model's tensor names → the group's first model's names, when matched by structure. */
    mapping?: ReadonlyArray<unknown>;
    warnings: readonly string[];
  }>;
  groups: Array<{
    id: string;
    models: readonly string[];
    status: string;
    fingerprint: unknown;
    mappings: Array<{ model: string; to: string | undefined; names: unknown }>;
  }>;
  incompatible: Array<{ a: string; b: string; groupA: string; groupB: string; reason: string; difference?: unknown }>;
  unreadable: Array<{ path: string; error: string }>;
}

/**
 * A model's scores on one split: the loss (the objective merges are ranked by), the metric named by the report's
 * metricName, and the further metrics that fit the task where they exist.
 */
export interface MetricPair {
  loss: number;
  metric: number;
  /** Classification: mean per-class recall (what accuracy would be if every class had as many rows). */
  balancedAccuracy?: number;
  /** Two classes (a 2-way softmax or one sigmoid unit): ROC AUC of class 1. */
  auc?: number;
  /** Regression: coefficient of determination (averaged over the outputs); the metric is then the MAE. */
  r2?: number;
}

export interface PairMergeability {
  a: string;
  b: string;
  cosine: number;
  midpointLoss: number;
  endpointLoss: [number, number];
  barrier: number;
}

export interface SoupReport {
  /** What ran the models: a TensorFlow.js backend, or e.g. "PyTorch 1.13.1, cpu, /usr/bin/python3". */
  backend: BackendName | (string & {});
  method: string;
  coefficients: Coefficients;
  /** "entropy" when the data has no labels: every loss and metric is then the mean prediction entropy. */
  metricName: "accuracy" | "mae" | "entropy";
  metrics: {
    ingredients: Array<{ model: string } & MetricPair>;
    uniform: MetricPair;
    merged: MetricPair;
    ensemble: MetricPair;
    /** With alignment: the uniform soup of the aligned models (`uniform` stays the unaligned one; `merged` is aligned). */
    alignedUniform?: MetricPair;
    /** Further merges judged on the same test split (`evaluate --methods`). */
    methods?: MethodMetric[];
  };
  mergeability: PairMergeability[];
  /** Present when the models were aligned first; `mergeability` is then measured after alignment. */
  alignment?: AlignmentReport;
  split: SplitReport;
  /** Classification: rows of each class (by index) among the test rows, for the line on a majority class. */
  testClassCounts?: number[];
  warnings: string[];
  seconds: number;
  /** Written files, when the request asked for an output. */
  output?: { model: string; recipe: string };
  /** Learning curve, one entry per step. */
  history?: ProgressParams[];
  /** How a learned soup was learned: the budget, the candidates, which start won, why it stopped. */
  learning?: LearningSummary;
  /** What the recipe of this soup records (written or not): a client saving it passes it to the merge request. */
  record?: RecipeRecord;
  /** A fixed merge's coefficient sweep (FixedEvaluateParams.sweep): each value's score on the validation split. */
  sweep?: SweepReport;
}

/** The fixed merge tried with several values of one parameter, each scored on the validation split. */
export interface SweepReport {
  /** The parameter swept (lambda, t, or "weight": the weight of ingredient `ingredient` in a weighted average). */
  name: string;
  ingredient?: string;
  points: Array<{ value: number } & MetricPair>;
  /** The value with the lowest validation loss. */
  best: number;
}

/**
 * A fixed merge (weights and parameters given: a weighted average, task arithmetic, TIES, ...) made in memory and
 * compared on held-out data with the ingredients, the uniform soup and the ensemble, as the saved file will score.
 */
export interface FixedEvaluateParams extends RunOptions {
  /** Every model of the merge, the base among them when the method takes one. */
  models: string[];
  /** A merge method id of src/core/merge/spec.ts (linear, uniform, task_arithmetic, ties, ...). */
  method: string;
  base?: string;
  /** Per-model weights of the models besides the base (linear: normalised; task-vector methods: λ_i). */
  coefficients?: number[];
  params?: Record<string, number>;
  data: DataSpec;
  /** Try these values of one parameter on the validation split first (the weighted average: one model's weight). */
  sweep?: { name: string; values: number[]; ingredient?: string };
  backend?: BackendName;
  jobId?: string;
}

/** A learned merge's run: what it started from, what it kept, how many steps ran and why it stopped. */
export interface LearningSummary {
  optimizer: OptimizerName;
  budget: {
    maxSteps: number;
    learningRate?: number;
    schedule?: string;
    batchSize: number;
    evaluateEvery: number;
    patience: number;
  };
  /** Each candidate soup's validation loss (and metric): uniform soup, each ingredient, greedy soup. */
  candidates: Array<{ name: string } & Partial<MetricPair> & { loss: number; batchNormReestimated?: boolean }>;
  /** The candidate learning started from (the best of them on validation). */
  start: string;
  /** "learned", or the candidate kept because no learned soup beat it on validation. */
  kept: string;
  /** The kept soup's validation score (before a small-data refit), as it is written. */
  validation?: { loss: number; metric?: number };
  /** "re-estimated" when the kept soup's BatchNormalization statistics were re-estimated (it won on validation). */
  batchNorm?: "averaged" | "re-estimated";
  steps: number;
  /** Step of the learned path with the lowest validation loss (0 = the start). */
  bestStep: number;
  stoppedBy: "early-stopping" | "budget" | "converged" | "iterations";
  /** The small-data policy learned the kept path again on learn + validation (rows) for `steps` steps. */
  refit?: { rows: number; steps: number };
}

export interface EvaluateParams extends RunOptions {
  models: string[];
  data: DataSpec;
  /** A fixed soup to compare too (e.g. manual weights): reported as `metrics.merged`. */
  coefficients?: Coefficients;
  /** Align the models first: the report gains the aligned uniform soup and the aligned learned soup (in `methods`). */
  align?: AlignOptions;
  backend?: BackendName;
  jobId?: string;
}

export interface EvaluateReport {
  /** What ran the models: a TensorFlow.js backend, or e.g. "PyTorch 1.13.1, cpu, /usr/bin/python3". */
  backend: BackendName | (string & {});
  metricName: "accuracy" | "mae";
  /** Present with `merged` when the request gave coefficients. */
  method?: string;
  coefficients?: Coefficients;
  metrics: {
    ingredients: Array<{ model: string } & MetricPair>;
    uniform: MetricPair;
    merged?: MetricPair;
    ensemble: MetricPair;
    methods?: MethodMetric[];
    /** With `skipUnavailable`: the methods asked for that the models' kind cannot run, each with why. */
    notRun?: MethodNotRun[];
    /** With `align`: the uniform soup of the aligned models (`uniform` stays the unaligned one). */
    alignedUniform?: MetricPair;
  };
  mergeability: PairMergeability[];
  /** With `align`: what the alignment did; `mergeability` and `merged` are then measured after alignment. */
  alignment?: AlignmentReport;
  split: SplitReport;
  /** Classification: rows of each class (by index) among the test rows, for the line on a majority class. */
  testClassCounts?: number[];
  warnings: string[];
  seconds: number;
  /** The recipe records of the uniform soup and of the given weights, for a client that saves one of them. */
  records?: { uniform: RecipeRecord; merged?: RecipeRecord };
}

/** A further merge in a held-out comparison: its name ("greedy soup", "RegMean", ...) and its test scores. */
export type MethodMetric = { method: string } & MetricPair;

/** A method of a held-out comparison that was not run: its name ("RegMean") and why ("needs forward hooks; ..."). */
export interface MethodNotRun {
  method: string;
  reason: string;
}

/** The merge methods that need statistics of the models on data (src/core/merge/methods/regmean.ts, fisher.ts). */
export const DATA_AWARE_METHODS = choiceValues(DATA_AWARE_METHOD_CHOICES);
export function isDataAwareMethod(method: string): method is DataAwareMethod {
  return (DATA_AWARE_METHODS as readonly string[]).includes(method);
}

/** Data-aware method parameters: RegMean's α (off-diagonal scaling), Fisher's ε floor and examples. */
export interface DataAwareOptions {
  alpha?: number;
  epsilon?: number;
  /** Fisher: examples of the learn split its diagonal is estimated on. */
  examples?: number;
  /** Fisher: differentiate log p(label | x) ("labels", the default when the data has labels) or log p(ŷ | x) of the model's own prediction. */
  fisherTarget?: FisherTarget;
}

/** RegMean or Fisher merging: statistics on the learn split, the merge judged on the test split, optionally written. */
export interface DataMergeParams extends DataAwareOptions, RunOptions {
  models: string[];
  data: DataSpec;
  method: DataAwareMethod;
  out?: string;
  backend?: BackendName;
  jobId?: string;
}

/** The held-out comparison with further merges side by side (`evaluate --methods`). */
export interface CompareParams extends DataAwareOptions, RunOptions {
  models: string[];
  data: DataSpec;
  methods: ComparedMethod[];
  /**
   * `--methods all`: a method the models' kind cannot run (RegMean on TorchScript) is left out with its reason
   * (metrics.notRun) rather than refused; without it such a method ends the job in one line.
   */
  skipUnavailable?: boolean;
  /** The model the others were fine-tuned from: needed by the methods of BASE_METHOD_CHOICES (TSV-M, Iso-C, ...). */
  base?: string;
  backend?: BackendName;
  jobId?: string;
}

export interface GreedyParams extends RunOptions {
  models: string[];
  data: DataSpec;
  align?: AlignOptions;
  out?: string;
  backend?: BackendName;
  jobId?: string;
}

/** A merge with known coefficients or method parameters; no data needed. */
export interface MergeParams {
  models: string[];
  /**
   * A whole merge description (src/core/merge/spec.ts MergeSpec, e.g. imported from a mergekit YAML); when given,
   * it replaces models/method/coefficients/base/params. Validated by the worker before anything runs.
   */
  spec?: unknown;
  method: string;
  /** Per-ingredient weights, or per layer. Uniform when absent. */
  coefficients?: Coefficients;
  base?: string;
  /** Method parameters (density, t, drop probability, seed, ...). */
  params?: Record<string, unknown>;
  out: string;
  /**
   * The record of the job that made these coefficients (SoupReport.record): the recipe records it as that job would.
   * When it carries metrics, the worker scores the written file on the record's data and refuses it if it differs.
   */
  record?: RecipeRecord;
  /** The architecture file of weights-only ingredients (`--architecture`), for that check; the recipe records it. */
  architecture?: string;
  backend?: BackendName;
  jobId?: string;
}

export interface MergeResult {
  model: string;
  recipe: string;
  warnings: string[];
  seconds: number;
}

/**
 * Align models to a reference (`model-soup align`, and `merge --align`). Without `merge`, `out` is a folder that
 * receives every aligned model (each with a recipe); with `merge`, `out` is the merged model of the aligned models.
 */
export interface AlignParams extends RunOptions {
  models: string[];
  align: AlignOptions;
  /** Needed for activation matching; with labels it also chooses the reference and measures barriers. */
  data?: DataSpec;
  out: string;
  /** Merge the aligned models with these weights, per model or per layer (uniform when absent). */
  merge?: { coefficients?: Coefficients };
  backend?: BackendName;
  jobId?: string;
}

export interface AlignResult {
  alignment: AlignmentReport;
  /** Written models (aligned ingredients, or the merge) and their recipes. */
  outputs: Array<{ model: string; recipe: string }>;
  warnings: string[];
  /** The TF.js backend, or for PyTorch models the engine that ran them. */
  backend: BackendName | (string & {});
  seconds: number;
}

export interface ApplyParams {
  recipe: string;
  out?: string;
  jobId?: string;
}

export interface ProgressParams {
  jobId?: string;
  phase: "loading" | "learning" | "evaluating" | "writing";
  step: number;
  /** 0 when unknown. */
  totalSteps: number;
  /** What step counts (default: steps). */
  unit?: "steps" | "tensors" | "bytes";
  trainLoss?: number;
  validationLoss?: number;
  validationMetric?: number;
  coefficients?: Coefficients;
  message?: string;
}

export interface LogParams {
  level: "info" | "warning" | "error";
  message: string;
}

/** One line of the per-layer diff: a tensor's statistics and how far it moved from the reference model. */
export interface TensorStatsLine {
  name: string;
  shape: number[];
  dtype: string;
  mean: number;
  std: number;
  l2: number;
  /** ‖W − W_ref‖ / ‖W_ref‖ (or ‖W − W_ref‖ when the reference is all zeros); absent without a reference. */
  relativeChange?: number;
}

export interface LayerStatsParams {
  model: string;
  reference?: string;
}

/** The model viewer's on-demand statistics: these tensors of one model (all when absent). */
export interface TensorStatsParams {
  model: string;
  tensors?: string[];
  bins?: number;
}

/** The distribution of one tensor's values, for the model viewer: moments, range and a histogram. */
export interface TensorDistribution {
  count: number;
  /** NaN and ±Infinity values; left out of every other number. */
  nonFinite: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  /** Counts of `bins` equal-width bins from min to max (one bin holds everything when min = max). */
  histogram: number[];
}

export interface TensorDistributionLine extends TensorDistribution {
  name: string;
}

/** The Compare Models view and `model-soup diff`: two files of one architecture, tensor by tensor. */
export interface CompareFilesParams {
  /** The first file (the reference of the relative difference) and the second; model files or model folders. */
  a: string;
  b: string;
  /** Histogram bins per tensor (default 24), shared by both files' histograms of one tensor. */
  bins?: number;
  jobId?: string;
}

/** One tensor of both files. Numbers that a non-finite value makes undefined are null. */
export interface TensorComparison {
  /** The tensor's name in file a, and in file b (they differ when matched by structure). */
  name: string;
  nameB: string;
  /** A Keras 3 variable path of file a as the weight it is (`layers/dense/vars/0` → `dense/kernel`), when known. */
  label?: string;
  shape: number[];
  dtype: string;
  /** ‖b − a‖ / ‖a‖ (‖b − a‖ when a is all zeros), as the per-layer diff's relative change. */
  relativeDifference: number | null;
  /** ⟨a, b⟩ / (‖a‖ ‖b‖); 1 when both are all zeros, 0 when only one is. */
  cosine: number | null;
  maxAbsDifference: number | null;
  /** Each file's values: moments, range, and a histogram over the shared bins [histogramMin, histogramMax]. */
  a: TensorDistribution;
  b: TensorDistribution;
  histogramMin: number;
  histogramMax: number;
}

export interface ModelComparison {
  a: string;
  b: string;
  /** "name": the files name their tensors alike; "structure": names differ, tensors paired by layer position. */
  matchedBy: "name" | "structure";
  tensors: TensorComparison[];
  /** All tensors as one vector: ‖b − a‖ / ‖a‖, cosine and the largest absolute difference. */
  overall: { relativeDifference: number | null; cosine: number | null; maxAbsDifference: number | null };
  /** Tensors whose values are equal in both files. */
  identical: number;
  seconds: number;
}

/**
 * The worker process's own resource use (`soup/health`): what a long-lived worker must keep flat. Answered at
 * once, beside a running job; between jobs the tensor count is what the finished jobs left behind.
 */
export interface HealthParams {
  /** Run a full garbage collection first, when the worker was started with --expose-gc (else ignored). */
  collectGarbage?: boolean;
}

export interface WorkerHealth {
  pid: number;
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  /** TensorFlow.js tensors alive (`tf.memory().numTensors`), 0 before any job started a backend. */
  numTensors: number;
  tensorBytes: number;
  /** The active TensorFlow.js backend, null before any job started one. */
  backend: string | null;
  /** Whether a garbage collection ran before these figures. */
  collected: boolean;
}

export const WorkerRequests = {
  /** Formats, tensors and the compatibility report of model files (the JSON of `model-soup inspect --json`). */
  inspect: new RequestType<{ paths: string[] }, InspectReport, void>("soup/inspect"),
  learn: new RequestType<LearnParams, SoupReport, void>("soup/learn"),
  evaluate: new RequestType<EvaluateParams, EvaluateReport, void>("soup/evaluate"),
  greedy: new RequestType<GreedyParams, SoupReport, void>("soup/greedy"),
  merge: new RequestType<MergeParams, MergeResult, void>("soup/merge"),
  /** RegMean or Fisher merging with statistics of the models on data. */
  dataMerge: new RequestType<DataMergeParams, SoupReport, void>("soup/dataMerge"),
  /** A fixed merge compared on held-out data, with an optional sweep of one parameter on the validation split. */
  fixedEvaluate: new RequestType<FixedEvaluateParams, SoupReport, void>("soup/fixedEvaluate"),
  /** The evaluate comparison plus greedy, learned, RegMean and Fisher rows. */
  compare: new RequestType<CompareParams, EvaluateReport, void>("soup/compare"),
  apply: new RequestType<ApplyParams, MergeResult, void>("soup/apply"),
  /** Align models to a reference; write the aligned models or their merge. */
  align: new RequestType<AlignParams, AlignResult, void>("soup/align"),
  /** Per-tensor statistics of a model, and its change from a reference model (the per-layer diff). */
  layerStats: new RequestType<LayerStatsParams, { tensors: TensorStatsLine[] }, void>("soup/layerStats"),
  /** Mean, std, range and histogram of tensors of one model (the model viewer's "Compute statistics"). */
  tensorStats: new RequestType<TensorStatsParams, { tensors: TensorDistributionLine[] }, void>("soup/tensorStats"),
  /** Two files of one architecture side by side, tensor by tensor (the Compare Models view, `model-soup diff`). */
  compareFiles: new RequestType<CompareFilesParams, ModelComparison, void>("soup/compareFiles"),
  /** On a machine other than node 0: run its PyTorch ranks, which follow rank 0 until it ends the job. */
  followRanks: new RequestType<FollowRanksParams, FollowRanksResult, void>("soup/followRanks"),
  /** Which backend the worker runs, and why the others did not load. */
  backend: new RequestType<{ preference?: BackendName }, { backend: BackendName; notes: string[] }, void>(
    "soup/backend",
  ),
  /** The worker's memory, live tensors and backend (the soak test's probe). */
  health: new RequestType<HealthParams, WorkerHealth, void>("soup/health"),
};

export const WorkerNotifications = {
  progress: new NotificationType<ProgressParams>("soup/progress"),
  log: new NotificationType<LogParams>("soup/log"),
};
