/**
 * The messages between the extension host and the Merge panel webview, declared once for both sides, and
 * the validator the host runs on every message the webview sends before using it.
 */
import {
  ALIGN_METHOD_CHOICES,
  BACKEND_SETTING_CHOICES,
  choiceValues,
  GRANULARITY_CHOICES,
  OBJECTIVE_CHOICES,
  PANEL_METHOD_CHOICES,
  PARAMETERISATION_CHOICES,
  type AlignMethod,
  type BackendChoice,
  type Granularity,
  type MergeMethod,
  type Objective,
  type Parameterisation,
} from "./choices.js";
import { LEARN_DEFAULTS } from "./learn-defaults.js";
import type { Coefficients, ProgressParams, SoupReport } from "./worker.js";

export type { BackendChoice, MergeMethod };

export interface IngredientRow {
  path: string;
  /** The shortest path suffix that tells it apart from the other ingredients, for display. */
  label: string;
  format: string;
  parameters: number;
  dtype: string;
}

export interface IngredientChoice {
  path: string;
  include: boolean;
  /** The manual weight (method "manual"); normalised by the host to sum to 1 over included rows. */
  coefficient: number;
}

export interface MergeConfig {
  ingredients: IngredientChoice[];
  method: MergeMethod;
  granularity: Granularity;
  parameterisation: Parameterisation;
  objective: Objective;
  learningRate: number;
  steps: number;
  batchSize: number;
  /** Fractions of the data held out for validation and for the final comparison. */
  validationFraction: number;
  testFraction: number;
  seed: number;
  backend: BackendChoice;
  data?: { path: string; label?: string };
  /** Align the ingredients' units to a reference first (learned and greedy soups); absent: as given. */
  align?: AlignMethod;
}

export interface DataPreview {
  path: string;
  task: string;
  samples: number;
  xShape: number[];
  labelName?: string;
  /** Classification: each class's name and number of samples. */
  classCounts?: { name: string; count: number }[];
  featureRange?: { min: number; max: number };
  notes: string[];
}

export interface PanelInit {
  title: string;
  ingredients: IngredientRow[];
  /** "compatible", "compatible by structure (...)", or why the set cannot be merged. */
  compatibility: { mergeable: boolean; message: string };
  trusted: boolean;
  defaults: MergeConfig;
}

export type JobState = "idle" | "running" | "done" | "failed" | "cancelled";

export type ToWebview =
  | { type: "init"; init: PanelInit }
  /** error: why the data cannot be read or does not fit the models' input and output (checked when chosen). */
  | { type: "dataPreview"; path: string; preview?: DataPreview; error?: string }
  /** A setting the panel shows changed (modelSoup.backend). */
  | { type: "settings"; backend: BackendChoice }
  | { type: "job"; state: JobState; message?: string }
  /** text: what runs now, in words (the host's describeProgress). */
  | { type: "progress"; progress: ProgressParams; text: string }
  /** verdict: the comparison in words (src/core/report/verdict.ts); stopReason: why learning ended where it did. */
  /** basin: which ingredients share no basin (src/core/report/basin.ts), in words; the panel then offers "Align first". */
  | { type: "result"; report: SoupReport; verdict: string; stopReason?: string; basin?: string }
  | { type: "saved"; model: string; recipe: string }
  /** The merged model's relative change per tensor from one ingredient (the per-layer bar chart). */
  | { type: "layerChanges"; model: string; reference: string; referencePath: string; rows: { name: string; change: number }[] };

export type FromWebview =
  | { type: "ready" }
  /** folder: pick an image folder (one subfolder per class) instead of a data file. */
  | { type: "pickData"; folder?: boolean }
  | { type: "setData"; path: string; label?: string }
  | { type: "start"; config: MergeConfig }
  | { type: "cancel" }
  | { type: "save"; coefficients?: Coefficients }
  | { type: "showDiff"; ingredient?: string }
  /** After an aligned run: which of the ingredient's units went where when it was aligned to the reference. */
  | { type: "showUnitMoves"; ingredient: string }
  /** After a save: reveal the merged model in the Explorer, or open its recipe. */
  | { type: "openSaved"; what: "reveal" | "recipe" };

const METHODS = choiceValues(PANEL_METHOD_CHOICES);
const GRANULARITIES = choiceValues(GRANULARITY_CHOICES);
const PARAMETERISATIONS = choiceValues(PARAMETERISATION_CHOICES);
const OBJECTIVES = choiceValues(OBJECTIVE_CHOICES);
const BACKENDS = choiceValues(BACKEND_SETTING_CHOICES);
const ALIGN_METHODS = choiceValues(ALIGN_METHOD_CHOICES);

type Check = (value: unknown, at: string) => string | undefined;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const str: Check = (v, at) => (typeof v === "string" && v.length <= 4096 ? undefined : `${at} must be a string`);
const optStr: Check = (v, at) => (v === undefined ? undefined : str(v, at));
const num =
  (min: number, max: number, integer = false): Check =>
  (v, at) =>
    typeof v === "number" && Number.isFinite(v) && v >= min && v <= max && (!integer || Number.isInteger(v))
      ? undefined
      : `${at} must be ${integer ? "an integer" : "a number"} in [${min}, ${max}]`;
const oneOf =
  <T>(values: readonly T[]): Check =>
  (v, at) =>
    values.includes(v as T) ? undefined : `${at} must be one of ${values.join(", ")}`;
const bool: Check = (v, at) => (typeof v === "boolean" ? undefined : `${at} must be true or false`);
const optBool: Check = (v, at) => (v === undefined ? undefined : bool(v, at));

function fields(value: unknown, at: string, checks: Record<string, Check>): string | undefined {
  if (!isRecord(value)) return `${at} must be an object`;
  for (const key of Object.keys(value)) if (!(key in checks)) return `${at}.${key} is not expected`;
  for (const [key, check] of Object.entries(checks)) {
    const problem = check(value[key], `${at}.${key}`);
    if (problem) return problem;
  }
  return undefined;
}

const ingredient: Check = (v, at) =>
  fields(v, at, { path: str, include: bool, coefficient: num(-1e6, 1e6) });

const ingredients: Check = (v, at) => {
  if (!Array.isArray(v) || v.length > 1000) return `${at} must be a list of at most 1000 ingredients`;
  for (let i = 0; i < v.length; i++) {
    const problem = ingredient(v[i], `${at}[${i}]`);
    if (problem) return problem;
  }
  return undefined;
};

const data: Check = (v, at) => (v === undefined ? undefined : fields(v, at, { path: str, label: optStr }));

const config: Check = (v, at) =>
  fields(v, at, {
    ingredients,
    method: oneOf(METHODS),
    granularity: oneOf(GRANULARITIES),
    parameterisation: oneOf(PARAMETERISATIONS),
    objective: oneOf(OBJECTIVES),
    learningRate: num(1e-8, 100),
    steps: num(1, 1_000_000, true),
    batchSize: num(1, 1_000_000, true),
    validationFraction: num(0, 0.9),
    testFraction: num(0, 0.9),
    seed: num(0, 2 ** 32, true),
    backend: oneOf(BACKENDS),
    data,
    align: (v, at) => (v === undefined ? undefined : oneOf(ALIGN_METHODS)(v, at)),
  });

const coefficients: Check = (v, at) => {
  if (v === undefined) return undefined;
  const list = (x: unknown, where: string) =>
    Array.isArray(x) && x.length <= 1000 && x.every((n) => typeof n === "number" && Number.isFinite(n))
      ? undefined
      : `${where} must be a list of finite numbers`;
  if (Array.isArray(v)) return list(v, at);
  if (!isRecord(v)) return `${at} must be a list of numbers or a map from layer to numbers`;
  for (const [key, value] of Object.entries(v)) {
    const problem = list(value, `${at}.${key}`);
    if (problem) return problem;
  }
  return undefined;
};

const MESSAGE_CHECKS: { [K in FromWebview["type"]]: Record<string, Check> } = {
  ready: {},
  pickData: { folder: optBool },
  setData: { path: str, label: optStr },
  start: { config },
  cancel: {},
  save: { coefficients },
  showDiff: { ingredient: optStr },
  showUnitMoves: { ingredient: str },
  openSaved: { what: oneOf(["reveal", "recipe"] as const) },
};

/** The message as a FromWebview, or an Error saying what is wrong with it. Unknown fields are refused. */
export function validateFromWebview(message: unknown): FromWebview | Error {
  if (!isRecord(message) || typeof message.type !== "string" || !(message.type in MESSAGE_CHECKS)) {
    return new Error(`unknown message from the panel: ${JSON.stringify(message)?.slice(0, 200)}`);
  }
  const checks = { type: str, ...MESSAGE_CHECKS[message.type as FromWebview["type"]] };
  const problem = fields(message, "message", checks);
  if (problem) return new Error(`invalid "${message.type}" message from the panel: ${problem}`);
  const start = message as { type: string; config?: MergeConfig };
  if (start.type === "start" && start.config!.validationFraction + start.config!.testFraction >= 0.95) {
    return new Error("invalid \"start\" message from the panel: validation and test fractions leave no data to learn from");
  }
  return message as FromWebview;
}

export const DEFAULT_CONFIG: Omit<MergeConfig, "ingredients"> = {
  method: "learned",
  granularity: LEARN_DEFAULTS.granularity,
  parameterisation: LEARN_DEFAULTS.parameterisation,
  objective: LEARN_DEFAULTS.objective,
  learningRate: LEARN_DEFAULTS.learningRate,
  steps: LEARN_DEFAULTS.maxSteps,
  batchSize: LEARN_DEFAULTS.batchSize,
  validationFraction: 0.2,
  testFraction: 0.2,
  seed: 0,
  backend: "auto",
};
