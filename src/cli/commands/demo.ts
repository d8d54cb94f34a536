/**
 * `model-soup demo`: learns a soup of one of the bundled samples with the default settings and compares it with
 * each of its models, their uniform soup and their output ensemble.
 */
import { existsSync, readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Command } from "../command.js";
import { UsageError } from "../../core/errors.js";
import { WorkerRequests, type SoupReport } from "../../protocol/worker.js";
import type { Choice } from "../../protocol/choices.js";
import { packageRoot } from "../../client/worker-client.js";
import { formatComparison } from "../text/report.js";
import { runOnWorker } from "../worker-session.js";
import { usageLine } from "../args.js";
import { GRANULARITY_CHOICES } from "../../protocol/choices.js";
import { LEARN_DEFAULTS } from "../../protocol/learn-defaults.js";
import { backendOption, choiceOption, choiceSpec, dataOptions } from "./options.js";

/** The bundled samples: where their models are, what each model is called in the first line. */
const SAMPLES = {
  specialists: {
    folder: "specialists",
    prefix: "classes-",
    what: "digit specialists, each fine-tuned on 4 of the 10 digits",
  },
  mixed: { folder: "digits", prefix: "ingredient-", what: "digit classifiers" },
} as const;
type SampleName = keyof typeof SAMPLES;
const SAMPLE_CHOICES = [
  {
    value: "specialists",
    label: "Five specialists fine-tuned from one base on different digits (samples/specialists)",
  },
  { value: "mixed", label: "Seven fine-tunes of mixed quality (samples/digits)" },
] as const satisfies readonly Choice<SampleName>[];
/** Both samples learn on the same rows that none of their models saw. */
const SOUP_DATA = join("samples", "digits", "soup.csv.gz");

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

/** The demo's conclusion, said plainly whichever way it goes: against the uniform soup, the best single model and the ensemble. */
function verdict(report: SoupReport): string {
  const rows = report.split.test;
  const learned = report.metrics.merged.metric;
  const best = report.metrics.ingredients.reduce((b, m) => (m.metric > b.metric ? m : b));
  const n = report.metrics.ingredients.length;
  const compare = (other: number, name: string) => {
    const diff = Math.round((learned - other) * rows);
    if (diff === 0) return `ties ${name} (${pct(other)})`;
    return `is ${diff > 0 ? "above" : "below"} ${name} (${pct(other)}) by ${Math.abs(diff)} of ${rows} test rows`;
  };
  // What learning kept: the learned soup, or the candidate no learned soup beat on validation (the greedy soup...).
  const kept = report.learning?.kept;
  const written = kept === undefined || kept === "learned" ? "Learned soup" : `Kept (${kept})`;
  return (
    `${written}: ${pct(learned)} test accuracy at the size of one model (${report.seconds.toFixed(1)} s). ` +
    `It ${compare(report.metrics.uniform.metric, "the uniform soup")}, ` +
    `${compare(best.metric, `the best single model on test, ${basename(dirname(best.model))}`)}, ` +
    `and ${compare(report.metrics.ensemble.metric, `the output ensemble of all ${n} at ${n}× the cost`)}.`
  );
}

const demoOptions = {
  sample: choiceSpec(SAMPLE_CHOICES, "Which bundled sample:", "specialists"),
  granularity: choiceSpec(GRANULARITY_CHOICES, "Coefficients learned:", LEARN_DEFAULTS.granularity),
  backend: dataOptions.backend!,
  json: { type: "boolean", description: "Print the report as JSON." },
} as const;

export const demoCommand: Command = {
  name: "demo",
  summary:
    "Learn a soup of a bundled sample with the default settings and print the comparison: five digit specialists " +
    "fine-tuned from one base (samples/specialists), or with --sample mixed seven fine-tunes of mixed quality " +
    "(samples/digits).",
  usage: usageLine("demo", demoOptions),
  options: demoOptions,
  async run(args, io) {
    const name = choiceOption(args, "sample", SAMPLE_CHOICES) ?? "specialists";
    const sample = SAMPLES[name];
    const root = packageRoot();
    const sampleDir = join(root, "samples", sample.folder);
    const modelsDir = join(sampleDir, "models");
    if (!existsSync(modelsDir)) throw new UsageError(`the bundled sample is missing (${modelsDir})`);
    const models = readdirSync(modelsDir)
      .filter((d) => d.startsWith(sample.prefix))
      .sort()
      .map((d) => join(modelsDir, d, "model.json"));
    const granularity = choiceOption(args, "granularity", GRANULARITY_CHOICES) ?? LEARN_DEFAULTS.granularity;
    const out = join(sampleDir, "out", `learned-${granularity}`, "model.json");
    if (!args.values.json)
      io.stdout(
        `Learning the coefficients of a soup of ${models.length} ${sample.what} (${granularity} granularity)...\n`,
      );
    const report = await runOnWorker(io, WorkerRequests.learn, {
      models,
      data: { path: join(root, SOUP_DATA) },
      granularity,
      backend: backendOption(args),
      out,
    });
    if (args.values.json) {
      io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      return 0;
    }
    // The sample's soup data shares no row with the models' training data (its README says how it was split), so
    // the general caution about test rows drawn from the learning data is replaced by that fact.
    const heldOut = `No model was trained on any row of ${SOUP_DATA} (${join(dirname(SOUP_DATA), "README.md")} says how the data was split).`;
    io.stdout(`${formatComparison({ ...report, split: { ...report.split, testNote: heldOut } })}\n`);
    io.stdout(`\n${verdict(report)}\n`);
    return 0;
  },
};
