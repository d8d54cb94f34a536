/**
 * The Results section: the verdict, every model scored on the held-out test rows, the coefficients, what aligning
 * did, saving, and the per-layer change of the merge.
 */
import "@vscode-elements/elements/dist/vscode-button/index.js";
import type { SoupReport } from "../src/protocol/worker.js";
import { alignmentSection } from "./alignment.js";
import { formatNumber, h, present } from "./dom.js";
import { select } from "./fields.js";
import { layerChart } from "./layer-chart.js";
import { ingredientLabel, type PanelActions, type PanelState } from "./state.js";

type Scores = { loss: number; metric: number };

function metricCell(value: number | undefined, metricName: string): string {
  if (value === undefined) return "—";
  return metricName === "accuracy" ? `${(value * 100).toFixed(2)}%` : formatNumber(value);
}

function metricHeading(metricName: string): string {
  return metricName === "accuracy" ? "Accuracy" : metricName === "mae" ? "MAE" : "Mean entropy";
}

function coefficientText(report: SoupReport): string {
  if (!Array.isArray(report.coefficients))
    return `${Object.keys(report.coefficients).length} layers × ${report.metrics.ingredients.length} ingredients (see the heatmap)`;
  if (report.coefficients.length === 0) return "none (weights from statistics of the data)";
  return report.coefficients.map((c, i) => `#${i + 1}: ${c.toFixed(3)}`).join(", ");
}

export class ResultsSection {
  readonly element = h("section", { "aria-labelledby": "results-title", id: "results" });

  constructor(
    private readonly page: PanelState,
    private readonly actions: PanelActions,
  ) {}

  render(): void {
    const { init, stored } = this.page;
    const report = stored.report;
    if (!report) {
      this.element.replaceChildren();
      return;
    }
    const m = report.metrics;
    const name = report.metricName;
    const rows: [string, Scores][] = [
      ...m.ingredients.map((r): [string, Scores] => [`Ingredient ${ingredientLabel(init, r.model)}`, r]),
      ["Uniform soup", m.uniform],
      ...(m.alignedUniform ? [["Aligned uniform soup", m.alignedUniform] as [string, Scores]] : []),
      [report.method === "uniform" ? "Merged (uniform)" : `Merged (${report.method})`, m.merged],
      ["Ensemble of outputs (costs N× at inference)", m.ensemble],
    ];
    const score = (r: Scores) => (name === "accuracy" ? r.metric : -r.metric);
    const best = Math.max(...rows.slice(0, -1).map(([, r]) => score(r)));
    const reference = stored.diffReference ?? init.ingredients[0]?.path;
    this.element.replaceChildren(
      ...present(
        h("h2", { id: "results-title" }, "Results (held-out test data)"),
        stored.verdict ? h("p", { id: "verdict", class: "verdict" }, stored.verdict) : undefined,
        stored.stopReason ? h("p", { id: "stop-reason", class: "note" }, stored.stopReason) : undefined,
        h(
          "table",
          { class: "grid results" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("th", { scope: "col" }, "Model"),
              h("th", { scope: "col" }, metricHeading(name)),
              h("th", { scope: "col" }, "Loss"),
            ),
          ),
          h(
            "tbody",
            {},
            ...rows.map(([label, r]) =>
              h(
                "tr",
                { class: score(r) === best ? "best" : "" },
                h("th", { scope: "row" }, label),
                h("td", { class: "num" }, metricCell(r.metric, name)),
                h("td", { class: "num" }, formatNumber(r.loss)),
              ),
            ),
          ),
        ),
        h(
          "p",
          {},
          `Coefficients: ${coefficientText(report)} · backend ${report.backend} · ${report.seconds.toFixed(1)} s`,
        ),
        ...report.warnings.map((w) => h("p", { class: "notice warning" }, w)),
        report.alignment ? alignmentSection(report.alignment, this.page, this.actions) : undefined,
        h(
          "div",
          { class: "row" },
          ...present(
            h(
              "vscode-button",
              { id: "save", onclick: () => this.actions.send({ type: "save" }) },
              "Save Merged Model…",
            ),
            reference !== undefined
              ? select(
                  "diff-reference",
                  "Compare the merge with",
                  init.ingredients.map((ingredient) => [
                    ingredient.path,
                    `Ingredient ${ingredientLabel(init, ingredient.path)}`,
                  ]),
                  reference,
                  (v) => {
                    stored.diffReference = v;
                    this.actions.persist();
                  },
                )
              : undefined,
            h(
              "vscode-button",
              {
                id: "show-diff",
                secondary: true,
                onclick: () => {
                  const ingredient = stored.diffReference ?? reference;
                  this.actions.send({ type: "showDiff", ...(ingredient !== undefined ? { ingredient } : {}) });
                },
              },
              "Show Per-Layer Diff",
            ),
          ),
        ),
        stored.layerChanges ? layerChart(stored.layerChanges) : undefined,
        stored.saved ? this.savedNotice(stored.saved) : undefined,
      ),
    );
  }

  private savedNotice(saved: { model: string; recipe: string }): HTMLElement {
    return h(
      "div",
      { id: "saved", class: "notice row" },
      h("span", {}, `Saved ${saved.model} and its recipe ${saved.recipe}`),
      h(
        "vscode-button",
        {
          id: "reveal-saved",
          secondary: true,
          onclick: () => this.actions.send({ type: "openSaved", what: "reveal" }),
        },
        "Reveal in Explorer",
      ),
      h(
        "vscode-button",
        { id: "open-recipe", secondary: true, onclick: () => this.actions.send({ type: "openSaved", what: "recipe" }) },
        "Open Recipe",
      ),
    );
  }
}
