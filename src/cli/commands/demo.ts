/** `model-soup demo`: learns a soup of the bundled digits classifiers and compares it with each of them. */
import { existsSync, readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Command } from "../command.js";
import { UsageError } from "../../core/errors.js";
import { WorkerRequests, type SoupReport } from "../../protocol/worker.js";
import { packageRoot } from "../../client/worker-client.js";
import { formatComparison } from "../text/report.js";
import { runOnWorker } from "../worker-session.js";
import { usageLine } from "../args.js";
import { GRANULARITY_CHOICES } from "../../protocol/choices.js";
import { LEARN_DEFAULTS } from "../../protocol/learn-defaults.js";
import { backendOption, choiceOption, choiceSpec, dataOptions } from "./options.js";

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

/** The demo's conclusion, said plainly whichever way it goes: against the uniform soup and the best single model. */
function verdict(report: SoupReport): string {
  const rows = report.split.test;
  const learned = report.metrics.merged.metric;
  const uniform = report.metrics.uniform.metric;
  const best = report.metrics.ingredients.reduce((b, m) => (m.metric > b.metric ? m : b));
  const compare = (other: number, name: string) => {
    const diff = Math.round((learned - other) * rows);
    if (diff === 0) return `ties ${name} (${pct(other)})`;
    return `is ${diff > 0 ? "above" : "below"} ${name} (${pct(other)}) by ${Math.abs(diff)} of ${rows} test rows`;
  };
  return (
    `Learned soup: ${pct(learned)} test accuracy at the size of one model (${report.seconds.toFixed(1)} s). It ${compare(uniform, "the uniform soup")}, ` +
    `and ${compare(best.metric, `the best single model on test, ${basename(dirname(best.model))}`)}.`
  );
}

const demoOptions = {
  granularity: choiceSpec(GRANULARITY_CHOICES, "Coefficients learned:", LEARN_DEFAULTS.granularity),
  backend: dataOptions.backend!,
  json: { type: "boolean", description: "Print the report as JSON." },
} as const;

export const demoCommand: Command = {
  name: "demo",
  summary:
    "Learn a soup of the bundled digits classifiers (samples/digits: five good fine-tunes and two harmful ones) with the " +
    "default settings, and print the comparison.",
  usage: usageLine("demo", demoOptions),
  options: demoOptions,
  async run(args, io) {
    const sample = join(packageRoot(), "samples", "digits");
    const modelsDir = join(sample, "models");
    if (!existsSync(modelsDir)) throw new UsageError(`the bundled sample is missing (${modelsDir})`);
    const models = readdirSync(modelsDir)
      .filter((d) => d.startsWith("ingredient-"))
      .sort()
      .map((d) => join(modelsDir, d, "model.json"));
    const granularity = choiceOption(args, "granularity", GRANULARITY_CHOICES) ?? LEARN_DEFAULTS.granularity;
    const out = join(sample, "out", `learned-${granularity}`, "model.json");
    if (!args.values.json)
      io.stdout(
        `Learning the coefficients of a soup of ${models.length} digit classifiers (${granularity} granularity)...\n`,
      );
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
    io.stdout(`\n${verdict(report)}\n`);
    return 0;
  },
};
