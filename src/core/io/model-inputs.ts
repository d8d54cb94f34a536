/**
 * Model arguments as users give them, for every CLI command and the worker: a model file; a model folder (a
 * TF.js folder with its model.json, a folder holding one .keras/.h5/.safetensors file or one sharded
 * safetensors index) stands for that model; any other folder holding models (a folder of model folders, a
 * folder of model files) expands to the models it holds, as "Merge Models in Folder" does in the editor.
 */
import { readdir, stat } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { analyzeModels } from "../architecture/analyze.js";
import { mergeableGroups } from "../architecture/verdict.js";
import { ModelFileError, UsageError } from "../errors.js";
import { modelCandidates } from "./model-candidates.js";
import { cannotOpen } from "./open.js";

/** How deep a folder argument is searched for models, and how many entries at most are looked at. */
const MAX_DEPTH = 6;
const MAX_ENTRIES = 20000;

export interface FolderExpansion {
  folder: string;
  /** The models taken, in path order. */
  models: string[];
  /** Models found but not taken, with why (another architecture, unreadable). */
  leftOut: { path: string; reason: string }[];
}

export interface ResolvedModels {
  /** Model file paths, one per model, in the order the arguments gave them. */
  models: string[];
  /** The folder arguments that stood for several models. */
  expansions: FolderExpansion[];
  /** With `tolerant`: the arguments that could not be used, with why (the others are still resolved). */
  unreadable: { path: string; error: string }[];
}

export interface ResolveOptions {
  /**
   * When a folder expands to models of several architectures: true keeps the one group of two or more models
   * (refusing when there are several such groups), false keeps every model found (inspect).
   */
  oneArchitecture?: boolean;
  /** Collect arguments that cannot be used (missing, not a regular file, an empty folder) instead of failing (inspect). */
  tolerant?: boolean;
}

async function kindOf(path: string): Promise<"file" | "folder"> {
  if (path.trim() === "") throw new UsageError("an empty path was given where a model file or folder was expected");
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw cannotOpen(path, error);
  }
  if (info.isDirectory()) return "folder";
  if (info.isFile()) return "file";
  throw new ModelFileError(
    path,
    "is not a regular file or a folder (a device, pipe or socket is never read as a model)",
  );
}

/** The model files directly in `folder`. */
async function modelsDirectlyIn(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    throw new ModelFileError(folder, `cannot be listed (${error.code ?? String(error)})`);
  });
  return modelCandidates(entries.filter((e) => e.isFile()).map((e) => resolve(folder, e.name)));
}

/** Model files anywhere under `folder` (hidden folders, node_modules and symbolic links to folders are skipped). */
async function modelsUnder(folder: string): Promise<string[]> {
  const files: string[] = [];
  let seen = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (++seen > MAX_ENTRIES)
        throw new ModelFileError(folder, `holds more than ${MAX_ENTRIES} entries; name the models instead`);
      const path = join(dir, entry.name);
      if (entry.isFile()) files.push(resolve(path));
      else if (entry.isDirectory() && depth < MAX_DEPTH && !entry.name.startsWith(".") && entry.name !== "node_modules")
        await walk(path, depth + 1);
    }
  };
  await walk(folder, 1);
  return modelCandidates(files);
}

/** The model a model folder stands for, or undefined when the folder is not one model. */
export async function modelOfFolder(folder: string): Promise<string | undefined> {
  const direct = await modelsDirectlyIn(folder);
  return direct.length === 1 ? direct[0] : undefined;
}

/** The single model a path names: a model file, or a folder holding exactly one model. */
export async function resolveModelPath(path: string): Promise<string> {
  if ((await kindOf(path)) === "file") return path;
  const direct = await modelsDirectlyIn(path);
  if (direct.length === 1) return direct[0]!;
  throw new ModelFileError(
    path,
    direct.length === 0
      ? "is a folder without a model: expected a model.json (TF.js), a .keras/.h5/.safetensors file or a *.safetensors.index.json in it"
      : `is a folder holding ${direct.length} models (${direct.map((m) => relative(path, m)).join(", ")}); name one of them`,
  );
}

async function expandFolder(folder: string, options: ResolveOptions): Promise<FolderExpansion> {
  const direct = await modelsDirectlyIn(folder);
  const found = direct.length > 0 ? direct : await modelsUnder(folder);
  if (found.length === 0) {
    throw new ModelFileError(
      folder,
      "holds no model: expected a model.json (TF.js), a .keras/.h5/.safetensors file, a *.safetensors.index.json, or folders of them",
    );
  }
  if (!options.oneArchitecture || found.length === 1) return { folder, models: found, leftOut: [] };
  const analysis = await analyzeModels(found);
  const groups = mergeableGroups(analysis);
  if (groups.length > 1) {
    const list = groups
      .map((g, i) => `group ${i + 1}: ${g.models.map((m) => relative(folder, m)).join(", ")}`)
      .join("; ");
    throw new UsageError(
      `${folder} holds models of ${groups.length} architectures (${list}); name the models of one group`,
    );
  }
  if (groups.length === 0) return { folder, models: found, leftOut: [] };
  const taken = new Set(groups[0]!.models);
  const leftOut = [
    ...analysis.models.filter((m) => !taken.has(m.path)).map((m) => ({ path: m.path, reason: "another architecture" })),
    ...analysis.unreadable.map((u) => ({ path: u.path, reason: u.error })),
  ];
  return { folder, models: found.filter((m) => taken.has(m)), leftOut };
}

/** Resolves model arguments: files stay, model folders become their model, other folders expand. */
export async function resolveModelArguments(
  paths: readonly string[],
  options: ResolveOptions = {},
): Promise<ResolvedModels> {
  const models: string[] = [];
  const expansions: FolderExpansion[] = [];
  const unreadable: ResolvedModels["unreadable"] = [];
  for (const path of paths) {
    try {
      if ((await kindOf(path)) === "file") {
        models.push(path);
        continue;
      }
      const expansion = await expandFolder(path, options);
      models.push(...expansion.models);
      if (expansion.models.length > 1 || expansion.models[0] !== (await modelOfFolder(path)))
        expansions.push(expansion);
    } catch (error) {
      if (!options.tolerant || !(error instanceof ModelFileError)) throw error;
      unreadable.push({ path, error: error.message });
    }
  }
  return { models, expansions, unreadable };
}

/** One line per folder that expanded: which models it stood for (for the CLI to print). */
export function describeExpansions(expansions: readonly FolderExpansion[]): string[] {
  return expansions.flatMap((e) => [
    `Using ${e.models.length} model${e.models.length === 1 ? "" : "s"} from ${e.folder}: ${e.models.map((m) => relative(e.folder, m)).join(", ")}`,
    ...e.leftOut.map((l) => `Left out ${relative(e.folder, l.path)} from ${e.folder}: ${l.reason}`),
  ]);
}
