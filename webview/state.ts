/**
 * The Merge panel page's one state: what the host's init said, the configuration being edited, what the page
 * keeps across reloads (getState/setState), and the job it shows. Built once the init arrived: no section draws
 * before that, so nothing here is ever missing. Pure (no DOM), tested in test/webview/state.test.ts.
 */
import type { DataPreview, FromWebview, JobState, MergeConfig, NextStep, PanelInit } from "../src/protocol/panel.js";
import type { ProgressParams, SoupReport } from "../src/protocol/worker.js";
import type { CapabilityFacts } from "../src/protocol/capability.js";
import { DEVICE_CHOICES, type Choice } from "../src/protocol/choices.js";

export interface LayerChanges {
  model: string;
  reference: string;
  rows: { name: string; change: number }[];
}

/** What the page keeps with setState; VS Code hands it back after a reload (the host's serializer reads `models`). */
export interface StoredState {
  models: string[];
  config?: MergeConfig;
  preview?: DataPreview;
  /** Why the chosen data does not fit the models (the host checks it as soon as it is chosen). */
  dataError?: string;
  /** The user's own test rows as the host read them: their count, or why they do not fit. */
  testRows?: { samples?: number; error?: string };
  /** Why the chosen architecture file cannot rebuild the ingredients. */
  architectureError?: string;
  /** PyTorch models: the Python the host found to run them (its label and devices), or why none. */
  torch?: { label?: string; devices?: string[]; error?: string };
  report?: SoupReport;
  /** The host's verdict in words and, for a learned soup, why learning stopped. */
  verdict?: string;
  stopReason?: string;
  /** What the result implies doing next (the primary action, "Run Again without …"). */
  next?: NextStep;
  history?: ProgressParams[];
  saved?: { model: string; recipe: string };
  /** The ingredient the per-layer change compares the merge with. */
  diffReference?: string;
  /** The modelSoup.backend setting as last seen, to notice a change made while the panel was hidden. */
  settingBackend?: string;
  layerChanges?: LayerChanges;
  /** Which ingredients share no basin, from the last run that found some: the panel then offers "Align first". */
  basin?: string;
  /** The ingredient whose unit moves the panel shows (after an aligned run). */
  unitsOf?: string;
}

export interface PanelState {
  readonly init: PanelInit;
  config: MergeConfig;
  readonly stored: StoredState;
  job: JobState;
  /** Whether the Advanced settings are open (they are built when opened). */
  advancedOpen: boolean;
  /** Ids of the number fields whose text is not a valid value (Start waits until they are corrected). */
  readonly invalidFields: Set<string>;
}

/** What the sections may do: the page (main.ts) carries it out and redraws what depends on it. */
export interface PanelActions {
  /** A change of what the merge would do: the last result, its verdict and any error no longer describe it. */
  update(change: Partial<MergeConfig>): void;
  send(message: FromWebview): void;
  /** Keep the state with setState. */
  persist(): void;
  /** A number field turned valid or invalid: Start says so. */
  fieldsChanged(): void;
  /** Forget the chosen data (and its test rows): the way out of data that does not fit. */
  clearData(): void;
}

/** The result and everything drawn from it; true when there was one. */
export function forgetOutcome(stored: StoredState): boolean {
  const had = stored.report !== undefined || stored.saved !== undefined;
  stored.report = undefined;
  stored.verdict = undefined;
  stored.stopReason = undefined;
  stored.next = undefined;
  stored.saved = undefined;
  stored.layerChanges = undefined;
  return had;
}

/** Whether some ingredient records no architecture (weights-only checkpoints): the panel then asks for one. */
export function needsArchitecture(init: PanelInit): boolean {
  return init.ingredients.some((i) => !i.architecture);
}

/** The button that asks for the architecture: a PyTorch one (typed) for PyTorch models, else a model file. */
export function architectureButtonText(init: PanelInit): string {
  return init.pytorch ? "PyTorch Architecture…" : "Architecture from…";
}

/** PyTorch models: the device choices this Python can use ("auto" and the CPU always; CUDA, MPS when found). */
export function offeredDevices(found: readonly string[] | undefined): Choice[] {
  return DEVICE_CHOICES.filter(
    (c) =>
      c.value === "auto" ||
      c.value === "cpu" ||
      found === undefined ||
      found.some((d) => d === c.value || d.startsWith(`${c.value}:`)),
  );
}

/** The Backend line for PyTorch models: the Python found, what went wrong, or that it is being looked for. */
export function torchBackendText(torch: StoredState["torch"]): string {
  if (torch?.label !== undefined) return torch.label;
  if (torch?.error !== undefined) return torch.error;
  return "PyTorch (looking for Python with torch…)";
}

/** "#2 fold_2.keras": the ingredient's number and short label, or the path of a model that is none. */
export function ingredientLabel(init: PanelInit, path: string): string {
  const i = init.ingredients.findIndex((x) => x.path === path);
  return i < 0 ? path : `#${i + 1} ${init.ingredients[i]?.label ?? path}`;
}

/** What the capability check (src/protocol/capability.ts) is told: the included ingredients, the files chosen. */
export function capabilityFacts(page: Pick<PanelState, "init" | "config" | "stored">): CapabilityFacts {
  const { init, config, stored } = page;
  const included = new Set(config.ingredients.filter((i) => i.include).map((i) => i.path));
  const rows = init.ingredients.filter((i) => included.has(i.path));
  const preview = stored.preview;
  const features =
    preview && preview.path === config.data?.path && preview.xShape.length > 1
      ? preview.xShape.slice(1).reduce((a, b) => a * b, 1)
      : undefined;
  return {
    ingredients: rows.map((i) => i.path),
    withoutArchitecture: rows.filter((i) => !i.architecture).map((i) => i.path),
    ...(config.architecture !== undefined
      ? {
          architecture: {
            path: config.architecture,
            ...(stored.architectureError !== undefined ? { error: stored.architectureError } : {}),
          },
        }
      : {}),
    ...(init.suggestedArchitecture !== undefined ? { suggestedArchitecture: init.suggestedArchitecture } : {}),
    ...(init.pytorch ? { pytorch: true } : {}),
    ...(init.modelFeatures !== undefined ? { modelFeatures: init.modelFeatures } : {}),
    ...(config.data
      ? {
          data: {
            path: config.data.path,
            ...(stored.dataError !== undefined ? { error: stored.dataError } : {}),
            ...(features !== undefined ? { features } : {}),
          },
        }
      : {}),
  };
}
