/**
 * The results chart: the test metric of every row as a bar, the output ensemble as a reference line across them.
 * HTML bars in a grid (label, bar, value), so it wraps and shrinks with the panel like the table above it.
 */
import type { ResultsChart } from "./chart-data.js";
import { breakable, h } from "./dom.js";

/** Sets one style property through the CSSOM (the panel's CSP refuses style attributes). */
function styled(el: HTMLElement, property: "width" | "left", value: string): HTMLElement {
  el.style[property] = value;
  return el;
}

export function resultsChartElement(chart: ResultsChart, format: (v: number) => string, metric: string): HTMLElement {
  const share = (v: number) => `${Math.max(0, Math.min(100, (v / chart.max) * 100)).toFixed(2)}%`;
  const reference = share(chart.reference);
  return h(
    "figure",
    {
      id: "results-chart",
      class: "results-chart",
      "data-reference": String(chart.reference),
      "aria-label": `${metric} on the test rows per model; the ensemble of outputs ${format(chart.reference)}`,
    },
    h(
      "figcaption",
      { class: "note" },
      `${metric} on the test rows (${chart.higherIsBetter ? "higher" : "lower"} is better); the line is the ensemble of outputs (${format(chart.reference)}), the upper reference that costs N× at inference.`,
    ),
    ...chart.bars.map((bar) =>
      h(
        "div",
        { class: `bar-row ${bar.kind}`, "data-value": String(bar.value) },
        h("span", { class: "bar-label" }, breakable(bar.label)),
        h(
          "span",
          { class: "bar-track" },
          styled(h("span", { class: "bar-fill" }), "width", share(bar.value)),
          styled(h("span", { class: "bar-reference", title: "ensemble of outputs" }), "left", reference),
        ),
        h("span", { class: "bar-value num" }, format(bar.value)),
      ),
    ),
  );
}
