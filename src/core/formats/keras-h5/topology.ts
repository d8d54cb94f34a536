import { readFile, readdir } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { parseBoundedJson, requireRegularFile } from "../limits.js";

export interface SiblingTopology {
  path: string;
  modelConfig: Record<string, unknown>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A bare Keras config ({class_name, config}) or one wrapped as {model_config}; TF.js model.json files are not. */
function kerasModelConfig(json: unknown): Record<string, unknown> | undefined {
  if (!isObject(json) || "weightsManifest" in json || "modelTopology" in json) return undefined;
  const config = isObject(json.model_config) ? json.model_config : json;
  return typeof config.class_name === "string" && "config" in config ? config : undefined;
}

/** Names of the layers in a config (Sequential: a list, or {layers}; functional: {layers}). */
function configLayerNames(config: Record<string, unknown>): Set<string> {
  const inner = config.config;
  const layers = Array.isArray(inner) ? inner : isObject(inner) && Array.isArray(inner.layers) ? inner.layers : [];
  const names = new Set<string>();
  for (const l of layers) {
    if (!isObject(l)) continue;
    const name = l.name ?? (isObject(l.config) ? l.config.name : undefined);
    if (typeof name === "string") names.add(name);
  }
  return names;
}

/**
 * Names tried, in order, for the topology of weights file `<core>[_weights].h5`: `<stem>.json`, `<core>.json`,
 * `<core>_topology.json` (also `-`/`.` separators), `<core>_model.json`, `<core>_architecture.json`,
 * `<core>_config.json`.
 */
function candidateNames(weightsPath: string): string[] {
  const stem = basename(weightsPath).replace(/\.(h5|hdf5|he5)$/i, "");
  const core = stem.replace(/[._-]?weights?$/i, "");
  const names = [`${stem}.json`];
  if (core) {
    names.push(`${core}.json`);
    for (const sep of ["_", "-", "."]) names.push(`${core}${sep}topology.json`);
    for (const word of ["model", "architecture", "config"]) names.push(`${core}_${word}.json`);
  }
  return [...new Set(names)];
}

async function readConfig(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    requireRegularFile(path);
    return kerasModelConfig(parseBoundedJson(path, "a topology", await readFile(path, "utf8")));
  } catch {
    return undefined;
  }
}

/**
 * Finds the Keras topology JSON of a weights-only .h5: a file named after it (see candidateNames), else the only
 * `*topology*.json` / `*architecture*.json` in its folder. A candidate counts only when it is a Keras model
 * config whose layers include every layer of the weights file that has weights.
 */
export async function findSiblingTopology(
  weightsPath: string,
  layersWithWeights: readonly string[],
  warnings: string[],
): Promise<SiblingTopology | undefined> {
  const folder = dirname(weightsPath);
  let entries: string[];
  try {
    entries = await readdir(folder);
  } catch {
    return undefined;
  }
  const present = new Set(entries);
  const named = candidateNames(weightsPath).filter((n) => present.has(n));
  const loose = entries.filter((n) => /\.json$/i.test(n) && /topology|architecture/i.test(n) && !named.includes(n));
  const tries = [...named, ...(loose.length === 1 ? loose : [])];
  for (const name of tries) {
    const path = join(folder, name);
    const modelConfig = await readConfig(path);
    if (!modelConfig) continue;
    const names = configLayerNames(modelConfig);
    const missing = layersWithWeights.filter((l) => !names.has(l));
    if (missing.length > 0) {
      warnings.push(
        `${name} beside the weights was not used: it has no layer named ${missing.map((m) => `"${m}"`).join(", ")}`,
      );
      continue;
    }
    return { path, modelConfig };
  }
  return undefined;
}
