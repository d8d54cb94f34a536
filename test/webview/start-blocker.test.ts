import assert from "node:assert/strict";
import { DEFAULT_CONFIG, type MergeConfig, type PanelInit } from "../../src/protocol/panel.js";
import { startBlocker } from "../../webview/start-blocker.js";
import {
  architectureButtonText,
  forgetOutcome,
  ingredientLabel,
  needsArchitecture,
  type StoredState,
} from "../../webview/state.js";

const paths = ["/m/a.h5", "/m/b.h5", "/m/c.h5"];
const config: MergeConfig = {
  ...DEFAULT_CONFIG,
  ingredients: paths.map((path) => ({ path, include: true, coefficient: 1 })),
  data: { path: "/d/rows.csv" },
};
const row = (path: string, architecture = true) => ({
  path,
  label: path.slice(3),
  format: "Keras H5",
  parameters: 10,
  dtype: "float32",
  architecture,
});
const init: PanelInit = {
  title: "Merge 3 Models",
  ingredients: paths.map((p) => row(p)),
  compatibility: { mergeable: true, message: "compatible" },
  trusted: true,
  defaults: config,
};
const page = (
  change: Partial<MergeConfig> = {},
  stored: StoredState = { models: paths },
  over: Partial<PanelInit> = {},
) => ({
  init: { ...init, ...over },
  config: { ...config, ...change },
  stored,
  invalidFields: new Set<string>(),
});

describe("webview/start-blocker (why Start waits)", () => {
  it("lets a whole configuration start", () => {
    assert.equal(startBlocker(page()), undefined);
  });

  it("applies the protocol's split rule, counting no drawn test rows when the user gave their own", () => {
    const split = { validationFraction: 0.5, testFraction: 0.5 };
    assert.match(startBlocker(page(split)) ?? "", /leave no data to learn from/);
    assert.equal(startBlocker(page({ ...split, data: { path: "/d/rows.csv", test: "/d/held-out.csv" } })), undefined);
  });

  it("aligns only the methods the protocol says can align", () => {
    assert.equal(startBlocker(page({ method: "greedy", align: "weight" })), undefined);
    assert.match(startBlocker(page({ method: "uniform", align: "weight" })) ?? "", /Aligning applies/);
  });

  it("asks for an architecture when an ingredient records none, and for one that fits", () => {
    const weightsOnly = { ingredients: [row(paths[0]!, false), row(paths[1]!), row(paths[2]!)] };
    assert.ok(needsArchitecture({ ...init, ...weightsOnly }));
    assert.match(startBlocker(page({}, undefined, weightsOnly)) ?? "", /weights only.*Architecture from/);
    assert.equal(startBlocker(page({ architecture: "/m/full.keras" }, undefined, weightsOnly)), undefined);
    const wrong = { models: paths, architectureError: "/m/other.keras does not hold the ingredients' weights layout" };
    assert.match(startBlocker(page({ architecture: "/m/other.keras" }, wrong, weightsOnly)) ?? "", /does not fit/);
    // A fixed merge needs no architecture without data: it reads the weights only.
    const { data: _, ...noData } = config;
    assert.equal(
      startBlocker({ ...page({}, undefined, weightsOnly), config: { ...noData, method: "uniform" } }),
      undefined,
    );
  });

  it("PyTorch state dicts wait for a PyTorch architecture (not a Keras file); TorchScript ingredients start as they are", () => {
    const stateDicts = { pytorch: true, ingredients: paths.map((p) => row(p, false)) };
    const blocked = startBlocker(page({}, undefined, stateDicts)) ?? "";
    assert.match(blocked, /PyTorch state dicts hold weights only.*PyTorch Architecture…/);
    assert.equal(architectureButtonText({ ...init, ...stateDicts }), "PyTorch Architecture…");
    assert.equal(architectureButtonText(init), "Architecture from…");
    assert.equal(startBlocker(page({ architecture: "torchvision:resnet18" }, undefined, stateDicts)), undefined);
    assert.equal(startBlocker(page({}, undefined, { pytorch: true })), undefined);
  });

  it("runs fixed merges without data; learned, greedy and data-aware ones wait for data that fits", () => {
    const { data: _, ...noData } = config;
    for (const method of ["uniform", "manual", "ties", "task_arithmetic", "model_stock", "tsv_m"] as const)
      assert.equal(startBlocker({ ...page(), config: { ...noData, method } }), undefined, method);
    for (const method of ["learned", "greedy", "regmean", "fisher"] as const)
      assert.match(startBlocker({ ...page(), config: { ...noData, method } }) ?? "", /Needs data/, method);
    assert.match(startBlocker(page({}, { models: paths, dataError: "rows.csv: 3 columns" })) ?? "", /3 columns/);
    // The feature count the data preview read against the models' inputs (from their first kernel when weights-only).
    const preview = { path: "/d/rows.csv", task: "classification", samples: 10, xShape: [10, 64], notes: [] };
    const wide = startBlocker(page({}, { models: paths, preview }, { modelFeatures: 43 })) ?? "";
    assert.match(wide, /rows have 64 features; the models take 43 inputs/);
    assert.equal(
      startBlocker(page({}, { models: paths, preview: { ...preview, xShape: [10, 43] } }, { modelFeatures: 43 })),
      undefined,
    );
    const test = { data: { path: "/d/rows.csv", test: "/d/t.csv" } };
    assert.match(
      startBlocker(page(test, { models: paths, testRows: { error: "t.csv: 3 columns" } })) ?? "",
      /test rows/,
    );
  });

  it("needs two included ingredients (one for manual weights) and valid fields", () => {
    const one = config.ingredients.map((i, k) => ({ ...i, include: k === 0 }));
    assert.match(startBlocker(page({ ingredients: one })) ?? "", /at least 2 ingredients/);
    assert.equal(startBlocker(page({ ingredients: one, method: "manual" })), undefined);
    const p = page();
    p.invalidFields.add("steps");
    assert.match(startBlocker(p) ?? "", /drawn in red/);
  });
});

describe("webview/state", () => {
  it("forgets the result and everything drawn from it, and says whether there was one", () => {
    const stored: StoredState = {
      models: paths,
      verdict: "v",
      saved: { model: "m", recipe: "r" },
      layerChanges: { model: "m", reference: "a", rows: [] },
      basin: "kept",
    };
    assert.equal(forgetOutcome(stored), true);
    assert.deepEqual(
      [stored.verdict, stored.saved, stored.layerChanges, stored.basin],
      [undefined, undefined, undefined, "kept"],
    );
    assert.equal(forgetOutcome(stored), false);
  });

  it("labels an ingredient by its number in the panel", () => {
    assert.equal(ingredientLabel(init, "/m/b.h5"), "#2 b.h5");
    assert.equal(ingredientLabel(init, "/elsewhere.h5"), "/elsewhere.h5");
  });
});
