/** `model-soup mergekit-import`: run a mergekit YAML config's merge (shared methods) on local model files. */
import { escapeControl } from "../../core/io/display.js";
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { ModelFileError, UsageError } from "../../core/errors.js";
import { resolveModelPath } from "../../core/io/model-inputs.js";
import { importMergekitYaml } from "../../core/recipe/mergekit.js";
import { planSoupOutput } from "../../core/soup/output.js";
import { WorkerRequests } from "../../protocol/worker.js";
import { flag, stringOption } from "../args.js";
import type { Command } from "../command.js";
import { runOnWorker } from "../worker-session.js";
import { OUT_DESCRIPTION } from "./options.js";

export const mergekitImportCommand: Command = {
  name: "mergekit-import",
  summary:
    "Run the merge a mergekit YAML config describes (linear, task_arithmetic, ties, dare_*, slerp, model_stock) on local files.",
  usage: "mergekit-import <config.yaml> --out <path> [--json]",
  options: {
    out: { type: "string", valueName: "<path>", description: OUT_DESCRIPTION },
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
      throw new ModelFileError(
        configPath,
        `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      );
    }
    const { spec, warnings } = importMergekitYaml(text, configPath);
    for (const w of warnings) io.stderr(`warning: ${escapeControl(w)}\n`);
    // mergekit names models by path or hub id; local paths are taken relative to the config's folder.
    // A model folder stands for its model, as on the command line.
    const local = (p: string) => resolveModelPath(isAbsolute(p) ? p : resolve(dirname(configPath), p));
    const ingredients = [];
    for (const g of spec.ingredients) ingredients.push({ ...g, path: await local(g.path) });
    const base = spec.base !== undefined ? await local(spec.base) : undefined;
    const resolved = { ...spec, ingredients, ...(base !== undefined ? { base } : {}) };
    const output = await planSoupOutput({
      out,
      models: ingredients.map((g) => g.path),
      base,
      protect: [{ path: configPath, role: `the mergekit config ${configPath}` }],
    });
    const result = await runOnWorker(io, WorkerRequests.merge, {
      models: [],
      method: spec.method,
      spec: resolved,
      out: output.model,
    });
    for (const w of result.warnings) io.stderr(`warning: ${escapeControl(w)}\n`);
    io.stdout(
      flag(args, "json")
        ? `${JSON.stringify(result, null, 2)}\n`
        : `Wrote ${escapeControl(result.model)}\nRecipe ${escapeControl(result.recipe)}\n`,
    );
    return 0;
  },
};
