/** `model-soup demo`: learns a soup of the bundled digits classifiers and compares it with each of them. */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "../command.js";
import { UsageError } from "../../core/errors.js";
import { WorkerRequests } from "../../protocol/worker.js";
import { packageRoot } from "../../worker/client.js";
import { formatComparison } from "../text/report.js";
import { runOnWorker } from "../worker-session.js";
import { backendOption, choiceOption } from "./options.js";

export const demoCommand: Command = {
  name: "demo",
  summary: "Learn a soup of the bundled digits classifiers (samples/digits) and print the comparison.",
  usage: "demo [--granularity model|layer] [--backend B] [--json]",
  options: {
    granularity: { type: "string", valueName: "model|layer", description: "One coefficient per model (default), or per layer." },
    backend: { type: "string", valueName: "<name>", description: "TensorFlow.js backend: tfjs-node, wasm or cpu." },
    json: { type: "boolean", description: "Print the report as JSON." },
  },
  async run(args, io) {
    const sample = join(packageRoot(), "samples", "digits");
    const modelsDir = join(sample, "models");
    if (!existsSync(modelsDir)) throw new UsageError(`the bundled sample is missing (${modelsDir})`);
    const models = readdirSync(modelsDir)
      .filter((d) => d.startsWith("ingredient-"))
      .sort()
      .map((d) => join(modelsDir, d, "model.json"));
    const granularity = choiceOption(args, "granularity", ["model", "layer"] as const) ?? "model";
    const out = join(sample, "out", `learned-${granularity}`, "model.json");
    io.stdout(`Learning the coefficients of a soup of ${models.length} digit classifiers (${granularity} granularity)...\n`);
    const report = await runOnWorker(io, WorkerRequests.learn, {
      models,
      data: { path: join(sample, "soup.csv.gz") },
      granularity,
      backend: backendOption(args),
      out,
    });
    if (args.values.json) {
      io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      return 0;
    }
    io.stdout(`${formatComparison(report)}\n`);
    const best = Math.max(...report.metrics.ingredients.map((m) => m.metric));
    const learned = report.metrics.merged.metric;
    io.stdout(
      `\nLearned soup: ${(learned * 100).toFixed(2)}% test accuracy, against ${(report.metrics.uniform.metric * 100).toFixed(2)}% for the ` +
        `uniform soup and ${(best * 100).toFixed(2)}% for the best single model, at the size of one model (${report.seconds.toFixed(1)} s).\n`,
    );
    return 0;
  },
};
