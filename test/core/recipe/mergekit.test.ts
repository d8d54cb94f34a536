import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ModelFileError, UsageError } from "../../../src/core/errors.js";
import { layerPositions } from "../../../src/core/merge/params.js";
import { prepareMerge } from "../../../src/core/merge/plan.js";
import { exportMergekitYaml, importMergekitYaml, type MergeSpec } from "../../../src/core/recipe/mergekit.js";
import type { TensorInfo } from "../../../src/core/tensor.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "../../fixtures/mergekit");
const fixture = (name: string) => readFileSync(join(fixtures, name), "utf8");
const roundTrip = (spec: MergeSpec) => importMergekitYaml(exportMergekitYaml(spec).yaml).spec;

/** Merges random float tensors with both specs and asserts identical outputs, tensor by tensor. */
function assertSameMerge(
  a: MergeSpec,
  b: MergeSpec,
  tensors: Pick<TensorInfo, "name" | "layer">[],
  paths: string[],
): void {
  const pa = prepareMerge(a);
  const pb = prepareMerge(b);
  const positions = layerPositions(tensors.map((t) => t.layer));
  let s = 1;
  const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
  for (const t of tensors) {
    const values = new Map(paths.map((p) => [p, Float32Array.from({ length: 6 }, rand)]));
    const run = (spec: MergeSpec, prepared: ReturnType<typeof prepareMerge>) =>
      prepared.mergeTensor({
        info: { ...t, shape: [6], dtype: "float32" },
        position: positions.get(t.layer),
        ingredients: spec.ingredients.map((g) => values.get(g.path)!),
        base: spec.base === undefined ? undefined : values.get(spec.base),
      });
    assert.deepEqual(run(b, pb), run(a, pa), t.name);
  }
}

describe("recipe/mergekit export", () => {
  it("writes mergekit's schema: models with per-model parameters, base_model, explicit globals, dtype", () => {
    const { yaml } = exportMergekitYaml({
      method: "ties",
      base: "base",
      params: {},
      outDtype: "bfloat16",
      ingredients: [
        { path: "a", weight: 0.7, params: { density: 0.5 } },
        { path: "b", weight: 0.3, params: { density: 0.2 } },
      ],
    });
    assert.equal(
      yaml,
      [
        "models:",
        "  - model: a",
        "    parameters:",
        "      weight: 0.7",
        "      density: 0.5",
        "  - model: b",
        "    parameters:",
        "      weight: 0.3",
        "      density: 0.2",
        "merge_method: ties",
        "base_model: base",
        "parameters:",
        "  normalize: true",
        "  lambda: 1",
        "dtype: float32",
        "out_dtype: bfloat16",
        "",
      ].join("\n"),
    );
  });

  it("writes per-layer weights as filter rules, longest layer name first", () => {
    const tensors = [
      { name: "dense/kernel", layer: "dense" },
      { name: "dense/bias", layer: "dense" },
      { name: "out/kernel", layer: "out" },
    ];
    const { yaml, warnings } = exportMergekitYaml(
      {
        method: "linear",
        params: {},
        outDtype: "float32",
        ingredients: [
          { path: "a", weightsByLayer: { out: 0.75, dense: 0.25 } },
          { path: "b", weightsByLayer: { out: 0.25, dense: 0.75 } },
        ],
      },
      { tensors },
    );
    assert.deepEqual(warnings, []);
    assert.ok(
      yaml.startsWith(
        [
          "models:",
          "  - model: a",
          "    parameters:",
          "      weight:",
          "        - filter: dense",
          "          value: 0.25",
          "        - filter: out",
          "          value: 0.75",
          "",
        ].join("\n"),
      ),
      yaml,
    );
  });

  it("falls back to whole tensor names where a layer name would also match another layer's tensors", () => {
    // "d" is a substring of "e/bias_d", so the rule for layer d would also catch layer e's tensor
    const tensors = [
      { name: "d/bias", layer: "d" },
      { name: "e/bias_d", layer: "e" },
    ];
    const spec: MergeSpec = {
      method: "linear",
      params: {},
      outDtype: "float32",
      ingredients: [
        { path: "a", weightsByLayer: { d: 0.1, e: 0.9 } },
        { path: "b", weightsByLayer: { d: 0.9, e: 0.1 } },
      ],
    };
    const { yaml } = exportMergekitYaml(spec, { tensors });
    assert.match(yaml, /- filter: e\/bias_d\n\s+value: 0.9\n\s+- filter: d\/bias\n\s+value: 0.1/);
    assertSameMerge(spec, importMergekitYaml(yaml).spec, tensors, ["a", "b"]);
  });

  it("refuses per-layer weights that leave a tensor without a weight, since mergekit requires one", () => {
    assert.throws(
      () =>
        exportMergekitYaml(
          { method: "linear", params: {}, ingredients: [{ path: "a", weightsByLayer: { d: 1 } }] },
          {
            tensors: [
              { name: "d/k", layer: "d" },
              { name: "x/k", layer: "x" },
            ],
          },
        ),
      (e: unknown) => e instanceof UsageError && /no value for tensor x\/k/.test(e.message),
    );
  });

  it("refuses RegMean and Fisher, which have no mergekit equivalent, saying why", () => {
    for (const method of ["regmean", "fisher"] as const) {
      assert.throws(
        () => exportMergekitYaml({ method, params: {}, ingredients: [{ path: "a" }, { path: "b" }] }),
        (e: unknown) =>
          e instanceof UsageError &&
          new RegExp(`^${method} has no mergekit equivalent: it depends on statistics of the models on data`).test(
            e.message,
          ),
      );
    }
  });

  it("warns about what the YAML cannot carry or check", () => {
    const dare = exportMergekitYaml({
      method: "dare_ties",
      base: "base",
      params: { seed: 42 },
      outDtype: "float16",
      ingredients: [{ path: "a", weight: 1, params: { density: 0.3 } }],
    });
    assert.ok(dare.warnings.some((w) => /seed \(42\) is not carried/.test(w)));
    assert.doesNotMatch(dare.yaml, /seed/);
    const unchecked = exportMergekitYaml({
      method: "linear",
      params: {},
      ingredients: [{ path: "a", weightsByLayer: { d: 1 }, weight: 0.5 }],
    });
    assert.ok(unchecked.warnings.some((w) => /without checking/.test(w)));
    assert.ok(unchecked.warnings.some((w) => /No out_dtype/.test(w)));
  });
});

describe("recipe/mergekit round trip", () => {
  const specs: MergeSpec[] = [
    {
      method: "linear",
      params: { normalize: false },
      outDtype: "float16",
      ingredients: [
        { path: "a", weight: 0.2 },
        { path: "b", weight: 0.8 },
      ],
    },
    {
      method: "task_arithmetic",
      base: "base",
      params: { normalize: false, lambda: 0.8 },
      outDtype: "bfloat16",
      ingredients: [
        { path: "a", weight: 0.5 },
        { path: "b", weight: 1.5 },
      ],
    },
    {
      method: "ties",
      base: "base",
      params: { normalize: true, lambda: 1 },
      outDtype: "float32",
      ingredients: [
        { path: "a", weight: 1, params: { density: 0.2 } },
        { path: "b", weight: [0.3, 0.9], params: { density: 0.7 } },
      ],
    },
    {
      method: "dare_linear",
      base: "base",
      params: { normalize: false, rescale: true, lambda: 1, density: 0.4 },
      outDtype: "float16",
      ingredients: [
        { path: "a", weight: 0.6 },
        { path: "b", weight: 0.4 },
      ],
    },
    {
      method: "dare_ties",
      base: "base",
      params: { normalize: true, rescale: false, lambda: 2 },
      outDtype: "float16",
      ingredients: [{ path: "a", weight: 1, params: { density: 0.9 } }],
    },
    {
      method: "slerp",
      base: "a",
      params: { t: [{ filter: "self_attn", value: [0, 0.5, 1] }, { value: 0.5 }] },
      outDtype: "bfloat16",
      ingredients: [{ path: "b" }],
    },
    {
      method: "model_stock",
      base: "base",
      params: { filter_wise: true },
      outDtype: "bfloat16",
      ingredients: [{ path: "a" }, { path: "b" }, { path: "c" }],
    },
  ];
  for (const spec of specs) {
    it(`${spec.method}: export then import gives the same spec`, () => {
      assert.deepEqual(roundTrip(spec), spec);
    });
  }

  it("uniform exports as linear with equal weights and merges identically", () => {
    const spec: MergeSpec = {
      method: "uniform",
      params: {},
      outDtype: "float32",
      ingredients: [{ path: "a" }, { path: "b" }, { path: "c" }],
    };
    const back = roundTrip(spec);
    assert.equal(back.method, "linear");
    assertSameMerge(spec, back, [{ name: "w", layer: "w" }], ["a", "b", "c"]);
  });

  it("a layer-granular learned task-arithmetic merge survives the trip tensor for tensor", () => {
    const tensors = [
      "model.layers.0.mlp.up_proj",
      "model.layers.1.mlp.up_proj",
      "model.layers.10.mlp.up_proj",
      "lm_head",
    ].flatMap((layer) => [
      { name: `${layer}.weight`, layer },
      ...(layer === "lm_head" ? [] : [{ name: `${layer}.bias`, layer }]),
    ]);
    const spec: MergeSpec = {
      method: "task_arithmetic",
      base: "base",
      params: { normalize: false, lambda: 1 },
      outDtype: "bfloat16",
      ingredients: [
        {
          path: "a",
          weight: 0.5,
          weightsByLayer: {
            "model.layers.0.mlp.up_proj": 0.1,
            "model.layers.1.mlp.up_proj": 0.2,
            "model.layers.10.mlp.up_proj": 0.3,
          },
        },
        {
          path: "b",
          weightsByLayer: {
            "model.layers.0.mlp.up_proj": 0.9,
            "model.layers.1.mlp.up_proj": 0.8,
            "model.layers.10.mlp.up_proj": 0.7,
            lm_head: 0.6,
          },
        },
      ],
    };
    const back = importMergekitYaml(exportMergekitYaml(spec, { tensors }).yaml).spec;
    assertSameMerge(spec, back, tensors, ["base", "a", "b"]);
  });
});

describe("recipe/mergekit import", () => {
  it("reads a linear config", () => {
    const { spec, warnings } = importMergekitYaml(fixture("linear.yml"));
    assert.deepEqual(spec, {
      method: "linear",
      params: {},
      outDtype: "float16",
      ingredients: [
        { path: "example-org/soup-ingredient-a", weight: 1 },
        { path: "example-org/soup-ingredient-b", weight: 0.3 },
        { path: "example-org/soup-ingredient-c", weight: 0.5 },
      ],
    });
    assert.deepEqual(warnings, []);
  });

  it("reads a TIES config and says int8_mask is ignored", () => {
    const { spec, warnings } = importMergekitYaml(fixture("ties.yml"));
    assert.deepEqual(spec, {
      method: "ties",
      base: "example-org/base-7b",
      params: { normalize: false },
      outDtype: "float16",
      ingredients: [
        { path: "example-org/chat-7b", weight: 0.5, params: { density: 0.5 } },
        { path: "example-org/med-7b", weight: 0.5, params: { density: 0.5 } },
      ],
    });
    assert.deepEqual(warnings, ["parameters.int8_mask ignored: a mergekit memory option with no effect on the result"]);
  });

  it("reads a single-slice gradient SLERP as a whole-model merge, saying so", () => {
    const { spec, warnings } = importMergekitYaml(fixture("gradient-slerp.yml"));
    assert.deepEqual(spec, {
      method: "slerp",
      base: "example-org/left-13b",
      params: {
        t: [
          { filter: "self_attn", value: [0, 0.5, 0.3, 0.7, 1] },
          { filter: "mlp", value: [1, 0.5, 0.7, 0.3, 0] },
          { value: 0.5 },
        ],
      },
      outDtype: "bfloat16",
      ingredients: [{ path: "example-org/left-13b" }, { path: "example-org/right-13b" }],
    });
    assert.deepEqual(warnings, [
      "slices[0] with layer_range [0,40] is taken as the whole models (mergekit would keep only those layers)",
    ]);
    assert.deepEqual(prepareMerge(spec).modelIndices, [1]);
  });

  it("reads DARE-TIES with a density gradient and a weight given by filters", () => {
    const { spec, warnings } = importMergekitYaml(fixture("dare-ties.yml"));
    assert.deepEqual(spec.ingredients, [
      { path: "./models/slerped", weight: 1, params: { density: [1, 0.7, 0.1] } },
      {
        path: "example-org/math-13b",
        weight: [{ filter: "mlp", value: 0.5 }, { value: 0 }],
        params: { density: 0.33 },
      },
    ]);
    assert.deepEqual(spec.params, { normalize: true });
    assert.ok(warnings.includes("tokenizer_source ignored: Model Soup merges weights only, not tokenizers"));
  });

  it("reads Model Stock with the base also listed among the models", () => {
    const { spec } = importMergekitYaml(fixture("model-stock.yml"));
    assert.equal(spec.base, "example-org/base-8b");
    assert.deepEqual(prepareMerge(spec).modelIndices, [1, 2, 3]);
  });

  it("follows mergekit where a rule key is misspelled: the rule applies to every tensor, with a warning", () => {
    const { spec, warnings } = importMergekitYaml(
      "models:\n  - model: a\n  - model: b\nmerge_method: slerp\nbase_model: a\nparameters:\n  t:\n    - pattern: mlp\n      value: 0.3\n    - value: 0.5\n",
    );
    assert.deepEqual(spec.params.t, [{ value: 0.3 }, { value: 0.5 }]);
    assert.match(warnings[0]!, /"pattern" is not a mergekit rule key/);
  });

  it("refuses what Model Soup cannot run, naming the file and the reason", () => {
    const refuses = (yaml: string, pattern: RegExp) =>
      assert.throws(
        () => importMergekitYaml(yaml, "cfg.yml"),
        (e: unknown) => e instanceof ModelFileError && e.file === "cfg.yml" && pattern.test(e.message),
        yaml,
      );
    refuses("models:\n  - model: a\nmerge_method: passthrough\n", /merge_method to be one of .* \(got "passthrough"\)/);
    refuses("models:\n  - model: a\n", /merge_method/);
    refuses(
      "models: [{model: a}]\nmerge_method: linear\n---\nmodels: [{model: b}]\nmerge_method: linear\n",
      /mergekit-mega/,
    );
    refuses("modules:\n  text: {models: [{model: a}]}\nmerge_method: linear\n", /modules/);
    refuses(
      "slices:\n  - sources: [{model: a, layer_range: [0, 4]}]\n  - sources: [{model: b, layer_range: [4, 8]}]\nmerge_method: linear\n",
      /single slice/,
    );
    refuses(
      "slices:\n  - sources: [{model: a, layer_range: [0, 4]}, {model: b, layer_range: [0, 8]}]\nmerge_method: linear\n",
      /same layer_range/,
    );
    refuses("models:\n  - model: a\n    parameters: {weight: heavy}\nmerge_method: linear\n", /not the string "heavy"/);
    refuses("models: [{model: a}, {model: b}]\nmerge_method: model_stock\nbase_model: a\n", /at least 2/);
    refuses(
      "models: [{model: a, parameters: {weight: 1, gamma: 0.1}}]\nmerge_method: ties\nbase_model: b\n",
      /no per-model parameter "gamma"/,
    );
    refuses("models: [a, b\nmerge_method: linear\n", /valid YAML/);
    refuses("- just\n- a list\n", /the config to be a mapping/);
  });
});
