/** `model-soup mergekit-import`: run a mergekit YAML config's merge (shared methods) on local model files. */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { ModelFileError, UsageError } from "../../core/errors.js";
import { importMergekitYaml } from "../../core/recipe/mergekit.js";
import { WorkerRequests } from "../../protocol/worker.js";
import { flag, stringOption } from "../args.js";
import type { Command } from "../command.js";
import { runOnWorker } from "../worker-session.js";

export const mergekitImportCommand: Command = {
  name: "mergekit-import",
  summary: "Run the merge a mergekit YAML config describes (linear, task_arithmetic, ties, dare_*, slerp, model_stock) on local files.",
  usage: "mergekit-import <config.yaml> --out <path> [--json]",
  options: {
    out: { type: "string", valueName: "<path>", description: "Where to write the merged model and its recipe." },
    json: { type: "boolean", description: "Print the result as JSON." },
  },
  async run(args, io) {
    if (args.positionals.length !== 1) throw new UsageError("give one mergekit YAML config");
    const out = stringOption(args, "out");
    if (out === undefined) throw new UsageError("--out <path> is required");
    const configPath = args.positionals[0]!;
    let text: string;
    try {
      text = await readFile(configPath, "utf8");
    } catch (error) {
      throw new ModelFileError(configPath, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    const { spec, warnings } = importMergekitYaml(text, configPath);
    for (const w of warnings) io.stderr(`warning: ${w}\n`);
    // mergekit names models by path or hub id; local paths are taken relative to the config's folder.
    const local = (p: string) => (isAbsolute(p) ? p : resolve(dirname(configPath), p));
    const resolved = {
      ...spec,
      ingredients: spec.ingredients.map((g) => ({ ...g, path: local(g.path) })),
      ...(spec.base !== undefined ? { base: local(spec.base) } : {}),
    };
    const result = await runOnWorker(io, WorkerRequests.merge, { models: [], method: spec.method, spec: resolved, out });
    for (const w of result.warnings) io.stderr(`warning: ${w}\n`);
    io.stdout(flag(args, "json") ? `${JSON.stringify(result, null, 2)}\n` : `Wrote ${result.model}\nRecipe ${result.recipe}\n`);
    return 0;
  },
};
