/**
 * The messages between the extension host and the Compare Models view (a webview of two model files side by side),
 * and the validator the host runs on every message the view sends.
 */
import * as v from "valibot";
import { check } from "./schema.js";
import type { ModelComparison } from "./worker.js";

/** What the view shows: the two files, and the comparison once the worker has computed it (or why it failed). */
export interface CompareInit {
  a: { path: string; label: string };
  b: { path: string; label: string };
  state: "computing" | "done" | "failed";
  comparison?: ModelComparison;
  error?: string;
}

export type ToCompare = { type: "init"; init: CompareInit };

const fields = <E extends v.ObjectEntries>(entries: E) => v.strictObject(entries, "must be an object");

const fromCompareSchema = v.variant("type", [
  fields({ type: v.literal("ready") }),
  /** Compare again with A and B exchanged (the relative difference is measured against A). */
  fields({ type: v.literal("swap") }),
  /** Open one side in the model viewer. */
  fields({ type: v.literal("open"), side: v.picklist(["a", "b"], "must be a or b") }),
]);
const MESSAGE_TYPES: readonly string[] = fromCompareSchema.options.map((o) => o.entries.type.literal);

export type FromCompare = v.InferOutput<typeof fromCompareSchema>;

/** The view's message, or an Error saying why it is not one. Unknown fields are refused. */
export function validateFromCompare(message: unknown): FromCompare | Error {
  const type = typeof message === "object" && message !== null ? (message as { type?: unknown }).type : undefined;
  if (typeof type !== "string" || !MESSAGE_TYPES.includes(type))
    return new Error(`unknown Compare Models message: ${JSON.stringify(message)?.slice(0, 200)}`);
  const checked = check(fromCompareSchema, message, "message");
  return checked.ok ? checked.value : new Error(`invalid "${type}" Compare Models message: ${checked.problem}`);
}
