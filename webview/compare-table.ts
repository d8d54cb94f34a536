/**
 * The Compare Models table: one row per tensor (name, shape, relative difference with a bar, cosine, largest
 * absolute difference, both histograms), sortable by each column from its header button (keyboard included).
 */
import type { ModelComparison, TensorComparison } from "../src/protocol/worker.js";
import { formatNumber, h } from "./dom.js";
import { pairedHistogram } from "./compare-histogram.js";

export type SortKey = "order" | "name" | "relativeDifference" | "cosine" | "maxAbsDifference";
export interface Sort {
  key: SortKey;
  descending: boolean;
}

/** What a first click on a column sorts by: the largest difference / the lowest cosine first. */
const FIRST_DESCENDING: Record<SortKey, boolean> = {
  order: false,
  name: false,
  relativeDifference: true,
  cosine: false,
  maxAbsDifference: true,
};

const shapeText = (shape: readonly number[]) => `[${shape.join(", ")}]`;

/** The rows in `sort`'s order; a missing figure (non-finite values) always last. Stable: ties keep file order. */
export function sortedRows(tensors: readonly TensorComparison[], sort: Sort): TensorComparison[] {
  const indexed = tensors.map((t, i) => ({ t, i }));
  const value = (t: TensorComparison, i: number): number | string | null =>
    sort.key === "order" ? i : sort.key === "name" ? t.name : t[sort.key];
  indexed.sort((x, y) => {
    const [vx, vy] = [value(x.t, x.i), value(y.t, y.i)];
    if (vx === null || vy === null) return vx === vy ? x.i - y.i : vx === null ? 1 : -1;
    const c = typeof vx === "string" ? vx.localeCompare(vy as string) : vx - (vy as number);
    return (sort.descending ? -c : c) || x.i - y.i;
  });
  return indexed.map((x) => x.t);
}

/** The next sort after a click on `key`'s header: the same column turns around, another starts its own way. */
export function nextSort(current: Sort, key: SortKey): Sort {
  return current.key === key ? { key, descending: !current.descending } : { key, descending: FIRST_DESCENDING[key] };
}

function header(label: string, key: SortKey | undefined, sort: Sort, onSort: (key: SortKey) => void, cls = "") {
  if (!key) return h("th", { scope: "col", class: cls }, label);
  const active = sort.key === key;
  return h(
    "th",
    { scope: "col", class: cls, "aria-sort": active ? (sort.descending ? "descending" : "ascending") : "none" },
    h(
      "button",
      {
        class: "sort",
        id: `sort-${key}`,
        title: `Sort by ${label.toLowerCase()}`,
        onclick: () => onSort(key),
      },
      label,
      h("span", { class: "arrow", "aria-hidden": "true" }, active ? (sort.descending ? " ▼" : " ▲") : ""),
    ),
  );
}

/** A thin bar under the relative difference, its length relative to the table's largest (set through the CSSOM: the
 * page's Content-Security-Policy refuses inline style attributes). */
function shareBar(share: number): HTMLElement {
  const bar = h("span", { class: "share", "aria-hidden": "true" });
  bar.style.width = `${(share * 100).toFixed(1)}%`;
  return bar;
}

export function comparisonTable(c: ModelComparison, sort: Sort, onSort: (key: SortKey) => void): HTMLTableElement {
  const byStructure = c.matchedBy === "structure";
  const largest = Math.max(0, ...c.tensors.map((t) => t.relativeDifference ?? 0));
  const rows = sortedRows(c.tensors, sort).map((t) => {
    const share = largest > 0 && t.relativeDifference !== null ? t.relativeDifference / largest : 0;
    const nonFinite = t.a.nonFinite + t.b.nonFinite;
    return h(
      "tr",
      { "data-tensor": t.name },
      h(
        "th",
        { scope: "row", class: "mono tensor" },
        byStructure ? t.name : (t.label ?? t.name),
        byStructure && t.nameB !== t.name ? h("span", { class: "note name-b" }, `B: ${t.nameB}`) : undefined,
      ),
      h("td", { class: "mono shape" }, shapeText(t.shape)),
      h("td", { class: "num difference" }, formatNumber(t.relativeDifference ?? undefined), shareBar(share)),
      h("td", { class: "num" }, formatNumber(t.cosine ?? undefined)),
      h("td", { class: "num" }, formatNumber(t.maxAbsDifference ?? undefined)),
      h(
        "td",
        { class: "histograms" },
        pairedHistogram(t.a.histogram, t.b.histogram, { min: t.histogramMin, max: t.histogramMax }, t.name),
        nonFinite > 0 ? h("span", { class: "error" }, ` ${nonFinite} non-finite`) : undefined,
      ),
    );
  });
  return h(
    "table",
    { class: "grid compare", id: "compare-table" },
    h(
      "caption",
      { class: "note" },
      "Relative difference ‖B − A‖ / ‖A‖; cosine of A and B; max |Δ|, the largest absolute difference of one value.",
    ),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        header(byStructure ? "Tensor (A; B)" : "Tensor", "name", sort, onSort),
        header("Shape", undefined, sort, onSort, "shape"),
        header("Rel. diff", "relativeDifference", sort, onSort, "num"),
        header("Cosine", "cosine", sort, onSort, "num"),
        header("Max |Δ|", "maxAbsDifference", sort, onSort, "num"),
        header("Histograms", undefined, sort, onSort),
      ),
    ),
    h("tbody", {}, ...rows),
  );
}
