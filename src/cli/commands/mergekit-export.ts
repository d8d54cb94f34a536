/** `model-soup mergekit-export`: a recipe's merge (learned coefficients included) as a mergekit YAML config. */
import { filesOfModels, readManifest } from "../../core/formats/registry.js";
import { exportMergekitYaml } from "../../core/recipe/mergekit.js";
import { readRecipe, resolveInput } from "../../core/recipe/recipe.js";
import { UsageError } from "../../core/errors.js";
import { escapeControl } from "../../core/io/display.js";
import { guardOutputs } from "../../core/io/output-guard.js";
import { stringOption } from "../args.js";
import type { Command } from "../command.js";
import { writeTextOutput } from "../paths.js";

export const mergekitExportCommand: Command = {
  name: "mergekit-export",
  summary: "Write a recipe's merge (per-model or per-layer coefficients) as a mergekit YAML config.",
  usage: "mergekit-export <recipe> [--out <config.yaml>]",
  options: {
    out: {
      type: "string",
      valueName: "<config.yaml>",
      description: "Write the YAML there (default: print it); refused when it is the recipe or an input's file.",
    },
  },
  async run(args, io) {
    if (args.positionals.length !== 1) throw new UsageError("give one recipe file");
    const recipePath = args.positionals[0]!;
    const recipe = await readRecipe(recipePath);
    const paths = recipe.inputs.map((input) => resolveInput(recipePath, input));
    const spec = {
      ...recipe.merge,
      ingredients: recipe.merge.ingredients.map((g, i) => ({ ...g, path: paths[i]! })),
      ...(recipe.base ? { base: resolveInput(recipePath, recipe.base) } : {}),
    };
    const out = stringOption(args, "out");
    if (out !== undefined) {
      const inputs = recipe.base ? [...paths, resolveInput(recipePath, recipe.base)] : paths;
      const protect = [
        { path: recipePath, role: `the recipe ${recipePath}` },
        ...(await filesOfModels(inputs).catch(() => inputs.map((p) => ({ path: p, role: `the input model ${p}` })))),
      ];
      await guardOutputs([{ path: out, what: "the mergekit config" }], protect);
    }
    const tensors = (await readManifest(paths[0]!)).tensors;
    const { yaml, warnings } = exportMergekitYaml(spec, { tensors });
    if (recipe.overrides)
      warnings.push(
        "tensor overrides (re-estimated BatchNormalization statistics) have no mergekit equivalent and are left out",
      );
    for (const w of warnings) io.stderr(`warning: ${escapeControl(w)}\n`);
    if (out === undefined) io.stdout(yaml);
    else {
      await writeTextOutput(out, yaml);
      io.stdout(`Wrote ${escapeControl(out)}\n`);
    }
    return 0;
  },
};
