import * as tf from "@tensorflow/tfjs";
import type { PythonWithTorch } from "../../../src/core/python/find-python.js";
import { sampleMetric, type LossName, type Task } from "../../../src/worker/learn/loss.js";
import { sampleObjective, type Objective } from "../../../src/worker/learn/objective.js";
import { readIngredient, TorchEngine } from "../../../src/worker/torch/torch-engine.js";
import { closeTo, dataSplit, FACTORY, fixture, MLP_STATE_DICTS, requireTorch } from "./support.js";

/** Every objective the engine computes, against the TypeScript definitions on the engine's own predictions. */
describe("TorchEngine's losses and metrics are loss.ts's", function () {
  this.timeout(300_000);
  let python: PythonWithTorch;
  let engine: TorchEngine;

  before(async function () {
    python = await requireTorch(this);
    engine = await TorchEngine.start({
      python,
      model: { architecture: FACTORY },
      ingredients: await Promise.all(MLP_STATE_DICTS.map(readIngredient)),
      splits: { learn: await dataSplit(fixture("mlp_data.pt")) },
      device: "cpu",
    });
    await engine.write(Float64Array.from([0.3, 0.3, 0.4]), { groupOf: engine.layerOf.map(() => 0), groups: 1 });
  });
  after(async () => engine?.dispose());

  const cases: Array<{ name: string; objective: Objective["name"]; loss: LossName; task: Partial<Task> }> = [
    {
      name: "sparse cross-entropy on logits",
      objective: "supervised",
      loss: "sparse_categorical_crossentropy",
      task: {},
    },
    {
      name: "categorical cross-entropy on logits",
      objective: "supervised",
      loss: "categorical_crossentropy",
      task: {},
    },
    {
      name: "binary cross-entropy on logits (multi-label)",
      objective: "supervised",
      loss: "binary_crossentropy",
      task: {},
    },
    {
      name: "squared error, metric MAE",
      objective: "supervised",
      loss: "mean_squared_error",
      task: { metric: "mae", outputs: "values" },
    },
    {
      name: "absolute error, metric MAE",
      objective: "supervised",
      loss: "mean_absolute_error",
      task: { metric: "mae", outputs: "values" },
    },
    { name: "entropy (label-free)", objective: "entropy", loss: "sparse_categorical_crossentropy", task: {} },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const logits = c.task.outputs !== "values";
      const objective: Objective = {
        name: c.objective,
        task: {
          loss: { name: c.loss, fromLogits: logits },
          metric: "accuracy",
          outputs: "logits",
          binary: false,
          ...c.task,
        },
      };
      const { values, shape } = await engine.predict({ split: "learn" });
      const split = await dataSplit(fixture("mlp_data.pt"));
      const [loss, metric] = tf.tidy(() => {
        const pred = tf.tensor(values, [...shape]);
        const y = tf.tensor(split.y!, [...split.yShape!], "int32");
        return [
          sampleObjective(objective, pred, y).mean().dataSync()[0]!,
          sampleMetric(objective.task, pred, y).mean().dataSync()[0]!,
        ];
      });
      const score = await engine.score({ split: "learn" }, objective);
      closeTo(score.loss, loss, 1e-5, "loss");
      closeTo(score.metric!, metric, 1e-6, "metric");
    });
  }
});
