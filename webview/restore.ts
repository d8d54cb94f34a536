/**
 * What a reloaded Merge panel page keeps of the configuration it saved with setState (VS Code reloads the page
 * each time the panel is shown again): the saved one when it is whole and for the same models, else the host's
 * defaults. A backend setting changed while the page was gone wins over the saved backend.
 */
import type { MergeConfig } from "../src/protocol/panel.js";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The fields a whole configuration may lack (files the user has not chosen). */
const OPTIONAL: readonly string[] = ["data", "architecture", "align", "base", "params", "device"];

/** Every field of the defaults present with the same kind of value (the optional ones aside). */
function isWhole(saved: unknown, defaults: MergeConfig): saved is MergeConfig {
  if (!isRecord(saved)) return false;
  return (
    Object.entries(defaults).every(([key, value]) => OPTIONAL.includes(key) || typeof saved[key] === typeof value) &&
    Array.isArray(saved.ingredients)
  );
}

export function restoredConfig(
  saved: unknown,
  defaults: MergeConfig,
  lastBackendSetting: string | undefined,
): MergeConfig {
  const paths = defaults.ingredients.map((i) => i.path);
  if (!isWhole(saved, defaults)) return defaults;
  const sameModels =
    saved.ingredients.length === paths.length &&
    saved.ingredients.every((c) => isRecord(c) && typeof c.path === "string" && paths.includes(c.path));
  if (!sameModels) return defaults;
  return lastBackendSetting !== undefined && lastBackendSetting !== defaults.backend
    ? { ...saved, backend: defaults.backend }
    : saved;
}
