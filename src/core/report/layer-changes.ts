/**
 * The per-layer change of a model from a reference, as a read-only table: the relative change first (what the
 * reader looks for), then the tensor, its shape and its statistics. One document, not a textual diff, so no
 * line is highlighted for numbers that merely differ.
 */
import { formatShape } from "../tensor.js";

export interface TensorChange {
  name: string;
  shape: number[];
  mean: number;
  std: number;
  l2: number;
  /** ‖W − W_ref‖ / ‖W_ref‖. */
  relativeChange?: number;
}

function number(x: number): string {
  return Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(3) : x.toFixed(4);
}

export function percent(change: number | undefined): string {
  return change === undefined ? "—" : `${(change * 100).toFixed(2)}%`;
}

export function formatLayerChanges(changes: readonly TensorChange[], model: string, reference: string): string {
  const head = ["change", "tensor", "shape", "mean", "std", "L2"];
  const rows = changes.map((c) => [
    percent(c.relativeChange),
    c.name,
    formatShape(c.shape),
    number(c.mean),
    number(c.std),
    number(c.l2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const largest = [...changes]
    .filter((c) => c.relativeChange !== undefined)
    .sort((a, b) => b.relativeChange! - a.relativeChange!)[0];
  return [
    `Per-layer change of ${model}`,
    `from the reference ${reference}`,
    "change = ‖W − W_reference‖ / ‖W_reference‖ per tensor; mean, std and L2 are the compared model's.",
    ...(largest ? [`Largest change: ${largest.name} (${percent(largest.relativeChange)})`] : []),
    "",
    line(head),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    "",
  ].join("\n");
}
