/**
 * Writing a PyTorch job's soup and its recipe (core/soup/save.ts saveSoup, the ordinary merge path), then
 * checking the written file INDEPENDENTLY of the engine that judged it: a fresh engine runs the written file alone
 * (α = [1]) on the test split, and the report's figures become the file's; a file that scores otherwise is removed.
 */
import { dataRecord } from "../../../core/recipe/data-record.js";
import { openModel } from "../../../core/formats/registry.js";
import { dataProtection } from "../../../core/soup/output.js";
import { saveSoup, type SaveSoupOptions, type SavedSoup } from "../../../core/soup/save.js";
import type { JobContext } from "../../../core/job-context.js";
import type { DataSpec, MetricPair, RecipeRecord, SoupReport } from "../../../protocol/worker.js";
import type { BatchNormState } from "../../engine/soup-engine.js";
import { metricPair } from "../../evaluate/score.js";
import type { Task } from "../../learn/loss.js";
import { readIngredient, TorchEngine, type TorchModelSource } from "../../torch/torch-engine.js";
import { sameLoss } from "../session/verify.js";
import { engineSplit } from "./data.js";
import { scoreWrittenOnTest, writeMix } from "./rows.js";
import type { TorchSession } from "./session.js";

/** Re-estimated BatchNormalization statistics as the recipe's overrides: `<module>.running_mean` / `.running_var`. */
export function torchBatchNormOverrides(state: BatchNormState | undefined): Record<string, number[]> {
  if (state === undefined) return {};
  const out: Record<string, number[]> = {};
  state.layers.forEach((layer, k) => {
    out[`${layer}.running_mean`] = Array.from(state.values[2 * k]!);
    out[`${layer}.running_var`] = Array.from(state.values[2 * k + 1]!);
  });
  return out;
}

/** How the written file is built on its own: TorchScript as it is, else the ingredients' architecture. */
async function writtenModel(session: TorchSession, path: string): Promise<TorchModelSource> {
  const file = await openModel(path);
  try {
    if (file.manifest.metadata.torchscript === true) return { torchScript: path };
  } finally {
    await file.close();
  }
  return session.model.source;
}

/** The written file's score on the test split (or `split`), run alone on a fresh engine. */
export async function scoreWrittenFile(
  session: TorchSession,
  path: string,
  task: Task,
  byLabels: boolean,
  context: JobContext,
  split: "test" | "validation" = "test",
): Promise<MetricPair> {
  const engine = await TorchEngine.start({
    python: session.python,
    model: await writtenModel(session, path),
    ingredients: [await readIngredient(path)],
    // The rows scored go to the fresh engine as its test split.
    splits: { test: engineSplit(session.data.split[split]) },
    ...session.run,
    cancel: context.token,
  });
  try {
    await writeMix(engine, { coefficients: [[1]] });
    return metricPair(await scoreWrittenOnTest(engine, task, session.data.split[split], byLabels));
  } finally {
    await engine.dispose();
  }
}

export type TorchWrite = Pick<SaveSoupOptions, "spec" | "origin" | "learning" | "overrides" | "statistics">;

/** The recipe record of a soup a PyTorch job made (session/write.ts soupRecord's), with its PyTorch architecture. */
export async function torchSoupRecord(
  report: { metricName: string; metrics: object },
  session: TorchSession,
  data: DataSpec,
  what: Pick<SaveSoupOptions, "origin" | "learning" | "overrides">,
  task: Task,
): Promise<RecipeRecord> {
  return {
    origin: what.origin,
    learning: {
      ...(what.learning ?? {}),
      ...(session.model.architecture !== undefined ? { architecture: session.model.architecture } : {}),
    },
    data: await dataRecord(data, session.data.split, task.loss.name),
    metrics: { metricName: report.metricName, ...report.metrics },
    backend: session.backend,
    ...(what.overrides !== undefined && Object.keys(what.overrides).length > 0 ? { overrides: what.overrides } : {}),
  };
}

/**
 * Sets report.record; with an output, writes the soup and its recipe, notes them in the report, and (before the
 * output lock is released) scores the written file on its own: its test figures become the report's merged ones.
 */
export async function writeTorchSoup(
  report: SoupReport,
  session: TorchSession,
  params: { data: DataSpec; out?: string; jobId?: string },
  context: JobContext,
  what: TorchWrite,
  judged: { task: Task; byLabels: boolean },
): Promise<void> {
  const record = await torchSoupRecord(report, session, params.data, what, judged.task);
  report.record = record;
  if (params.out === undefined) return;
  context.progress({
    jobId: params.jobId,
    phase: "writing",
    step: 0,
    totalSteps: 0,
    message: "Writing the merged model",
  });
  const check = async (saved: SavedSoup, metrics: unknown) => {
    context.progress({
      jobId: params.jobId,
      phase: "evaluating",
      step: 0,
      totalSteps: 0,
      message: "Scoring the written model on the test split (a fresh PyTorch engine)",
    });
    const expected = report.metrics.merged;
    const file = await scoreWrittenFile(session, saved.model, judged.task, judged.byLabels, context);
    if (!sameLoss(file.loss, expected.loss))
      throw new Error(
        `the written model ${saved.model} scores test loss ${file.loss} (${report.metricName} ${file.metric}) where the soup judged scored ${expected.loss} (${expected.metric}); nothing was kept`,
      );
    report.metrics.merged = file;
    record.metrics = { ...(record.metrics as object), merged: file };
    return metrics !== null && typeof metrics === "object" ? { ...metrics, merged: file } : metrics;
  };
  const saved = await saveSoup({
    spec: what.spec,
    origin: record.origin,
    ...(record.learning !== undefined ? { learning: record.learning } : {}),
    ...(record.overrides !== undefined ? { overrides: record.overrides } : {}),
    ...(what.statistics !== undefined ? { statistics: what.statistics } : {}),
    target: params.out,
    protect: [dataProtection(params.data.path), ...(params.data.test ? [dataProtection(params.data.test)] : [])],
    data: record.data,
    metrics: record.metrics,
    backend: session.backend,
    ...(session.alignment !== undefined ? { alignment: session.alignment.recipe } : {}),
    cancel: context.token,
    ...(session.data.split.test.xShape[0]! > 0 ? { check } : {}),
  });
  report.output = { model: saved.model, recipe: saved.recipe };
  report.warnings.push(...saved.warnings.filter((w) => !report.warnings.includes(w)));
}
