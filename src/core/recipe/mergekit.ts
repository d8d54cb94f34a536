/**
 * Interchange with mergekit (arcee-ai/mergekit) YAML merge configs, for the methods both tools share:
 * export a MergeSpec (learned per-layer coefficients included) so a mergekit run can reproduce it,
 * and import such a config back into a MergeSpec. docs/mergekit.md says what maps and what does not.
 */
import * as v from "valibot";
import YAML from "yaml";
import { check } from "../../protocol/schema.js";
import { LIMITS, jsonDepthExceeds } from "../formats/limits.js";
import { ModelFileError, UsageError } from "../errors.js";
import { isByLayer, isFilterRules, layerPositions, resolveParam, type TensorContext } from "../merge/params.js";
import { prepareMerge } from "../merge/plan.js";
import { getMergeMethod, listMergeMethods } from "../merge/registry.js";
import type {
  FilterRule,
  MergeIngredient,
  MergeMethodId,
  MergeSpec,
  ParamValue,
  ScalarOrGradient,
} from "../merge/spec.js";
import type { TensorInfo } from "../tensor.js";

export type {
  ByLayer,
  FilterRule,
  MergeIngredient,
  MergeMethodId,
  MergeSpec,
  ParamValue,
  ScalarOrGradient,
} from "../merge/spec.js";

/** The methods that exist under the same name (and meaning) in mergekit. `uniform` exports as `linear`. */
export const MERGEKIT_METHODS: readonly MergeMethodId[] = listMergeMethods()
  .filter((m) => m.mergekit)
  .map((m) => m.id);

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
function tensorRules(
  byLayer: Record<string, number>,
  tensors: readonly Pick<TensorInfo, "name" | "layer">[],
): FilterRule[] {
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
        this.warnings.push(
          "Per-layer values were written as layer-name filters without checking them against the models' tensor names (no tensors were given)",
        );
        this.uncheckedWarned = true;
      }
      return rulesToYaml(withDefault(layerRules(byLayer), value.default));
    }
    for (const candidate of [layerRules(byLayer), tensorRules(byLayer, this.tensorsOf())]) {
      const rules = withDefault(candidate, value.default);
      if (this.sameEverywhere(value, rules, what)) return rulesToYaml(rules);
    }
    throw new UsageError(
      `${what}: the per-layer values cannot be expressed with mergekit filters for these tensor names`,
    );
  }

  private tensorsOf(): Pick<TensorInfo, "name" | "layer">[] {
    return this.contexts!.map((c) => ({ name: c.name, layer: c.layer }));
  }

  private sameEverywhere(original: ParamValue, rules: FilterRule[], what: string): boolean {
    for (const ctx of this.contexts!) {
      const want = resolveParam(original, ctx);
      if (want === undefined) {
        throw new UsageError(
          `${what}: no value for tensor ${ctx.name} (layer ${ctx.layer}); mergekit needs one for every tensor, so give a default`,
        );
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
    const why =
      method.data === "required"
        ? ": it depends on statistics of the models on data, which mergekit does not compute; re-create it with model-soup apply"
        : method.base === "required" && method.scope === "tensor" && !method.mergekit
          ? ": mergekit has no merge on the singular vectors of each weight matrix (TSV-M, Iso-C, Iso-CTS) nor WUDI's interference objective; re-create it with model-soup apply"
          : "";
    throw new UsageError(`${method.id} has no mergekit equivalent${why}`);
  }

  const models = prepared.modelIndices.map((i) => {
    const g = spec.ingredients[i]!;
    const parameters: Record<string, YamlParam> = {};
    const weight = uniform ? 1 : ingredientWeight(g);
    if (weight !== undefined) parameters.weight = exporter.toYaml(weight, `${g.path}: weight`);
    for (const [name, value] of Object.entries(g.params ?? {}))
      parameters[name] = exporter.toYaml(value, `${g.path}: ${name}`);
    return Object.keys(parameters).length ? { model: g.path, parameters } : { model: g.path };
  });

  // Every global parameter is written, defaults included, so the merge does not depend on mergekit's
  // defaults (which have changed between its versions).
  const parameters: Record<string, YamlParam> = uniform ? { normalize: true } : {};
  for (const def of method.globalParams) {
    const value = spec.params[def.name] ?? def.default;
    if (def.name === "seed") {
      exporter.warnings.push(
        `mergekit draws DARE's drop masks from torch's global random state: the seed (${value}) is not carried, so the dropped entries will differ from Model Soup's`,
      );
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
  else
    exporter.warnings.push(
      "No out_dtype: mergekit will write float32 tensors (Model Soup writes the inputs' dtype); set out_dtype to match them",
    );

  const doc = new YAML.Document(config);
  YAML.visit(doc, {
    Seq(_, node) {
      if (node.items.every((item) => YAML.isScalar(item) && typeof item.value === "number")) node.flow = true;
    },
  });
  return { yaml: doc.toString({ lineWidth: 0, flowCollectionPadding: false }), warnings: exporter.warnings };
}

// ---------------------------------------------------------------------------------------------- import

const TOP_LEVEL_KEYS = new Set([
  "models",
  "slices",
  "modules",
  "merge_method",
  "base_model",
  "parameters",
  "dtype",
  "out_dtype",
  "tokenizer_source",
  "tokenizer",
  "chat_template",
]);
const IGNORED_PARAMS: Record<string, string> = { int8_mask: "a mergekit memory option with no effect on the result" };

// The config's shape, checked before it is read. Messages complete "<file>: <where> ...", as mergekit's own
// pydantic errors say what a field should be.
const toBe = (what: string) => `to be ${what}`;
const scalarOrGradient = v.union([v.number(), v.boolean(), v.pipe(v.array(v.number()), v.minLength(1))], (issue) =>
  typeof issue.input === "string"
    ? `to be a number, not the string "${issue.input}"`
    : "to be a number, a boolean or a list of numbers (a gradient)",
);
/** A conditional rule; keys other than filter and value are kept to be warned about, as mergekit ignores them. */
const ruleSchema = v.looseObject(
  { filter: v.nullish(v.string(toBe("a string"))), value: scalarOrGradient },
  toBe("a mapping"),
);
type YamlRule = v.InferOutput<typeof ruleSchema>;
const isMapping = (x: unknown) => typeof x === "object" && x !== null && !Array.isArray(x);
/** A parameter: a scalar or gradient, one rule, or a list of rules (a list holding any mapping is read as rules). */
const paramSchema = v.lazy((input): v.GenericSchema<ScalarOrGradient | YamlRule | YamlRule[]> =>
  Array.isArray(input) && input.some(isMapping)
    ? v.array(ruleSchema)
    : isMapping(input)
      ? ruleSchema
      : scalarOrGradient,
);
const paramsSchema = v.nullish(v.record(v.string(), paramSchema, toBe("a mapping")));
const modelRef = v.pipe(v.string(toBe("a model path or name")), v.minLength(1, toBe("a model path or name")));
const modelSchema = v.looseObject({ model: modelRef, parameters: paramsSchema }, toBe("a mapping"));
const layerRange = v.custom<[number, number]>(
  (r) => Array.isArray(r) && r.length === 2 && r.every((x) => Number.isInteger(x)),
  toBe("[start, end]"),
);
const sliceSchema = v.looseObject(
  {
    sources: v.pipe(
      v.array(
        v.looseObject({ ...modelSchema.entries, layer_range: layerRange }, toBe("a mapping")),
        toBe("a non-empty list"),
      ),
      v.minLength(1, toBe("a non-empty list")),
    ),
    parameters: paramsSchema,
    base_model: v.nullish(modelRef),
    residual_weight: v.optional(v.unknown()),
  },
  toBe("a mapping"),
);
const configSchema = v.looseObject(
  {
    merge_method: v.picklist(
      MERGEKIT_METHODS,
      (issue) => `to be one of ${MERGEKIT_METHODS.join(", ")} (got ${JSON.stringify(issue.input) ?? "nothing"})`,
    ),
    models: v.nullish(v.pipe(v.array(modelSchema, toBe("a non-empty list")), v.minLength(1, toBe("a non-empty list")))),
    slices: v.nullish(v.array(sliceSchema, toBe("a list of slices"))),
    modules: v.optional(v.unknown()),
    base_model: v.nullish(modelRef),
    parameters: paramsSchema,
    dtype: v.nullish(v.string(toBe("a dtype name"))),
    out_dtype: v.nullish(v.string(toBe("a dtype name"))),
  },
  toBe("a mapping"),
);
type YamlConfig = v.InferOutput<typeof configSchema>;
type YamlParams = v.InferOutput<typeof paramsSchema>;
type YamlModel = v.InferOutput<typeof modelSchema>;

/** Turns a checked config into Model Soup's terms, noting what it ignores or assumes. */
class Importer {
  readonly warnings: string[] = [];
  constructor(private readonly source: string) {}

  fail(expected: string): never {
    throw new ModelFileError(this.source, expected);
  }

  rule(r: YamlRule, where: string): FilterRule {
    for (const key of Object.keys(r)) {
      if (key !== "value" && key !== "filter") {
        this.warnings.push(
          `${where}: "${key}" is not a mergekit rule key (mergekit reads "filter"); like mergekit, the rule applies to every tensor`,
        );
      }
    }
    return r.filter === undefined || r.filter === null ? { value: r.value } : { filter: r.filter, value: r.value };
  }

  params(value: YamlParams, where: string): Record<string, ParamValue> {
    const out: Record<string, ParamValue> = {};
    for (const [name, v] of Object.entries(value ?? {})) {
      if (name in IGNORED_PARAMS) {
        this.warnings.push(`${where}.${name} ignored: ${IGNORED_PARAMS[name]}`);
        continue;
      }
      const at = `${where}.${name}`;
      out[name] =
        Array.isArray(v) && v.some(isMapping)
          ? (v as YamlRule[]).map((r, i) => this.rule(r, `${at}[${i}]`))
          : isMapping(v)
            ? [this.rule(v as YamlRule, at)]
            : (v as ScalarOrGradient);
    }
    return out;
  }

  ingredient(m: YamlModel, where: string): MergeIngredient {
    const g: MergeIngredient = { path: m.model };
    const params = this.params(m.parameters, `${where}.parameters`);
    if (params.weight !== undefined) g.weight = params.weight;
    delete params.weight;
    if (Object.keys(params).length) g.params = params;
    return g;
  }

  /** `models:` entries, or the sources of a single slice that spans the same layers in every model. */
  ingredients(config: YamlConfig): {
    ingredients: MergeIngredient[];
    sliceParams: Record<string, ParamValue>;
    sliceBase?: string;
  } {
    const forms = (["models", "slices", "modules"] as const).filter(
      (k) => config[k] !== undefined && config[k] !== null,
    );
    if (forms.length !== 1)
      this.fail(`exactly one of models, slices or modules (found ${forms.length ? forms.join(", ") : "none"})`);
    if (forms[0] === "modules")
      this.fail("models or slices: multi-module configs (modules:) have no Model Soup equivalent");
    if (config.models)
      return { ingredients: config.models.map((m, i) => this.ingredient(m, `models[${i}]`)), sliceParams: {} };
    const slices = config.slices!;
    if (slices.length !== 1) {
      this.fail(
        "a single slice: several output slices stack layers from different models (a frankenmerge), which Model Soup does not do",
      );
    }
    const slice = slices[0]!;
    const range = JSON.stringify(slice.sources[0]!.layer_range);
    if (slice.sources.some((src) => JSON.stringify(src.layer_range) !== range)) {
      this.fail("every source of the slice to span the same layer_range (Model Soup merges whole models)");
    }
    const ingredients = slice.sources.map((src, i) => this.ingredient(src, `slices[0].sources[${i}]`));
    if (slice.sources[0]!.layer_range[0] !== 0)
      this.fail(`a slice starting at layer 0 (Model Soup merges whole models), got layer_range ${range}`);
    this.warnings.push(
      `slices[0] with layer_range ${range} is taken as the whole models (mergekit would keep only those layers)`,
    );
    if (slice.residual_weight !== undefined && slice.residual_weight !== null)
      this.fail("no residual_weight (it has no Model Soup equivalent)");
    return {
      ingredients,
      sliceParams: this.params(slice.parameters, "slices[0].parameters"),
      sliceBase: slice.base_model ?? undefined,
    };
  }
}

/** The MergeSpec of a mergekit YAML config; `source` names it in errors (its file path). */
export function importMergekitYaml(text: string, source = "mergekit config"): MergekitImport {
  const importer: Importer = new Importer(source);
  if (text.length > LIMITS.yamlBytes)
    importer.fail(`a YAML text of at most ${LIMITS.yamlBytes} characters (it has ${text.length})`);
  if (jsonDepthExceeds(text, LIMITS.jsonDepth)) importer.fail(`YAML nested at most ${LIMITS.jsonDepth} levels deep`);
  const docs = YAML.parseAllDocuments(text);
  if (!Array.isArray(docs)) importer.fail("a YAML document");
  const documents = docs.filter((d) => d.contents !== null);
  if (documents.length !== 1) {
    importer.fail(
      `one YAML document, found ${documents.length}${documents.length > 1 ? " (a mergekit-mega config: import each document on its own)" : ""}`,
    );
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
  if (!isMapping(js)) importer.fail("the config to be a mapping");
  const checked = check(configSchema, js, "");
  if (!checked.ok) importer.fail(checked.problem);
  const config = checked.value;

  for (const key of Object.keys(config)) {
    if (key === "tokenizer_source" || key === "tokenizer" || key === "chat_template") {
      importer.warnings.push(`${key} ignored: Model Soup merges weights only, not tokenizers`);
    } else if (!TOP_LEVEL_KEYS.has(key)) {
      importer.warnings.push(`${key} ignored: not a mergekit merge setting Model Soup reads`);
    }
  }
  const method = getMergeMethod(config.merge_method);
  const { ingredients, sliceParams, sliceBase } = importer.ingredients(config);
  // In mergekit a slice's parameters come before the global ones.
  const params = { ...importer.params(config.parameters, "parameters"), ...sliceParams };
  const spec: MergeSpec = { method: method.id, params, ingredients };
  const base = sliceBase ?? config.base_model ?? undefined;
  if (base !== undefined) {
    if (method.base === "none") importer.warnings.push(`base_model ${base} ignored: ${method.id} takes no base model`);
    else spec.base = base;
  }
  const outDtype = config.out_dtype ?? config.dtype;
  if (outDtype !== undefined && outDtype !== null) spec.outDtype = outDtype;
  try {
    prepareMerge(spec);
  } catch (e) {
    if (e instanceof UsageError) importer.fail(`a merge Model Soup can run: ${e.message}`);
    throw e;
  }
  return { spec, warnings: importer.warnings };
}
