import assert from "node:assert/strict";
import { DEFAULT_CONFIG, leavesLearnRows, type MergeConfig } from "../../src/protocol/panel.js";
import type { EvaluateReport } from "../../src/protocol/worker.js";
import { canAlign } from "../../src/protocol/choices.js";
import {
  jobRequest,
  jobTitle,
  reportOfEvaluation,
  saveRequest,
  soupCoefficients,
} from "../../src/host/panel-request.js";

const models = ["/m/a/model.json", "/m/b/model.json", "/m/c/model.json"];
const base: MergeConfig = {
  ...DEFAULT_CONFIG,
  backend: "auto",
  ingredients: models.map((path, i) => ({ path, include: i !== 1, coefficient: i + 1 })),
  data: { path: "/d/soup.csv", label: "y" },
  validationFraction: 0.2,
  testFraction: 0.3,
  seed: 7,
};
const data = { path: "/d/soup.csv", label: "y", seed: 7, fractions: { learn: 0.5, validation: 0.2, test: 0.3 } };

describe("host/panel-request (Merge panel configuration → worker request)", () => {
  it("a learned soup: the learn request with the panel's learning settings, on the included models", () => {
    const job = jobRequest({ ...base, method: "learned", backend: "wasm" }, models, "panel-1");
    assert.equal(job.request, "learn");
    assert.deepEqual(job.params, {
      models: [models[0], models[2]],
      data,
      backend: "wasm",
      jobId: "panel-1",
      granularity: base.granularity,
      parameterisation: base.parameterisation,
      objective: base.objective,
      learningRate: base.learningRate,
      maxSteps: base.steps,
      batchSize: base.batchSize,
    });
  });

  it("greedy, RegMean and Fisher: their requests; the automatic backend is left to the worker", () => {
    assert.deepEqual(jobRequest({ ...base, method: "greedy" }, models, "j"), {
      request: "greedy",
      params: { models: [models[0], models[2]], data, jobId: "j" },
    });
    const fisher = jobRequest({ ...base, method: "fisher" }, models, "j");
    assert.equal(fisher.request, "dataMerge");
    assert.equal(fisher.request === "dataMerge" && fisher.params.method, "fisher");
  });

  it("uniform and manual soups are evaluations; manual weights are normalised over the included rows", () => {
    const uniform = jobRequest({ ...base, method: "uniform" }, models, "j");
    assert.equal(uniform.request, "evaluate");
    assert.equal(
      uniform.request === "evaluate" && "coefficients" in uniform.params,
      false,
      "the uniform soup is the evaluation's own row",
    );
    const manual = jobRequest({ ...base, method: "manual" }, models, "j");
    assert.deepEqual(manual.request === "evaluate" && manual.params.coefficients, [0.25, 0.75]);
    assert.deepEqual(soupCoefficients({ ...base, method: "uniform" }, models), [0.5, 0.5]);
    assert.throws(
      () =>
        soupCoefficients(
          { ...base, method: "manual", ingredients: base.ingredients.map((i) => ({ ...i, coefficient: 0 })) },
          models,
        ),
      /sum to zero/,
    );
  });

  it("refuses a job without data or with fewer than two ingredients, saying what to do", () => {
    const { data: _, ...noData } = base;
    assert.throws(() => jobRequest({ ...noData, method: "greedy" }, models, "j"), /Choose the data/);
    const one = { ...base, ingredients: base.ingredients.map((i, k) => ({ ...i, include: k === 0 })) };
    assert.throws(() => jobRequest({ ...one, method: "uniform" }, models, "j"), /at least two/);
    assert.equal(jobRequest({ ...one, method: "manual" }, models, "j").request, "evaluate");
  });

  it("aligns first on learned and greedy soups, and refuses it for the others", () => {
    const learned = jobRequest({ ...base, method: "learned", align: "activation" }, models, "j");
    assert.deepEqual(learned.request === "learn" && learned.params.align, { method: "activation" });
    const greedy = jobRequest({ ...base, method: "greedy", align: "weight" }, models, "j");
    assert.deepEqual(greedy.request === "greedy" && greedy.params.align, { method: "weight" });
    assert.equal(canAlign("uniform"), false);
    assert.throws(
      () => jobRequest({ ...base, method: "uniform", align: "weight" }, models, "j"),
      /applies to the learned and greedy soups/,
    );
    assert.equal("align" in jobRequest({ ...base, method: "greedy" }, models, "j").params, false);
  });

  it("saves an aligned result by aligning again to the same reference, then merging with its coefficients", () => {
    const job = saveRequest({
      config: { ...base, method: "learned", align: "weight", backend: "cpu" },
      panelModels: models,
      reported: { dense: [0.5, 0.5] },
      alignment: { method: "weight", reference: models[2]! },
      out: "/o/",
      jobId: "s",
    });
    assert.deepEqual(job, {
      request: "align",
      params: {
        models: [models[0], models[2]],
        align: { method: "weight", reference: models[2] },
        data,
        out: "/o/",
        merge: { coefficients: { dense: [0.5, 0.5] } },
        backend: "cpu",
        jobId: "s",
      },
    });
  });

  it("passes a chosen loss and architecture file to every job that runs the models; the model's own loss is left out", () => {
    const options = { loss: "crossentropy", architecture: "/m/full/model.keras" } as const;
    for (const method of ["learned", "greedy", "regmean", "uniform", "manual"] as const) {
      const job = jobRequest({ ...base, method, ...options }, models, "j");
      assert.equal(job.params.loss, "crossentropy", method);
      assert.equal(job.params.architecture, "/m/full/model.keras", method);
    }
    const auto = jobRequest({ ...base, method: "greedy", loss: "auto" }, models, "j").params;
    assert.equal("loss" in auto || "architecture" in auto, false);
    const save = (config: MergeConfig, alignment?: { method: "weight"; reference: string }) =>
      saveRequest({
        config,
        panelModels: models,
        reported: [0.5, 0.5],
        ...(alignment ? { alignment } : {}),
        out: "/o/",
        jobId: "s",
      }).params as { loss?: string; architecture?: string };
    const regmean = save({ ...base, method: "regmean", ...options });
    assert.deepEqual([regmean.loss, regmean.architecture], ["crossentropy", "/m/full/model.keras"]);
    const aligned = save(
      { ...base, method: "learned", align: "weight", ...options },
      { method: "weight", reference: models[0]! },
    );
    assert.deepEqual([aligned.loss, aligned.architecture], ["crossentropy", "/m/full/model.keras"]);
  });

  it("with the user's own test rows: the data split into learn and validation only, the test file passed", () => {
    const config: MergeConfig = {
      ...base,
      method: "learned",
      data: { path: "/d/soup.csv", label: "y", test: "/d/held-out.csv" },
    };
    const job = jobRequest(config, models, "j");
    assert.deepEqual(job.params.data, {
      path: "/d/soup.csv",
      label: "y",
      test: "/d/held-out.csv",
      seed: 7,
      fractions: { learn: 0.8, validation: 0.2, test: 0 },
    });
    // A test fraction that would leave too little to learn from is no obstacle when the test rows are the user's.
    assert.ok(leavesLearnRows({ ...config, validationFraction: 0.5, testFraction: 0.9 }));
    assert.equal(leavesLearnRows({ ...base, validationFraction: 0.5, testFraction: 0.9 }), false);
  });

  it("names what runs in the progress channel", () => {
    assert.equal(jobTitle("learned"), "learning the coefficients");
    assert.equal(jobTitle("regmean"), "computing data statistics");
    assert.equal(jobTitle("manual"), "evaluating");
  });

  it("makes the evaluation of a manual soup its report, and refuses one without the merged row", () => {
    const job = jobRequest({ ...base, method: "manual" }, models, "j");
    assert.ok(job.request === "evaluate");
    const pair = (metric: number) => ({ loss: 1 - metric, metric });
    const evaluation: EvaluateReport = {
      backend: "wasm",
      metricName: "accuracy",
      metrics: {
        ingredients: [{ model: models[0]!, ...pair(0.9) }],
        uniform: pair(0.8),
        merged: pair(0.85),
        ensemble: pair(0.95),
      },
      mergeability: [],
      split: { learn: 5, validation: 2, test: 3, seed: 7 },
      warnings: [],
      seconds: 1,
    };
    const report = reportOfEvaluation(evaluation, job);
    assert.equal(report.method, "linear");
    assert.deepEqual(report.coefficients, [0.25, 0.75]);
    assert.deepEqual(report.metrics.merged, pair(0.85));
    const { merged: _, ...withoutMerged } = evaluation.metrics;
    assert.throws(() => reportOfEvaluation({ ...evaluation, metrics: withoutMerged }, job), /did not evaluate/);
    const uniform = jobRequest({ ...base, method: "uniform" }, models, "j");
    assert.ok(uniform.request === "evaluate");
    assert.deepEqual(reportOfEvaluation({ ...evaluation, metrics: withoutMerged }, uniform).metrics.merged, pair(0.8));
  });

  it("saves with the given, then the reported, then the configured coefficients; RegMean and Fisher run again", () => {
    const common = { panelModels: models, out: "/o/", jobId: "s" };
    const merge = (given?: number[], reported?: number[]) =>
      saveRequest({
        ...common,
        config: { ...base, method: "manual" },
        ...(given ? { given } : {}),
        ...(reported ? { reported } : {}),
      });
    assert.deepEqual(merge([0.1, 0.9], [0.3, 0.7]).params, {
      models: [models[0], models[2]],
      method: "linear",
      coefficients: [0.1, 0.9],
      out: "/o/",
      jobId: "s",
    });
    assert.deepEqual((merge(undefined, [0.3, 0.7]).params as { coefficients: number[] }).coefficients, [0.3, 0.7]);
    assert.deepEqual((merge().params as { coefficients: number[] }).coefficients, [0.25, 0.75]);
    const regmean = saveRequest({ ...common, config: { ...base, method: "regmean" }, reported: [] });
    assert.equal(regmean.request, "dataMerge", "RegMean reports no coefficients: its statistics are computed again");
    assert.deepEqual(saveRequest({ ...common, config: undefined }).params, {
      models,
      method: "uniform",
      out: "/o/",
      jobId: "s",
    });
  });
});
