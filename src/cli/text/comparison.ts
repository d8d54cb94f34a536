/** `model-soup diff` as text: how the tensors were matched, the model-wide figures, then one line per tensor. */
import { escapeControl } from "../../core/io/display.js";
import { formatShape } from "../../core/tensor.js";
import type { ModelComparison } from "../../protocol/worker.js";
import { shortName } from "./short-name.js";
import { formatTable } from "./table.js";

const figure = (v: number | null, digits = 4) =>
  v === null ? "—" : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(digits);

export function formatModelComparison(c: ModelComparison): string {
  const [a, b] = [escapeControl(shortName(c.a)), escapeControl(shortName(c.b))];
  const byStructure = c.matchedBy === "structure";
  const nonFinite = c.tensors.filter((t) => t.a.nonFinite > 0 || t.b.nonFinite > 0).length;
  const header = [
    `A: ${a}`,
    `B: ${b}`,
    `${c.tensors.length} tensors matched by ${byStructure ? "structure (the files name them differently: paired layer by layer, in order)" : "name"}, ${c.identical} identical`,
    `Overall (all tensors as one vector): relative difference ‖B − A‖ / ‖A‖ ${figure(c.overall.relativeDifference)}, cosine ${figure(c.overall.cosine)}, largest absolute difference ${figure(c.overall.maxAbsDifference)}`,
    ...(nonFinite > 0 ? [`${nonFinite} tensors hold non-finite values (NaN or ±Infinity): their figures are "—"`] : []),
  ];
  const rows = c.tensors.map((t) => [
    escapeControl(byStructure ? t.name : (t.label ?? t.name)),
    ...(byStructure ? [escapeControl(t.nameB)] : []),
    formatShape(t.shape),
    figure(t.relativeDifference),
    figure(t.cosine),
    figure(t.maxAbsDifference),
  ]);
  const headers = [
    byStructure ? "tensor in A" : "tensor",
    ...(byStructure ? ["tensor in B"] : []),
    "shape",
    "rel. diff",
    "cosine",
    "max |Δ|",
  ];
  return [...header, "", formatTable(headers, rows)].join("\n");
}
