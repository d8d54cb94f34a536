/**
 * What a result's "Coefficients:" line says when the merge has no per-model coefficients: the settings a fixed merge
 * ran with (its base, λ, density, t, ...), or that a data-aware merge weighs by statistics of the data. Pure (no
 * DOM), tested in test/webview/merge-settings.test.ts.
 */
import { isFixedMethod, needsBase } from "../src/protocol/capability.js";
import { methodShortName } from "../src/protocol/choices.js";
import { FIXED_METHODS, paramValue } from "../src/protocol/fixed-methods.js";
import type { MergeConfig } from "../src/protocol/panel.js";
import { isDataAwareMethod } from "../src/protocol/worker.js";

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

/** The base the Method section shows and the host's request uses: the chosen one when included, else the first. */
export function chosenBase(config: MergeConfig): string | undefined {
  const included = config.ingredients.filter((i) => i.include).map((i) => i.path);
  return config.base !== undefined && included.includes(config.base) ? config.base : included[0];
}

/** The base of the result's merge, when it took one (`config`: the configuration the result came from). */
export function resultBase(method: string, config: MergeConfig): string | undefined {
  return needsBase(method) && config.method === method ? chosenBase(config) : undefined;
}

/**
 * `config` is the configuration the result came from (the page forgets a result once the configuration changes);
 * `labelOf` names an ingredient as the panel does.
 */
export function settingsText(method: string, config: MergeConfig, labelOf: (path: string) => string): string {
  if (isDataAwareMethod(method)) return "none (weights from statistics of the data)";
  if (!isFixedMethod(method) || config.method !== method) return "none";
  const base = resultBase(method, config);
  const settings = [
    ...(base !== undefined ? [`base ${labelOf(base)}`] : []),
    ...FIXED_METHODS[method].params.map(
      (p) => `${lowerFirst(p.label.replace(/ \(.*\)$/, ""))} ${paramValue(method, config.params, p.name)}`,
    ),
  ];
  const name = methodShortName(method) ?? method;
  return settings.length === 0 ? `none (${name} takes no settings)` : `none: ${name} with ${settings.join(", ")}`;
}
