/**
 * Every list of choices a user picks from — on the command line, in the Merge panel, in worker requests — declared
 * once with the words shown for each. The CLI's usage lines and option help, the panel's drop-downs and the
 * validators are generated from these lists, and the types are read off them.
 */

export interface Choice<T extends string = string> {
  readonly value: T;
  /** A few words, as the panel's drop-down shows them. */
  readonly label: string;
}

type ValueOf<L extends readonly Choice[]> = L[number]["value"];

/** The values of a choice list, in its order. */
export function choiceValues<T extends string>(list: readonly Choice<T>[]): readonly T[] {
  return list.map((c) => c.value);
}

export const GRANULARITY_CHOICES = [
  { value: "model", label: "One coefficient per model" },
  { value: "layer", label: "One per layer and model" },
] as const satisfies readonly Choice[];
export type Granularity = ValueOf<typeof GRANULARITY_CHOICES>;

export const PARAMETERISATION_CHOICES = [
  { value: "simplex", label: "Sum to 1 (softmax)" },
  { value: "nonneg", label: "Non-negative" },
  { value: "free", label: "Free" },
] as const satisfies readonly Choice[];
export type Parameterisation = ValueOf<typeof PARAMETERISATION_CHOICES>;

export const OBJECTIVE_CHOICES = [
  { value: "supervised", label: "Labelled data (loss)" },
  { value: "entropy", label: "Unlabelled data (entropy)" },
] as const satisfies readonly Choice[];
export type Objective = ValueOf<typeof OBJECTIVE_CHOICES>;

export const OPTIMIZER_CHOICES = [
  { value: "adam", label: "Adam (mini-batches)" },
  { value: "lbfgs", label: "L-BFGS (full batch; simplex or free coefficients)" },
] as const satisfies readonly Choice[];
export type OptimizerName = ValueOf<typeof OPTIMIZER_CHOICES>;

export const BACKEND_CHOICES = [
  { value: "tfjs-node", label: "Native TensorFlow (when @tensorflow/tfjs-node is installed)" },
  { value: "wasm", label: "WebAssembly" },
  { value: "cpu", label: "Plain JavaScript" },
] as const satisfies readonly Choice[];
export type BackendName = ValueOf<typeof BACKEND_CHOICES>;

/** Where the PyTorch engine runs the model (`cuda:N` names GPU N; isDeviceName checks a value). */
export const DEVICE_CHOICES = [
  { value: "auto", label: "The first GPU when there is one, else the CPU" },
  { value: "cpu", label: "CPU" },
  { value: "cuda", label: "The first CUDA GPU (cuda:N: GPU N)" },
  { value: "mps", label: "Apple GPU (MPS)" },
] as const satisfies readonly Choice[];
export type DeviceChoice = ValueOf<typeof DEVICE_CHOICES>;
/** auto, cpu, cuda, cuda:N or mps. */
export type DeviceName = DeviceChoice | `cuda:${number}`;

export function isDeviceName(value: string): value is DeviceName {
  return (choiceValues(DEVICE_CHOICES) as readonly string[]).includes(value) || /^cuda:\d+$/.test(value);
}

/** The dtype of the PyTorch engine's forward pass (half precision on GPUs). */
export const DTYPE_CHOICES = [
  { value: "float32", label: "float32" },
  { value: "bfloat16", label: "bfloat16 (GPUs)" },
  { value: "float16", label: "float16 (GPUs)" },
] as const satisfies readonly Choice[];
export type TorchDtype = ValueOf<typeof DTYPE_CHOICES>;

export const ALIGN_METHOD_CHOICES = [
  { value: "weight", label: "Weight matching (no data)" },
  { value: "activation", label: "Activation matching (correlation of activations on the data)" },
] as const satisfies readonly Choice[];
export type AlignMethod = ValueOf<typeof ALIGN_METHOD_CHOICES>;

/**
 * The objective learning and scoring use. The model's training loss is only the default ("auto"): a loss Model Soup
 * does not know (a custom `focal_loss_fixed`) falls back to the one that fits the model's output.
 */
export const LOSS_CHOICES = [
  { value: "auto", label: "From the model (its training loss, else what its output fits)" },
  { value: "crossentropy", label: "Cross-entropy on the labels (softmax / sigmoid outputs)" },
  { value: "mse", label: "Mean squared error (regression)" },
  { value: "mae", label: "Mean absolute error (regression)" },
] as const satisfies readonly Choice[];
export type LossChoice = ValueOf<typeof LOSS_CHOICES>;

/** The merges that need data beyond the models: their statistics come from the learn split. */
export const DATA_AWARE_METHOD_CHOICES = [
  { value: "regmean", label: "RegMean (least squares on each layer's inputs)" },
  { value: "fisher", label: "Fisher merging (weighted by each model's Fisher)" },
  { value: "regmean_plusplus", label: "RegMean++ (RegMean on the inputs the merged layers produce)" },
] as const satisfies readonly Choice[];
export type DataAwareMethod = ValueOf<typeof DATA_AWARE_METHOD_CHOICES>;

/** What Fisher merging differentiates: the log-likelihood of the true label, or of each model's own prediction. */
export const FISHER_TARGET_CHOICES = [
  { value: "labels", label: "log p(label | x), the default with labelled data" },
  { value: "prediction", label: "log p(ŷ | x) of each model's own prediction" },
] as const satisfies readonly Choice[];
export type FisherTarget = ValueOf<typeof FISHER_TARGET_CHOICES>;

/** The merges of fine-tunes of one base model that need no data beyond the models (SVD-based, with a base). */
export const BASE_METHOD_CHOICES = [
  { value: "tsv_m", label: "TSV-M (task singular vectors, decorrelated; needs the base)" },
  { value: "iso_c", label: "Iso-C (isotropic merge in the common subspace; needs the base)" },
  { value: "iso_cts", label: "Iso-CTS (isotropic merge, common and task subspaces; needs the base)" },
  { value: "wudi", label: "WUDI merging (data-free interference minimisation; needs the base)" },
] as const satisfies readonly Choice[];
export type BaseMethod = ValueOf<typeof BASE_METHOD_CHOICES>;

/** The merges `evaluate --methods` compares side by side on one test split. */
export const COMPARED_METHOD_CHOICES = [
  { value: "greedy", label: "Greedy soup" },
  { value: "learned", label: "Learned soup (coefficients learned from data)" },
  ...DATA_AWARE_METHOD_CHOICES,
  ...BASE_METHOD_CHOICES,
] as const satisfies readonly Choice[];
export type ComparedMethod = ValueOf<typeof COMPARED_METHOD_CHOICES>;

/**
 * The merges with fixed coefficients or parameters: they need the models' weights only (no architecture to run, no
 * data), as `model-soup merge --method` does; with data the panel also compares them. Labels say what each does.
 */
export const FIXED_METHOD_CHOICES = [
  { value: "uniform", label: "Uniform soup (plain average)" },
  { value: "manual", label: "Weighted average (manual weights)" },
  { value: "task_arithmetic", label: "Task arithmetic (base + λ · sum of task vectors; needs the base)" },
  { value: "ties", label: "TIES (trim, elect sign, average agreeing task vectors; needs the base)" },
  { value: "dare_linear", label: "DARE (drop and rescale task vectors, then add; needs the base)" },
  { value: "dare_ties", label: "DARE + TIES (drop and rescale, then TIES; needs the base)" },
  { value: "slerp", label: "SLERP (spherical interpolation of the base and one model)" },
  { value: "model_stock", label: "Model Stock (average pulled toward the base by the models' angle)" },
  ...BASE_METHOD_CHOICES,
] as const satisfies readonly Choice[];
export type FixedMethod = ValueOf<typeof FIXED_METHOD_CHOICES>;

/**
 * A merge method's short name for sentences and row labels, its label before the parenthesis: "TIES", "Task
 * arithmetic", "RegMean++"; undefined for an id no list holds ("linear", a soup's name).
 */
export function methodShortName(method: string): string | undefined {
  const choice = [...FIXED_METHOD_CHOICES, ...DATA_AWARE_METHOD_CHOICES].find((c) => c.value === method);
  return choice?.label.replace(/ \(.*$/, "");
}

/** The Merge panel's methods, in the order its drop-down lists them (each runs as one of the worker's jobs). */
export const PANEL_METHOD_CHOICES = [
  COMPARED_METHOD_CHOICES[1],
  COMPARED_METHOD_CHOICES[0],
  ...FIXED_METHOD_CHOICES,
  ...DATA_AWARE_METHOD_CHOICES,
] as const satisfies readonly Choice[];
export type PanelMethod = ValueOf<typeof PANEL_METHOD_CHOICES>;

/** The panel's methods that can align the ingredients first (the worker's learn and greedy jobs take `align`). */
export const ALIGNABLE_METHODS = ["learned", "greedy"] as const satisfies readonly PanelMethod[];

export function canAlign(method: PanelMethod): boolean {
  return (ALIGNABLE_METHODS as readonly PanelMethod[]).includes(method);
}

/** The panel's backend setting: a backend, or "auto" (the fastest that loads). */
export const BACKEND_SETTING_CHOICES = [
  { value: "auto", label: "Automatic" },
  ...BACKEND_CHOICES,
] as const satisfies readonly Choice[];
export type BackendChoice = ValueOf<typeof BACKEND_SETTING_CHOICES>;
