import { realpath, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { ModelFileError, UsageError } from "../../errors.js";
import { safetensorsShardName } from "../../io/output-names.js";
import { indexBaseName, isIndexTarget } from "./detect.js";
import type { SafetensorsSet } from "./tensor-set.js";

/** Where each file of a model written from `template` goes. */
export interface OutputPlan {
  /** The index path for a sharded output, else undefined. */
  index?: string;
  /** One output path per template shard, in the template's shard order. */
  shards: string[];
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

async function canonical(path: string): Promise<string> {
  return realpath(path).catch(async () =>
    join(await realpath(dirname(path)).catch(() => resolve(dirname(path))), basename(path)),
  );
}

/**
 * Plans output paths. A single-file template writes `target` (or `target/<template name>` when `target` is a
 * folder). A sharded template needs `target` to be `X/NAME.safetensors.index.json` (or a folder, meaning
 * `folder/<template index name>`); its shards become `X/NAME-0000k-of-0000n.safetensors`, as Hugging Face
 * names them, with the same tensors in each shard as the template.
 */
export async function planOutput(template: SafetensorsSet, target: string): Promise<OutputPlan> {
  const targetIsFolder = await isDirectory(target);
  let plan: OutputPlan;
  if (template.index) {
    const index = targetIsFolder ? join(target, basename(template.index.file)) : target;
    if (!isIndexTarget(index)) {
      throw new UsageError(
        `${target}: the template ${template.path} is sharded, so the output must be a NAME.safetensors.index.json path or a folder`,
      );
    }
    const folder = dirname(index);
    const base = indexBaseName(basename(index));
    const n = template.shards.length;
    plan = { index, shards: template.shards.map((_, i) => join(folder, safetensorsShardName(base, i + 1, n))) };
  } else {
    plan = { shards: [targetIsFolder ? join(target, basename(template.path)) : target] };
  }
  const folder = dirname(plan.index ?? plan.shards[0]!);
  if (!(await isDirectory(folder))) throw new UsageError(`${target}: the output folder ${folder} does not exist`);
  return plan;
}

/** Refuses a plan that would write over any file of the given models (inputs are never modified). */
export async function refuseOverwritingInputs(plan: OutputPlan, inputs: readonly SafetensorsSet[]): Promise<void> {
  const inputFiles = new Map<string, string>();
  for (const set of inputs) {
    for (const file of [...(set.index ? [set.index.file] : []), ...set.shards.map((s) => s.file)]) {
      inputFiles.set(await canonical(file), file);
    }
  }
  for (const output of [...(plan.index ? [plan.index] : []), ...plan.shards]) {
    const input = inputFiles.get(await canonical(output));
    if (input) {
      throw new ModelFileError(
        output,
        `would overwrite the input file ${input}; choose another output path (inputs are never modified)`,
      );
    }
  }
}
