/**
 * Which merges can run on these ingredients and this data, told before anything runs, and for each one that cannot
 * why and the way out. One check for both surfaces: the Merge panel disables a method with its reason and a button
 * (Architecture from… / PyTorch Architecture…, Choose Data…, Clear data), and the command line words the same refusal with its flag
 * (`--architecture`, `--data`). Pure: tested in test/protocol/capability.test.ts.
 *
 * Fixed merges (weights and parameters given) read only the weights: no architecture to run, no data. Learned,
 * greedy and data-aware merges run the models: they need an architecture that can be rebuilt (weights-only
 * checkpoints take one from another file), data whose rows fit the model's input, and a loss — which never blocks:
 * a custom training loss falls back to the one the output fits (cross-entropy, mean squared error).
 */
import { choiceValues, FIXED_METHOD_CHOICES, type FixedMethod } from "./choices.js";

/** Where the words go: the panel names its buttons, the command line its flags. */
export type Surface = "panel" | "cli";

/** What the user can do about a method that cannot run: the panel shows it as a button beside the reason. */
export type WayOut = "architecture" | "chooseData" | "clearData" | "ingredients";

export interface CapabilityFacts {
  /** The included ingredients, by path. */
  ingredients: readonly string[];
  /** Those of them that record no architecture that can be rebuilt (weights-only checkpoints, safetensors). */
  withoutArchitecture: readonly string[];
  /** The architecture file given for them; `error` says why it does not fit, when it does not. */
  architecture?: { path: string; error?: string };
  /** A full model of the same weights layout beside the checkpoints, to name in the way out. */
  suggestedArchitecture?: string;
  /**
   * The ingredients are PyTorch models: TorchScript files run as they are; state dicts need a PyTorch architecture
   * (`torchvision:<name>`, `<file.py>:<function>`) given, or recorded in a `model-soup.json` beside them.
   */
  pytorch?: boolean;
  /** The data given; `error` says why it cannot be read or does not fit the models (checked when chosen). */
  data?: { path: string; error?: string; features?: number };
  /** How many input features the models take, when known (their architecture, else their first kernel's rows). */
  modelFeatures?: number;
}

export interface MethodCapability {
  method: string;
  available: boolean;
  /** Why it cannot run, in one sentence, when it cannot. */
  reason?: string;
  wayOut?: WayOut;
}

const FIXED: readonly string[] = choiceValues(FIXED_METHOD_CHOICES);

/** Whether a method reads only the weights (no model is run, no data needed). */
export function isFixedMethod(method: string): method is FixedMethod {
  return FIXED.includes(method);
}

/** The fixed methods that work on task vectors W_i − W_base: they need a base model among the ingredients. */
export function needsBase(method: string): boolean {
  return isFixedMethod(method) && method !== "uniform" && method !== "manual";
}

/** The fewest ingredients a method takes (the base counted among them), and the most (SLERP: the base and one). */
export function ingredientRange(method: string): { min: number; max: number } {
  if (method === "manual") return { min: 1, max: Infinity };
  if (method === "slerp") return { min: 2, max: 2 };
  if (method === "model_stock") return { min: 3, max: Infinity };
  return { min: 2, max: Infinity };
}

/** The way out of weights-only checkpoints, worded for the surface (the file beside them when one fits). */
export function architectureWayOut(suggested: string | undefined, surface: Surface): string {
  if (surface === "cli")
    return suggested !== undefined
      ? `records no architecture; pass --architecture ${suggested} (a full model with the same weights)`
      : "records no architecture; pass --architecture <file> (a full model of the same architecture: .keras, .h5, model.json, or a topology JSON)";
  return suggested !== undefined
    ? `These checkpoints hold weights only: choose a full model of the same architecture (Architecture from…; ${suggested} fits).`
    : "These checkpoints hold weights only: choose a full model of the same architecture (Architecture from…: .keras, .h5, model.json, or a topology JSON).";
}

/** The way out of PyTorch state dicts that record no architecture, worded for the surface. */
export function torchArchitectureWayOut(surface: Surface): string {
  return surface === "cli"
    ? "needs its PyTorch architecture: --architecture torchvision:<name>, <file.py>:<function>, <module>:<callable> or huggingface:<folder>, " +
        'or a model-soup.json beside it: {"architecture": "build.py:build"} (TorchScript files need none)'
    : "These PyTorch state dicts hold weights only: name their architecture (PyTorch Architecture…: torchvision:<name>, or <file.py>:<function> in a trusted workspace), or put a model-soup.json beside them.";
}

/** The refusal of a model file that records no architecture and is no weights-only checkpoint (safetensors). */
export function notRunnableReason(surface: Surface): string {
  return surface === "cli"
    ? "records no architecture that can be rebuilt, so it cannot be run to learn or evaluate a soup; fixed merges (model-soup merge) work on its weights without one"
    : "An ingredient records no architecture that can be rebuilt, so it cannot be run: fixed merges work on its weights without one, or choose a full model of the same architecture (Architecture from…).";
}

/** Rows of `features` values for a model of `expected` inputs, in words; undefined when they fit or one is unknown. */
export function featureMismatch(
  file: string,
  features: number | undefined,
  expected: number | undefined,
  surface: Surface,
): string | undefined {
  if (features === undefined || expected === undefined || features === expected) return undefined;
  const way =
    surface === "cli" ? "give data with that many columns besides the label" : "Clear data or choose other data";
  return `${file}: rows have ${features} features; the models take ${expected} inputs (${way}).`;
}

/** Whether the models can be run, and when not, why and the way out (what learned, greedy, data-aware merges need). */
export function runnable(facts: CapabilityFacts, surface: Surface): { reason: string; wayOut: WayOut } | undefined {
  if (facts.withoutArchitecture.length === 0) return undefined;
  if (facts.architecture === undefined)
    return {
      reason: facts.pytorch
        ? torchArchitectureWayOut(surface)
        : architectureWayOut(facts.suggestedArchitecture, surface),
      wayOut: "architecture",
    };
  if (facts.architecture.error !== undefined)
    return {
      reason:
        surface === "cli"
          ? facts.architecture.error
          : `The chosen architecture does not fit the ingredients: ${facts.architecture.error}`,
      wayOut: "architecture",
    };
  return undefined;
}

/** Whether the data fits, when given: its own error, else a feature count that differs from the models' inputs. */
function dataProblem(facts: CapabilityFacts, surface: Surface): string | undefined {
  const data = facts.data;
  if (!data) return undefined;
  if (data.error !== undefined) return data.error;
  return featureMismatch(data.path, data.features, facts.modelFeatures, surface);
}

/** One method's capability on these facts. */
export function methodCapability(method: string, facts: CapabilityFacts, surface: Surface = "panel"): MethodCapability {
  const unavailable = (reason: string, wayOut: WayOut): MethodCapability => ({
    method,
    available: false,
    reason,
    wayOut,
  });
  const n = facts.ingredients.length;
  const { min, max } = ingredientRange(method);
  if (n < min)
    return unavailable(
      needsBase(method)
        ? `Needs the base model and at least ${min - 1} other${min - 1 === 1 ? "" : "s"}: include ${min} ingredients.`
        : `Include at least ${min === 1 ? "one ingredient" : `${min} ingredients`}.`,
      "ingredients",
    );
  if (n > max) return unavailable(`Merges the base with exactly one model: include ${max} ingredients.`, "ingredients");
  const fixed = isFixedMethod(method);
  const problem = dataProblem(facts, surface);
  if (fixed) {
    // Without data nothing runs; with data the comparison runs the models, so it needs what the others need.
    if (!facts.data) return { method, available: true };
    const notRunnable = runnable(facts, surface);
    if (notRunnable)
      return unavailable(`${notRunnable.reason} Or Clear data to merge without comparing.`, notRunnable.wayOut);
    if (problem) return unavailable(`${problem} Clear data to merge without comparing.`, "clearData");
    return { method, available: true };
  }
  const notRunnable = runnable(facts, surface);
  if (notRunnable) return unavailable(notRunnable.reason, notRunnable.wayOut);
  if (!facts.data)
    return unavailable(
      surface === "cli"
        ? "needs data to run the models on (--data <file>)"
        : "Needs data to learn from and compare on (Choose Data…); fixed merges run without.",
      "chooseData",
    );
  if (problem) return unavailable(problem, "clearData");
  return { method, available: true };
}

/** Every listed method's capability, in the list's order. */
export function methodCapabilities(
  methods: readonly string[],
  facts: CapabilityFacts,
  surface: Surface = "panel",
): MethodCapability[] {
  return methods.map((m) => methodCapability(m, facts, surface));
}
