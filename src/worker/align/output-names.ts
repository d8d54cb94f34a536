import { basename, dirname, join, resolve } from "node:path";

/** Where each aligned model goes in the output folder: its file name, or its folder for a model.json. */
export function outputNames(models: readonly string[], folder: string): string[] {
  const names = models.map((m) =>
    basename(m) === "model.json" ? join(basename(dirname(resolve(m))), "model.json") : basename(m),
  );
  const unique = new Set(names).size === names.length;
  return names.map((n, i) => join(folder, unique ? n : `${i + 1}-${n.replace("/", "-")}`));
}
