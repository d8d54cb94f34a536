/**
 * The messages between the extension host and the model viewer (a read-only custom editor's webview), and the
 * validator the host runs on every message the viewer sends, a valibot schema as for the Merge panel.
 */
import * as v from "valibot";
import { check } from "./schema.js";
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
  /** The name Keras gives a Keras 3 `vars/<i>` tensor ("dense/kernel"), when it differs from `name`. */
  readableName?: string;
  /** For a model matched to its group by structure: the group's first model's name for this tensor. */
  matches?: string;
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
  group?: {
    label: string;
    models: string[];
    mergeable: boolean;
    merge?: { origin: string; ingredients: string[] };
    /** Matched by structure: whose tensor names the `matches` of the tensors are. */
    matchedTo?: string;
  };
  /** Why no group can take this model (it has no compatible partner in the workspace). */
  alone?: string;
  /** Why the file cannot be read (then everything else is empty). */
  error?: string;
}

export type ToViewer =
  | { type: "init"; init: ViewerInit }
  | { type: "stats"; tensors: TensorDistributionLine[] }
  | { type: "statsFailed"; message: string };

const fields = <E extends v.ObjectEntries>(entries: E) => v.strictObject(entries, "must be an object");
const tensorNames = v.pipe(
  v.array(
    v.pipe(v.string("must be a list of tensor names"), v.maxLength(4096, "must be a list of tensor names")),
    "must be a list of tensor names",
  ),
  v.maxLength(100_000, "must be a list of tensor names"),
);

const fromViewerSchema = v.variant("type", [
  fields({ type: v.literal("ready") }),
  /** Compute statistics of these tensors (all when absent) in the worker. */
  fields({ type: v.literal("computeStats"), tensors: v.optional(tensorNames) }),
  fields({ type: v.literal("mergeWith") }),
  /** Compare this model with another, tensor by tensor (the Compare Models view). */
  fields({ type: v.literal("compareWith") }),
]);
const MESSAGE_TYPES: readonly string[] = fromViewerSchema.options.map((o) => o.entries.type.literal);

export type FromViewer = v.InferOutput<typeof fromViewerSchema>;

/** The viewer's message, or an Error saying why it is not one. Unknown fields are refused. */
export function validateFromViewer(message: unknown): FromViewer | Error {
  const type = typeof message === "object" && message !== null ? (message as { type?: unknown }).type : undefined;
  if (typeof type !== "string" || !MESSAGE_TYPES.includes(type))
    return new Error(`unknown viewer message: ${JSON.stringify(message)?.slice(0, 200)}`);
  const checked = check(fromViewerSchema, message, "message");
  return checked.ok ? checked.value : new Error(`invalid "${type}" viewer message: ${checked.problem}`);
}
