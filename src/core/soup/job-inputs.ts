/**
 * The model and output paths of a job, resolved as the CLI resolves them (core/io/model-inputs.ts): model
 * folders stand for their model, folders of models expand; a job that writes has its output checked by the
 * output guard before it starts (core/soup/output.ts), so nothing is learned for an output that would be refused.
 */
import { resolveModelArguments, resolveModelPath } from "../io/model-inputs.js";
import { dataProtection, planSoupOutput } from "./output.js";
import type { DataSpec } from "../../protocol/worker.js";

export async function resolveJobModels<P extends { models: string[]; base?: string }>(params: P): Promise<P> {
  const { models } = await resolveModelArguments(params.models, { oneArchitecture: true });
  return { ...params, models, ...(params.base !== undefined ? { base: await resolveModelPath(params.base) } : {}) };
}

/** Resolves a soup job's models, then refuses its output (when it has one) before any work. */
export async function resolveSoupJob<P extends { models: string[]; base?: string; out?: string; data: DataSpec }>(
  params: P,
): Promise<P> {
  const resolved = await resolveJobModels(params);
  if (resolved.out !== undefined) {
    await planSoupOutput({
      out: resolved.out,
      models: resolved.models,
      base: resolved.base,
      protect: [dataProtection(resolved.data.path)],
    });
  }
  return resolved;
}
