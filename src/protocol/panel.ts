/**
 * The messages between the extension host and the Merge panel webview, declared once for both sides, and
 * the validator the host runs on every message the webview sends before using it.
 */
import * as v from "valibot";
import { check } from "./schema.js";
import {
  ALIGN_METHOD_CHOICES,
  BACKEND_SETTING_CHOICES,
  DEVICE_CHOICES,
  choiceValues,
  GRANULARITY_CHOICES,
  LOSS_CHOICES,
  OBJECTIVE_CHOICES,
  PANEL_METHOD_CHOICES,
  PARAMETERISATION_CHOICES,
  type BackendChoice,
  type PanelMethod,
} from "./choices.js";
import { LEARN_DEFAULTS } from "./learn-defaults.js";
import type { Coefficients, ProgressParams, SoupReport } from "./worker.js";

export type { BackendChoice, PanelMethod };

export interface IngredientRow {
  path: string;
  /** The shortest path suffix that tells it apart from the other ingredients, for display. */
  label: string;
  format: string;
  parameters: number;
  dtype: string;
  /**
   * Whether the file records an architecture that can be rebuilt (a weights-only checkpoint or a safetensors file
   * records none: the panel then asks for an "Architecture from…" file).
   */
  architecture: boolean;
}

/** The panel's settings for one run (see configSchema). */
export type MergeConfig = v.InferOutput<typeof configSchema>;

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
  /** How many input features the models take, when known (their architecture, else their first kernel's rows). */
  modelFeatures?: number;
  /** A full model beside weights-only checkpoints whose weights layout fits them (offered by "Architecture from…"). */
  suggestedArchitecture?: string;
  /**
   * The ingredients are PyTorch models: state dicts without a recorded architecture ask for a PyTorch one
   * (`torchvision:<name>`, `<file.py>:<function>`), not a Keras file.
   */
  pytorch?: boolean;
  trusted: boolean;
  defaults: MergeConfig;
}

export type JobState = "idle" | "running" | "done" | "failed" | "cancelled";

/** What a result implies the user does next: keep the best ingredient, or run again without the harmful ones. */
export interface NextStep {
  /** "merge-wins": save the merge; "ingredient-wins": no merge beat the best ingredient; "no-labels": no winner named. */
  kind: "merge-wins" | "ingredient-wins" | "no-labels";
  /** The path of the best ingredient on the test rows. */
  best: string;
  /** Ingredients the run found harmful (left out by the greedy soup, or sharing no basin with the others), and why. */
  harmful?: { paths: string[]; why: string };
}

export type ToWebview =
  | { type: "init"; init: PanelInit }
  /** error: why the data cannot be read or does not fit the models' input and output (checked when chosen). */
  | { type: "dataPreview"; path: string; preview?: DataPreview; error?: string }
  /** A setting the panel shows changed (modelSoup.backend). */
  | { type: "settings"; backend: BackendChoice }
  /** The user's own test rows, chosen (with their row count, or why they do not fit) or cleared (no path). */
  | { type: "testData"; path?: string; samples?: number; error?: string }
  /** The file whose architecture rebuilds weights-only ingredients, chosen (or why it cannot) or cleared (no path). */
  | { type: "architecture"; path?: string; error?: string }
  /**
   * PyTorch models: the Python that runs them, found once per panel in the background (its label names the
   * interpreter, torch version and devices), or in one line what was tried and how to get torch.
   */
  | { type: "torch"; label?: string; devices?: string[]; error?: string }
  | { type: "job"; state: JobState; message?: string }
  /** items: the steps reported since the last message, in order (sent in batches); text: what runs now, in words. */
  | { type: "progress"; items: ProgressParams[]; text: string }
  /** verdict: the comparison in words (src/core/report/verdict.ts); stopReason: why learning ended where it did. */
  /** basin: which ingredients share no basin (src/core/report/basin.ts), in words; the panel then offers "Align first". */
  /** next: what the verdict implies (src/host/next-step.ts): the best ingredient and those the run found harmful. */
  | { type: "result"; report: SoupReport; verdict: string; stopReason?: string; basin?: string; next?: NextStep }
  | { type: "saved"; model: string; recipe: string }
  /** The merged model's relative change per tensor from one ingredient (the per-layer bar chart). */
  | {
      type: "layerChanges";
      model: string;
      reference: string;
      referencePath: string;
      rows: { name: string; change: number }[];
    };

export type FromWebview = v.InferOutput<typeof fromWebviewSchema>;

const METHODS = choiceValues(PANEL_METHOD_CHOICES);
const GRANULARITIES = choiceValues(GRANULARITY_CHOICES);
const PARAMETERISATIONS = choiceValues(PARAMETERISATION_CHOICES);
const OBJECTIVES = choiceValues(OBJECTIVE_CHOICES);
const BACKENDS = choiceValues(BACKEND_SETTING_CHOICES);
const DEVICES = choiceValues(DEVICE_CHOICES);
const ALIGN_METHODS = choiceValues(ALIGN_METHOD_CHOICES);
const LOSSES = choiceValues(LOSS_CHOICES);

export interface NumberRange {
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
}

/** The range of every number the panel's configuration holds, for the schema and for the panel's own fields. */
export const CONFIG_RANGES = {
  coefficient: { min: -1e6, max: 1e6 },
  learningRate: { min: 1e-8, max: 100 },
  steps: { min: 1, max: 1_000_000, integer: true },
  batchSize: { min: 1, max: 1_000_000, integer: true },
  validationFraction: { min: 0, max: 0.9 },
  testFraction: { min: 0, max: 0.9 },
  seed: { min: 0, max: 2 ** 32, integer: true },
} as const satisfies Record<string, NumberRange>;

export function inRange(value: number, range: NumberRange): boolean {
  return (
    Number.isFinite(value) && value >= range.min && value <= range.max && (!range.integer || Number.isInteger(value))
  );
}

interface SplitSettings {
  validationFraction: number;
  testFraction: number;
  data?: { test?: string | undefined } | undefined;
}

/**
 * The split rule: validation and test rows together leave at least 5 % of the data to learn from. With the user's own
 * test rows (`data.test`), the test fraction is not drawn from the data.
 */
export function leavesLearnRows(config: SplitSettings): boolean {
  return config.validationFraction + heldOutTestFraction(config) < 0.95;
}

/** The share of the data drawn as test rows: none when the user gave test rows of their own. */
export function heldOutTestFraction(config: Omit<SplitSettings, "validationFraction">): number {
  return config.data?.test !== undefined ? 0 : config.testFraction;
}

const str = v.pipe(v.string("must be a string"), v.maxLength(4096, "must be a string"));
const bool = v.boolean("must be true or false");
const num = ({ min, max, integer = false }: NumberRange) => {
  const expected = `must be ${integer ? "an integer" : "a number"} in [${min}, ${max}]`;
  return v.pipe(
    v.number(expected),
    v.finite(expected),
    v.minValue<number, number, string>(min, expected),
    v.maxValue<number, number, string>(max, expected),
    v.check((x) => !integer || Number.isInteger(x), expected),
  );
};
const oneOf = <T extends string>(values: readonly T[]) => v.picklist(values, `must be one of ${values.join(", ")}`);
const fields = <E extends v.ObjectEntries>(entries: E) => v.strictObject(entries, "must be an object");

const ingredientSchema = fields({ path: str, include: bool, coefficient: num(CONFIG_RANGES.coefficient) });

const configSchema = v.pipe(
  fields({
    ingredients: v.pipe(
      v.array(ingredientSchema, "must be a list of at most 1000 ingredients"),
      v.maxLength(1000, "must be a list of at most 1000 ingredients"),
    ),
    method: oneOf(METHODS),
    granularity: oneOf(GRANULARITIES),
    parameterisation: oneOf(PARAMETERISATIONS),
    objective: oneOf(OBJECTIVES),
    learningRate: num(CONFIG_RANGES.learningRate),
    steps: num(CONFIG_RANGES.steps),
    batchSize: num(CONFIG_RANGES.batchSize),
    /** Fractions of the data held out for validation and for the final comparison. */
    validationFraction: num(CONFIG_RANGES.validationFraction),
    testFraction: num(CONFIG_RANGES.testFraction),
    seed: num(CONFIG_RANGES.seed),
    backend: oneOf(BACKENDS),
    /** PyTorch models: where they run ("auto": the first GPU when there is one). */
    device: v.optional(oneOf(DEVICES)),
    /** test: the user's own held-out rows, for the final comparison only (then `path` gives learn and validation). */
    data: v.optional(fields({ path: str, label: v.optional(str), test: v.optional(str) })),
    /** The objective to learn and score with ("auto": the model's training loss when known). */
    loss: oneOf(LOSSES),
    /** A full model file of the same architecture, for ingredients that record none (weights-only checkpoints). */
    architecture: v.optional(str),
    /** Align the ingredients' units to a reference first (learned and greedy soups); absent: as given. */
    align: v.optional(oneOf(ALIGN_METHODS)),
    /** The fixed task-vector methods' base model: one of the ingredients (the others are its fine-tunes). */
    base: v.optional(str),
    /** The fixed methods' parameters by their recipe names (lambda, density, t, ...); absent ones take the default. */
    params: v.optional(
      v.pipe(
        v.record(
          v.pipe(str, v.regex(/^[a-z_]{1,32}$/, "must be a parameter name")),
          num(CONFIG_RANGES.coefficient),
          "must map parameter names to numbers",
        ),
        v.check((r) => Object.keys(r).length <= 16, "must hold at most 16 parameters"),
      ),
    ),
  }),
  v.check((c) => leavesLearnRows(c), "has validation and test fractions that leave no data to learn from"),
);

const numberList = v.pipe(
  v.array(
    v.pipe(v.number("must be a list of finite numbers"), v.finite("must be a list of finite numbers")),
    "must be a list of finite numbers",
  ),
  v.maxLength(1000, "must be a list of finite numbers"),
);
/** One list for the model, or one per layer: an array is checked as the list, anything else as the map. */
const coefficientsSchema: v.GenericSchema<Coefficients> = v.lazy((input) =>
  Array.isArray(input)
    ? numberList
    : v.record(v.string(), numberList, "must be a list of numbers or a map from layer to numbers"),
);

const fromWebviewSchema = v.variant("type", [
  fields({ type: v.literal("ready") }),
  /** folder: pick an image folder (one subfolder per class) instead of a data file. */
  fields({ type: v.literal("pickData"), folder: v.optional(bool) }),
  fields({ type: v.literal("setData"), path: str, label: v.optional(str) }),
  /** The user's own test rows (a data file), or the architecture file for weights-only ingredients. */
  fields({ type: v.literal("pickTestData") }),
  fields({ type: v.literal("pickArchitecture") }),
  /** Forget a chosen file: the data (and its test rows), the test rows alone, or the architecture file. */
  fields({ type: v.literal("clear"), what: oneOf(["data", "test", "architecture"] as const) }),
  fields({ type: v.literal("start"), config: configSchema }),
  fields({ type: v.literal("cancel") }),
  fields({ type: v.literal("save"), coefficients: v.optional(coefficientsSchema) }),
  fields({ type: v.literal("showDiff"), ingredient: v.optional(str) }),
  /** After an aligned run: which of the ingredient's units went where when it was aligned to the reference. */
  fields({ type: v.literal("showUnitMoves"), ingredient: str }),
  /** The best ingredient, when no merge beat it: open it in the model viewer, or copy its path. */
  fields({ type: v.literal("openIngredient"), path: str, what: oneOf(["open", "copyPath"] as const) }),
  /** After a save: reveal the merged model in the Explorer, or open its recipe. */
  fields({ type: v.literal("openSaved"), what: oneOf(["reveal", "recipe"] as const) }),
]);
const MESSAGE_TYPES: readonly string[] = fromWebviewSchema.options.map((o) => o.entries.type.literal);

/** The message as a FromWebview, or an Error saying what is wrong with it. Unknown fields are refused. */
export function validateFromWebview(message: unknown): FromWebview | Error {
  const type = typeof message === "object" && message !== null ? (message as { type?: unknown }).type : undefined;
  if (typeof type !== "string" || !MESSAGE_TYPES.includes(type)) {
    return new Error(`unknown message from the panel: ${JSON.stringify(message)?.slice(0, 200)}`);
  }
  const checked = check(fromWebviewSchema, message, "message");
  return checked.ok ? checked.value : new Error(`invalid "${type}" message from the panel: ${checked.problem}`);
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
  loss: "auto",
};
