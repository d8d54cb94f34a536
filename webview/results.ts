/**
 * The Results section: the verdict, every model scored on the held-out test rows, the coefficients, what aligning
 * did, saving, and the per-layer change of the merge.
 */
import "@vscode-elements/elements/dist/vscode-button/index.js";
import type { MergeConfig } from "../src/protocol/panel.js";
import type { SoupReport } from "../src/protocol/worker.js";
import { alignmentSection } from "./alignment.js";
import { resultRows, resultsChart } from "./chart-data.js";
import { breakable, formatNumber, h, pathText, present } from "./dom.js";
import { select } from "./fields.js";
import { layerChart } from "./layer-chart.js";
import { resultActions, type ResultActions } from "./next-action.js";
import { resultBase, settingsText } from "./merge-settings.js";
import { resultsChartElement } from "./results-chart.js";
import { ingredientLabel, type PanelActions, type PanelState } from "./state.js";

function metricCell(value: number | undefined, metricName: string): string {
  if (value === undefined) return "—";
  return metricName === "accuracy" ? `${(value * 100).toFixed(2)}%` : formatNumber(value);
}

function metricHeading(metricName: string): string {
  return metricName === "accuracy" ? "Accuracy" : metricName === "mae" ? "MAE" : "Mean entropy";
}

function coefficientText(report: SoupReport, config: MergeConfig, labelOf: (path: string) => string): string {
  if (!Array.isArray(report.coefficients))
    return `${Object.keys(report.coefficients).length} layers × ${report.metrics.ingredients.length} ingredients (the column gives each one's mean; the heat map every layer)`;
  if (report.coefficients.length === 0) return settingsText(report.method, config, labelOf);
  return "in the table's Coefficient column";
}

export class ResultsSection {
  readonly element = h("section", { "aria-labelledby": "results-title", id: "results" });

  constructor(
    private readonly page: PanelState,
    private readonly actions: PanelActions,
    /** Starts a run of the configuration as it now is ("Run Again without …"). */
    private readonly start: () => void,
  ) {}

  render(): void {
    const { init, stored } = this.page;
    const report = stored.report;
    if (!report) {
      this.element.replaceChildren();
      return;
    }
    const name = report.metricName;
    const labelOf = (path: string) => ingredientLabel(init, path);
    // The base of a task-vector merge is one of the rows: it is named as such.
    const base = resultBase(report.method, this.page.config);
    const rows = resultRows(report, (path) => `${labelOf(path)}${path === base ? " (base)" : ""}`);
    const score = (r: { metric: number }) => (name === "accuracy" ? r.metric : -r.metric);
    const best = Math.max(...rows.filter((r) => r.kind !== "ensemble").map((r) => score(r.scores)));
    const hasCoefficients = rows.some((r) => r.coefficient !== undefined);
    const reference = stored.diffReference ?? init.ingredients[0]?.path;
    // The button names the ingredients by number (it must fit a narrow panel); the note above it names them in full.
    const next = resultActions(stored.next, (path) => `#${init.ingredients.findIndex((i) => i.path === path) + 1}`);
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
              hasCoefficients ? h("th", { scope: "col" }, "Coefficient") : undefined,
            ),
          ),
          h(
            "tbody",
            {},
            ...rows.map((r) =>
              h(
                "tr",
                { class: `${r.kind}${r.kind !== "ensemble" && score(r.scores) === best ? " best" : ""}` },
                h("th", { scope: "row" }, breakable(r.label)),
                h("td", { class: "num" }, metricCell(r.scores.metric, name)),
                h("td", { class: "num" }, formatNumber(r.scores.loss)),
                hasCoefficients ? h("td", { class: "num" }, r.coefficient ?? "") : undefined,
              ),
            ),
          ),
        ),
        name !== "entropy"
          ? resultsChartElement(resultsChart(report, rows), (v) => metricCell(v, name), metricHeading(name))
          : undefined,
        h(
          "p",
          {},
          `Coefficients: ${coefficientText(report, this.page.config, labelOf)} · backend ${report.backend} · ${report.seconds.toFixed(1)} s`,
        ),
        ...report.warnings.map((w) => h("p", { class: "notice warning" }, w)),
        report.alignment ? alignmentSection(report.alignment, this.page, this.actions) : undefined,
        next.runWithout
          ? h("p", { class: "note", id: "harmful" }, `This run found: ${next.runWithout.why}.`)
          : undefined,
        h(
          "div",
          { class: "row", id: "result-actions" },
          ...present(
            ...this.nextButtons(next),
            h(
              "vscode-button",
              {
                id: "save",
                ...(next.primary === "save" ? {} : { secondary: true }),
                onclick: () => this.actions.send({ type: "save" }),
              },
              next.primary === "save" ? "Save Merged Model…" : "Save the Merge Anyway…",
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

  /** The buttons the verdict implies before Save: open the best ingredient, run again without the harmful ones. */
  private nextButtons(next: ResultActions): HTMLElement[] {
    const { init } = this.page;
    const best = next.best;
    const buttons: HTMLElement[] = [];
    if (best !== undefined) {
      buttons.push(
        h(
          "vscode-button",
          { id: "open-best", onclick: () => this.actions.send({ type: "openIngredient", path: best, what: "open" }) },
          `Open ${ingredientLabel(init, best)}`,
        ),
        // It copies the file's path, so it says so, and whose (the full path in its tooltip).
        h(
          "vscode-button",
          {
            id: "copy-best",
            secondary: true,
            title: best,
            onclick: () => this.actions.send({ type: "openIngredient", path: best, what: "copyPath" }),
          },
          `Copy Path of #${init.ingredients.findIndex((i) => i.path === best) + 1}`,
        ),
      );
    }
    const without = next.runWithout;
    if (without) {
      buttons.push(
        h(
          "vscode-button",
          {
            id: "run-without",
            secondary: true,
            title: without.why,
            onclick: () => {
              const ingredients = this.page.config.ingredients.map((c) =>
                without.paths.includes(c.path) ? { ...c, include: false } : c,
              );
              this.actions.update({ ingredients });
              this.start();
            },
          },
          without.label,
        ),
      );
    }
    return buttons;
  }

  private savedNotice(saved: { model: string; recipe: string }): HTMLElement {
    return h(
      "div",
      { id: "saved", class: "notice row", role: "status", tabindex: -1 },
      h("span", {}, "Saved ", pathText(saved.model), " and its recipe ", pathText(saved.recipe)),
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
