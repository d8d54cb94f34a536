/**
 * Interchange with mergekit (arcee-ai/mergekit) YAML merge configs, for the methods both tools share:
 * export a MergeSpec (learned per-layer coefficients included) so a mergekit run can reproduce it,
 * and import such a config back into a MergeSpec. docs/mergekit.md says what maps and what does not.
 */
import YAML from "yaml";
import { LIMITS, jsonDepthExceeds } from "../formats/limits.js";
import { ModelFileError, UsageError } from "../errors.js";
import { isByLayer, isFilterRules, layerPositions, resolveParam, type TensorContext } from "../merge/params.js";
import { prepareMerge } from "../merge/plan.js";
import { getMergeMethod, isMergeMethodId } from "../merge/registry.js";
import type { FilterRule, MergeIngredient, MergeMethodId, MergeSpec, ParamValue, ScalarOrGradient } from "../merge/spec.js";
import type { TensorInfo } from "../tensor.js";

export type { ByLayer, FilterRule, MergeIngredient, MergeMethodId, MergeSpec, ParamValue, ScalarOrGradient } from "../merge/spec.js";

/** The methods that exist under the same name (and meaning) in mergekit. `uniform` exports as `linear`. */
export const MERGEKIT_METHODS: readonly MergeMethodId[] = ["linear", "task_arithmetic", "ties", "dare_linear", "dare_ties", "slerp", "model_stock"];

export interface MergekitExportOptions {
  /**
   * The models' tensors (name and layer). With them, per-layer values are checked to reach exactly their
   * layer's tensors under mergekit's rule (a filter matches every tensor whose name contains it), and
   * written per tensor where a layer name alone would be ambiguous. Without them the export is unchecked.
   */
  tensors?: readonly Pick<TensorInfo, "name" | "layer">[];
}

export interface MergekitExport {
  yaml: string;
  /** What the YAML cannot carry or could not check. */
  warnings: string[];
}

export interface MergekitImport {
  spec: MergeSpec;
  /** What was ignored or assumed. */
  warnings: string[];
}

type YamlParam = ScalarOrGradient | { filter?: string; value: ScalarOrGradient }[];

function rulesToYaml(rules: readonly FilterRule[]): YamlParam {
  return rules.map((r) => (r.filter === undefined ? { value: r.value } : { filter: r.filter, value: r.value }));
}

/** Layer names as filter rules, longest first so a name that contains another's is tried before it. */
function layerRules(byLayer: Record<string, number>): FilterRule[] {
  return Object.keys(byLayer)
    .sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0))
    .map((layer) => ({ filter: layer, value: byLayer[layer]! }));
}

/** Each listed layer's tensors by full name, longest first: a full name is matched only by itself. */
function tensorRules(byLayer: Record<string, number>, tensors: readonly Pick<TensorInfo, "name" | "layer">[]): FilterRule[] {
  return tensors
    .filter((t) => Object.hasOwn(byLayer, t.layer))
    .sort((a, b) => b.name.length - a.name.length || (a.name < b.name ? -1 : 1))
    .map((t) => ({ filter: t.name, value: byLayer[t.layer]! }));
}

function withDefault(rules: FilterRule[], fallback: ParamValue | undefined): FilterRule[] {
  if (fallback === undefined) return rules;
  if (isFilterRules(fallback)) return [...rules, ...fallback];
  if (isByLayer(fallback)) throw new UsageError("a per-layer value cannot default to another per-layer value");
  return [...rules, { value: fallback }];
}

class ParamExporter {
  readonly warnings: string[] = [];
  private readonly contexts?: TensorContext[];
  private uncheckedWarned = false;

  constructor(tensors?: readonly Pick<TensorInfo, "name" | "layer">[]) {
    if (tensors) {
      const positions = layerPositions(tensors.map((t) => t.layer));
      this.contexts = tensors.map((t) => ({ name: t.name, layer: t.layer, position: positions.get(t.layer) }));
    }
  }

  /** `value` in mergekit's syntax; `what` names it in errors. */
  toYaml(value: ParamValue, what: string): YamlParam {
    if (!isByLayer(value)) return isFilterRules(value) ? rulesToYaml(value) : value;
    const byLayer = value.byLayer;
    if (!this.contexts) {
      if (!this.uncheckedWarned) {
        this.warnings.push("Per-layer values were written as layer-name filters without checking them against the models' tensor names (no tensors were given)");
        this.uncheckedWarned = true;
      }
      return rulesToYaml(withDefault(layerRules(byLayer), value.default));
    }
    for (const candidate of [layerRules(byLayer), tensorRules(byLayer, this.tensorsOf())]) {
      const rules = withDefault(candidate, value.default);
      if (this.sameEverywhere(value, rules, what)) return rulesToYaml(rules);
    }
    throw new UsageError(`${what}: the per-layer values cannot be expressed with mergekit filters for these tensor names`);
  }

  private tensorsOf(): Pick<TensorInfo, "name" | "layer">[] {
    return this.contexts!.map((c) => ({ name: c.name, layer: c.layer }));
  }

  private sameEverywhere(original: ParamValue, rules: FilterRule[], what: string): boolean {
    for (const ctx of this.contexts!) {
      const want = resolveParam(original, ctx);
      if (want === undefined) {
        throw new UsageError(`${what}: no value for tensor ${ctx.name} (layer ${ctx.layer}); mergekit needs one for every tensor, so give a default`);
      }
      if (resolveParam(rules, ctx) !== want) return false;
    }
    return true;
  }
}

function ingredientWeight(g: MergeIngredient): ParamValue | undefined {
  if (g.weightsByLayer === undefined) return g.weight;
  if (g.weight !== undefined && isByLayer(g.weight)) {
    return { byLayer: { ...g.weight.byLayer, ...g.weightsByLayer }, default: g.weight.default };
  }
  return { byLayer: g.weightsByLayer, default: g.weight };
}

/** A mergekit YAML config that performs the merge `spec` describes. */
export function exportMergekitYaml(spec: MergeSpec, options: MergekitExportOptions = {}): MergekitExport {
  const prepared = prepareMerge(spec);
  const method = prepared.method;
  const exporter = new ParamExporter(options.tensors);
  const uniform = method.id === "uniform";
  const methodName = uniform ? "linear" : method.id;
  if (!uniform && !MERGEKIT_METHODS.includes(method.id)) {
    const why = method.data === "required" ? ": it depends on statistics of the models on data, which mergekit does not compute; re-create it with model-soup apply" : "";
    throw new UsageError(`${method.id} has no mergekit equivalent${why}`);
  }

  const models = prepared.modelIndices.map((i) => {
    const g = spec.ingredients[i]!;
    const parameters: Record<string, YamlParam> = {};
    const weight = uniform ? 1 : ingredientWeight(g);
    if (weight !== undefined) parameters.weight = exporter.toYaml(weight, `${g.path}: weight`);
    for (const [name, value] of Object.entries(g.params ?? {})) parameters[name] = exporter.toYaml(value, `${g.path}: ${name}`);
    return Object.keys(parameters).length ? { model: g.path, parameters } : { model: g.path };
  });

  // Every global parameter is written, defaults included, so the merge does not depend on mergekit's
  // defaults (which have changed between its versions).
  const parameters: Record<string, YamlParam> = uniform ? { normalize: true } : {};
  for (const def of method.globalParams) {
    const value = spec.params[def.name] ?? def.default;
    if (def.name === "seed") {
      exporter.warnings.push(`mergekit draws DARE's drop masks from torch's global random state: the seed (${value}) is not carried, so the dropped entries will differ from Model Soup's`);
      continue;
    }
    if (value !== undefined) parameters[def.name] = exporter.toYaml(value, `parameter ${def.name}`);
  }
  for (const [name, value] of Object.entries(spec.params)) {
    if (!(name in parameters) && name !== "seed") parameters[name] = exporter.toYaml(value, `parameter ${name}`);
  }

  const config: Record<string, unknown> = { models, merge_method: methodName };
  if (method.base === "required") config.base_model = spec.base;
  if (Object.keys(parameters).length) config.parameters = parameters;
  // Model Soup merges in float32; the written dtype is the inputs' unless the spec asks for another.
  config.dtype = "float32";
  if (spec.outDtype !== undefined) config.out_dtype = spec.outDtype;
  else exporter.warnings.push("No out_dtype: mergekit will write float32 tensors (Model Soup writes the inputs' dtype); set out_dtype to match them");

  const doc = new YAML.Document(config);
  YAML.visit(doc, {
    Seq(_, node) {
      if (node.items.every((item) => YAML.isScalar(item) && typeof item.value === "number")) node.flow = true;
    },
  });
  return { yaml: doc.toString({ lineWidth: 0, flowCollectionPadding: false }), warnings: exporter.warnings };
}

// ---------------------------------------------------------------------------------------------- import

const TOP_LEVEL_KEYS = new Set(["models", "slices", "modules", "merge_method", "base_model", "parameters", "dtype", "out_dtype", "tokenizer_source", "tokenizer", "chat_template"]);
const IGNORED_PARAMS: Record<string, string> = { int8_mask: "a mergekit memory option with no effect on the result" };

class Importer {
  readonly warnings: string[] = [];
  constructor(private readonly source: string) {}

  fail(expected: string): never {
    throw new ModelFileError(this.source, expected);
  }

  mapping(value: unknown, where: string): Record<string, unknown> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) this.fail(`${where} to be a mapping`);
    return value as Record<string, unknown>;
  }

  scalarOrGradient(value: unknown, where: string): ScalarOrGradient {
    if (typeof value === "number" || typeof value === "boolean") return value;
    if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "number")) return value as number[];
    if (typeof value === "string") this.fail(`${where} to be a number, not the string "${value}"`);
    return this.fail(`${where} to be a number, a boolean or a list of numbers (a gradient)`);
  }

  rule(value: unknown, where: string): FilterRule {
    const r = this.mapping(value, where);
    if (!("value" in r)) this.fail(`${where} to have a value`);
    for (const key of Object.keys(r)) {
      if (key !== "value" && key !== "filter") {
        this.warnings.push(`${where}: "${key}" is not a mergekit rule key (mergekit reads "filter"); like mergekit, the rule applies to every tensor`);
      }
    }
    const rule: FilterRule = { value: this.scalarOrGradient(r.value, `${where}.value`) };
    if (r.filter !== undefined && r.filter !== null) {
      if (typeof r.filter !== "string") this.fail(`${where}.filter to be a string`);
      rule.filter = r.filter;
    }
    return rule;
  }

  param(value: unknown, where: string): ParamValue {
    if (Array.isArray(value) && value.some((v) => typeof v === "object" && v !== null)) {
      return value.map((v, i) => this.rule(v, `${where}[${i}]`));
    }
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return [this.rule(value, where)];
    return this.scalarOrGradient(value, where);
  }

  params(value: unknown, where: string): Record<string, ParamValue> {
    if (value === undefined || value === null) return {};
    const out: Record<string, ParamValue> = {};
    for (const [name, v] of Object.entries(this.mapping(value, where))) {
      if (name in IGNORED_PARAMS) {
        this.warnings.push(`${where}.${name} ignored: ${IGNORED_PARAMS[name]}`);
        continue;
      }
      out[name] = this.param(v, `${where}.${name}`);
    }
    return out;
  }

  modelRef(value: unknown, where: string): string {
    if (typeof value !== "string" || value === "") this.fail(`${where} to be a model path or name`);
    return value;
  }

  ingredient(value: unknown, where: string): MergeIngredient {
    const m = this.mapping(value, where);
    const g: MergeIngredient = { path: this.modelRef(m.model, `${where}.model`) };
    const params = this.params(m.parameters, `${where}.parameters`);
    if (params.weight !== undefined) g.weight = params.weight;
    delete params.weight;
    if (Object.keys(params).length) g.params = params;
    return g;
  }

  /** `models:` entries, or the sources of a single slice that spans the same layers in every model. */
  ingredients(config: Record<string, unknown>): { ingredients: MergeIngredient[]; sliceParams: Record<string, ParamValue>; sliceBase?: string } {
    const forms = ["models", "slices", "modules"].filter((k) => config[k] !== undefined && config[k] !== null);
    if (forms.length !== 1) this.fail(`exactly one of models, slices or modules (found ${forms.length ? forms.join(", ") : "none"})`);
    if (forms[0] === "modules") this.fail("models or slices: multi-module configs (modules:) have no Model Soup equivalent");
    if (forms[0] === "models") {
      const models = config.models;
      if (!Array.isArray(models) || models.length === 0) this.fail("models to be a non-empty list");
      return { ingredients: models.map((m, i) => this.ingredient(m, `models[${i}]`)), sliceParams: {} };
    }
    const slices = config.slices;
    if (!Array.isArray(slices) || slices.length !== 1) {
      this.fail("a single slice: several output slices stack layers from different models (a frankenmerge), which Model Soup does not do");
    }
    const slice = this.mapping(slices[0], "slices[0]");
    const sources = slice.sources;
    if (!Array.isArray(sources) || sources.length === 0) this.fail("slices[0].sources to be a non-empty list");
    let range: string | undefined;
    const ingredients = sources.map((s, i) => {
      const src = this.mapping(s, `slices[0].sources[${i}]`);
      const r = src.layer_range;
      if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => Number.isInteger(x))) this.fail(`slices[0].sources[${i}].layer_range to be [start, end]`);
      const key = JSON.stringify(r);
      if (range !== undefined && key !== range) this.fail("every source of the slice to span the same layer_range (Model Soup merges whole models)");
      range = key;
      return this.ingredient(src, `slices[0].sources[${i}]`);
    });
    const [start] = JSON.parse(range!) as [number, number];
    if (start !== 0) this.fail(`a slice starting at layer 0 (Model Soup merges whole models), got layer_range ${range}`);
    this.warnings.push(`slices[0] with layer_range ${range} is taken as the whole models (mergekit would keep only those layers)`);
    if (slice.residual_weight !== undefined && slice.residual_weight !== null) this.fail("no residual_weight (it has no Model Soup equivalent)");
    const sliceBase = slice.base_model === undefined || slice.base_model === null ? undefined : this.modelRef(slice.base_model, "slices[0].base_model");
    return { ingredients, sliceParams: this.params(slice.parameters, "slices[0].parameters"), sliceBase };
  }
}

/** The MergeSpec of a mergekit YAML config; `source` names it in errors (its file path). */
export function importMergekitYaml(text: string, source = "mergekit config"): MergekitImport {
  const importer: Importer = new Importer(source);
  if (text.length > LIMITS.yamlBytes) importer.fail(`a YAML text of at most ${LIMITS.yamlBytes} characters (it has ${text.length})`);
  if (jsonDepthExceeds(text, LIMITS.jsonDepth)) importer.fail(`YAML nested at most ${LIMITS.jsonDepth} levels deep`);
  const docs = YAML.parseAllDocuments(text);
  if (!Array.isArray(docs)) importer.fail("a YAML document");
  const documents = docs.filter((d) => d.contents !== null);
  if (documents.length !== 1) {
    importer.fail(`one YAML document, found ${documents.length}${documents.length > 1 ? " (a mergekit-mega config: import each document on its own)" : ""}`);
  }
  const doc = documents[0]!;
  if (doc.errors.length) importer.fail(`valid YAML: ${doc.errors[0]!.message}`);
  let js: unknown;
  try {
    js = doc.toJS({ maxAliasCount: LIMITS.yamlAliases });
  } catch (error) {
    // The yaml library refuses alias expansion past maxAliasCount (a "billion laughs" document) with a ReferenceError.
    importer.fail(`YAML whose aliases expand to a bounded document (${(error as Error).message})`);
  }
  const config = importer.mapping(js, "the config");

  for (const key of Object.keys(config)) {
    if (key === "tokenizer_source" || key === "tokenizer" || key === "chat_template") {
      importer.warnings.push(`${key} ignored: Model Soup merges weights only, not tokenizers`);
    } else if (!TOP_LEVEL_KEYS.has(key)) {
      importer.warnings.push(`${key} ignored: not a mergekit merge setting Model Soup reads`);
    }
  }
  const methodName = config.merge_method;
  if (typeof methodName !== "string") importer.fail("merge_method");
  if (!isMergeMethodId(methodName) || !MERGEKIT_METHODS.includes(methodName)) {
    importer.fail(`merge_method to be one of ${MERGEKIT_METHODS.join(", ")} (got "${methodName}")`);
  }
  const method = getMergeMethod(methodName);
  const { ingredients, sliceParams, sliceBase } = importer.ingredients(config);
  // In mergekit a slice's parameters come before the global ones.
  const params = { ...importer.params(config.parameters, "parameters"), ...sliceParams };
  const spec: MergeSpec = { method: method.id, params, ingredients };
  const base = sliceBase ?? (config.base_model === undefined || config.base_model === null ? undefined : importer.modelRef(config.base_model, "base_model"));
  if (base !== undefined) {
    if (method.base === "none") importer.warnings.push(`base_model ${base} ignored: ${method.id} takes no base model`);
    else spec.base = base;
  }
  const outDtype = config.out_dtype ?? config.dtype;
  if (outDtype !== undefined && outDtype !== null) {
    if (typeof outDtype !== "string") importer.fail("dtype and out_dtype to be dtype names");
    spec.outDtype = outDtype;
  }
  try {
    prepareMerge(spec);
  } catch (e) {
    if (e instanceof UsageError) importer.fail(`a merge Model Soup can run: ${e.message}`);
    throw e;
  }
  return { spec, warnings: importer.warnings };
}
