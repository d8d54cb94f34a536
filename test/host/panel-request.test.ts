import assert from "node:assert/strict";
import { DEFAULT_CONFIG, leavesLearnRows, type MergeConfig } from "../../src/protocol/panel.js";
import type { EvaluateReport, FixedEvaluateParams } from "../../src/protocol/worker.js";
import { canAlign } from "../../src/protocol/choices.js";
import {
  fixedMerge,
  jobRequest,
  type PanelJob,
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

/** The worker parameters of a job that runs the models (every job but a fixed merge without data). */
function paramsOf(job: PanelJob) {
  if (job.request === "fixedSave") throw new Error("a fixed merge without data runs no job");
  return job.params;
}

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

  it("uniform soups are evaluations, weighted averages fixed evaluations; manual weights are normalised", () => {
    const uniform = jobRequest({ ...base, method: "uniform" }, models, "j");
    assert.equal(uniform.request, "evaluate");
    assert.equal(
      uniform.request === "evaluate" && "coefficients" in uniform.params,
      false,
      "the uniform soup is the evaluation's own row",
    );
    const manual = jobRequest({ ...base, method: "manual" }, models, "j");
    assert.equal(manual.request, "fixedEvaluate", "a weighted average with data is compared and swept");
    assert.deepEqual(manual.request === "fixedEvaluate" && manual.params.coefficients, [0.25, 0.75]);
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
    assert.equal(jobRequest({ ...one, method: "manual" }, models, "j").request, "fixedEvaluate");
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
    assert.equal("align" in paramsOf(jobRequest({ ...base, method: "greedy" }, models, "j")), false);
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
      const job = paramsOf(jobRequest({ ...base, method, ...options }, models, "j"));
      assert.equal(job.loss, "crossentropy", method);
      assert.equal(job.architecture, "/m/full/model.keras", method);
    }
    const auto = paramsOf(jobRequest({ ...base, method: "greedy", loss: "auto" }, models, "j"));
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

  it("passes the editor's Python candidates to every job that runs the models; none found, none passed", () => {
    const python = { setting: "/venv/bin/python", pythonExtension: "/conda/bin/python" };
    for (const method of ["learned", "greedy", "regmean", "uniform", "ties"] as const) {
      const job = paramsOf(jobRequest({ ...base, method }, models, "j", python)) as { pythonCandidates?: unknown };
      assert.deepEqual(job.pythonCandidates, python, method);
    }
    const none = paramsOf(jobRequest({ ...base, method: "learned" }, models, "j", {}));
    assert.equal("pythonCandidates" in none || "device" in none, false);
    const onGpu = paramsOf(jobRequest({ ...base, method: "learned", device: "cuda" }, models, "j")) as {
      device?: string;
    };
    assert.equal(onGpu.device, "cuda");
    const auto = paramsOf(jobRequest({ ...base, method: "learned", device: "auto" }, models, "j"));
    assert.equal("device" in auto, false);
    const saved = saveRequest({
      config: { ...base, method: "regmean" },
      panelModels: models,
      out: "/o/",
      jobId: "s",
      python,
    }).params as { pythonCandidates?: unknown };
    assert.deepEqual(saved.pythonCandidates, python);
  });

  it("with the user's own test rows: the data split into learn and validation only, the test file passed", () => {
    const config: MergeConfig = {
      ...base,
      method: "learned",
      data: { path: "/d/soup.csv", label: "y", test: "/d/held-out.csv" },
    };
    const job = paramsOf(jobRequest(config, models, "j"));
    assert.deepEqual(job.data, {
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

  it("a fixed merge without data is saved at once, with the merge request the CLI's merge --method takes", () => {
    const { data: _, ...noData } = base;
    const all = { ...noData, ingredients: models.map((path) => ({ path, include: true, coefficient: 1 })) };
    assert.deepEqual(jobRequest({ ...all, method: "uniform" }, models, "j"), {
      request: "fixedSave",
      merge: { models, method: "uniform" },
    });
    const ties = jobRequest({ ...all, method: "ties", base: models[1], params: { density: 0.5 } }, models, "j");
    assert.deepEqual(ties, {
      request: "fixedSave",
      merge: { models: [models[0], models[2]], method: "ties", base: models[1], params: { density: 0.5 } },
    });
    // Without a chosen base (or one left out), the first included ingredient is the base.
    assert.equal(fixedMerge({ ...all, method: "task_arithmetic" }, models).base, models[0]);
    const save = saveRequest({ config: { ...all, method: "uniform" }, panelModels: models, out: "/o/", jobId: "s" });
    assert.deepEqual(save, { request: "merge", params: { models, method: "uniform", out: "/o/", jobId: "s" } });
    const manual = saveRequest({ config: { ...all, method: "manual" }, panelModels: models, out: "/o/", jobId: "s" });
    assert.deepEqual(manual.params, {
      models,
      method: "linear",
      coefficients: [1 / 3, 1 / 3, 1 / 3],
      out: "/o/",
      jobId: "s",
    });
  });

  it("a fixed merge with data: compared in memory, its λ (or a model's weight) swept on validation, saved with its record", () => {
    const job = jobRequest(
      { ...base, method: "task_arithmetic", base: models[2], params: { lambda: 0.7 } },
      models,
      "j",
    );
    assert.equal(job.request, "fixedEvaluate");
    const params = paramsOf(job) as FixedEvaluateParams;
    assert.deepEqual(params.models, [models[2], models[0]], "the base first, then the fine-tunes");
    assert.equal(params.base, models[2]);
    assert.deepEqual(params.params, { lambda: 0.7 });
    assert.equal(params.sweep?.name, "lambda");
    const manual = paramsOf(jobRequest({ ...base, method: "manual" }, models, "j")) as FixedEvaluateParams;
    assert.deepEqual(manual.sweep, { name: "weight", values: [0, 0.25, 0.5, 0.75, 1], ingredient: models[0] });
    assert.equal(paramsOf(jobRequest({ ...base, method: "model_stock" }, models, "j")).data.path, "/d/soup.csv");
    assert.equal("sweep" in paramsOf(jobRequest({ ...base, method: "model_stock" }, models, "j")), false);
    const record = { origin: "manual", metrics: {} };
    const save = saveRequest({
      config: { ...base, method: "ties", base: models[0] },
      panelModels: models,
      reported: [],
      record,
      out: "/o/",
      jobId: "s",
    });
    assert.deepEqual(save.params, {
      models: [models[2]],
      method: "ties",
      base: models[0],
      record,
      out: "/o/",
      jobId: "s",
    });
  });

  it("names what runs in the progress channel", () => {
    assert.equal(jobTitle("learned"), "learning the coefficients");
    assert.equal(jobTitle("regmean"), "computing data statistics");
    assert.equal(jobTitle("manual"), "evaluating");
  });

  it("makes the evaluation of the uniform soup its report, the uniform row as the merge", () => {
    const uniform = jobRequest({ ...base, method: "uniform" }, models, "j");
    assert.ok(uniform.request === "evaluate");
    const pair = (metric: number) => ({ loss: 1 - metric, metric });
    const record = { origin: "uniform" };
    const evaluation: EvaluateReport = {
      backend: "wasm",
      metricName: "accuracy",
      metrics: { ingredients: [{ model: models[0]!, ...pair(0.9) }], uniform: pair(0.8), ensemble: pair(0.95) },
      mergeability: [],
      split: { learn: 5, validation: 2, test: 3, seed: 7 },
      warnings: [],
      seconds: 1,
      records: { uniform: record },
    };
    const report = reportOfEvaluation(evaluation, uniform);
    assert.equal(report.method, "uniform");
    assert.deepEqual(report.coefficients, [0.5, 0.5]);
    assert.deepEqual(report.metrics.merged, pair(0.8));
    assert.equal(report.record, record);
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
