/** The messages between the extension host and the model viewer (a read-only custom editor's webview). */
import type { TensorDistributionLine } from "./worker.js";

export interface ViewerLayer {
  name: string;
  className: string;
  /** Batch dimension first; null where only running the model would tell. Absent when unknown. */
  outputShape?: (number | null)[];
  parameters: number;
  inbound: string[];
}

export interface ViewerTensor {
  name: string;
  shape: number[];
  dtype: string;
  layer: string;
  parameters: number;
}

export interface ViewerInit {
  path: string;
  fileName: string;
  format: string;
  parameters: number;
  /** Total bytes of the model's files. */
  bytes: number;
  files: string[];
  architectureName: string;
  modelClass?: string;
  layers: ViewerLayer[];
  tensors: ViewerTensor[];
  metadata: [string, string][];
  warnings: string[];
  /** The Model Explorer group this model belongs to, when the workspace scan found one. */
  group?: { label: string; models: string[]; mergeable: boolean; merge?: { origin: string; ingredients: string[] } };
  /** Why the file cannot be read (then everything else is empty). */
  error?: string;
}

export type ToViewer =
  | { type: "init"; init: ViewerInit }
  | { type: "stats"; tensors: TensorDistributionLine[] }
  | { type: "statsFailed"; message: string };

export type FromViewer =
  | { type: "ready" }
  /** Compute statistics of these tensors (all when absent) in the worker. */
  | { type: "computeStats"; tensors?: string[] }
  | { type: "mergeWith" };

/** The viewer's message, or an Error saying why it is not one. */
export function validateFromViewer(message: unknown): FromViewer | Error {
  if (typeof message !== "object" || message === null) return new Error("viewer message must be an object");
  const m = message as Record<string, unknown>;
  if (m.type === "ready" || m.type === "mergeWith") return { type: m.type };
  if (m.type === "computeStats") {
    if (m.tensors === undefined) return { type: "computeStats" };
    if (Array.isArray(m.tensors) && m.tensors.length <= 100_000 && m.tensors.every((t) => typeof t === "string")) {
      return { type: "computeStats", tensors: m.tensors as string[] };
    }
    return new Error("computeStats.tensors must be a list of tensor names");
  }
  return new Error(`unknown viewer message: ${JSON.stringify(message).slice(0, 200)}`);
}
