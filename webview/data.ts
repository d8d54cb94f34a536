/**
 * The Data section: the data to learn from and compare on (a file or an image folder), its label column, an
 * optional file of the user's own test rows, and the host's preview of what was read.
 */
import "@vscode-elements/elements/dist/vscode-button/index.js";
import "@vscode-elements/elements/dist/vscode-textfield/index.js";
import { formatNumber, h, present } from "./dom.js";
import type { Field } from "./fields.js";
import type { PanelActions, PanelState } from "./state.js";

export class DataSection {
  readonly element = h("section", { "aria-labelledby": "data-title" });
  private readonly previewBox = h("div", { class: "preview", id: "data-preview" });
  private readonly testBox = h("div", { class: "test-rows", id: "test-rows" });
  private readonly pathText = h("span", { class: "path", id: "data-path" });
  private readonly clearButton = h(
    "vscode-button",
    { id: "clear-data", secondary: true, onclick: () => this.clearData() },
    "Clear",
  );

  constructor(
    private readonly page: PanelState,
    private readonly actions: PanelActions,
  ) {}

  render(): void {
    const { config } = this.page;
    const label = h("vscode-textfield", {
      id: "label-column",
      value: config.data?.label ?? "",
      placeholder: "default",
      "aria-label": "Label column or key",
    }) as Field;
    label.addEventListener("change", () => {
      const data = this.page.config.data;
      if (!data) return;
      const labelled = { path: data.path, ...(label.value ? { label: label.value } : {}) };
      this.actions.update({ data: { ...labelled, ...(data.test !== undefined ? { test: data.test } : {}) } });
      this.actions.send({ type: "setData", ...labelled });
    });
    const button = (id: string, text: string, onclick: () => void, title?: string) =>
      h("vscode-button", { id, secondary: true, onclick, ...(title ? { title } : {}) }, text);
    this.element.replaceChildren(
      h("h2", { id: "data-title" }, "Data"),
      h(
        "div",
        { class: "row" },
        ...present(
          button("pick-data", "Choose Data…", () => this.actions.send({ type: "pickData" })),
          button(
            "pick-data-folder",
            "Choose Folder…",
            () => this.actions.send({ type: "pickData", folder: true }),
            "An image folder with one subfolder per class",
          ),
          this.pathText,
          this.clearButton,
          h("label", { class: "field inline" }, h("span", {}, "Label column"), label),
        ),
      ),
      this.testBox,
      this.previewBox,
    );
    this.renderChoice();
  }

  /**
   * The chosen data's path, its test rows and preview, redrawn in place: the buttons stay, so the focus that
   * returns to Choose Data… after the file dialog is not lost to a redraw.
   */
  renderChoice(): void {
    const data = this.page.config.data;
    this.pathText.textContent =
      data?.path ?? "No data chosen: learned and greedy soups and the comparison need labelled data.";
    // (`hidden` would not hide it: the element's own :host style sets its display.)
    this.clearButton.style.display = data === undefined ? "none" : "";
    this.renderTestRows();
    this.renderPreview();
  }

  clearData(): void {
    const { stored } = this.page;
    stored.preview = undefined;
    stored.dataError = undefined;
    stored.testRows = undefined;
    this.actions.send({ type: "clear", what: "data" });
    const { data: _, ...rest } = this.page.config;
    this.page.config = rest;
    this.actions.update({});
    this.renderChoice();
  }

  /** "Test rows from…": the user's own held-out rows, used only for the final comparison. */
  renderTestRows(): void {
    const { config, stored } = this.page;
    if (!config.data) {
      this.testBox.replaceChildren();
      return;
    }
    const test = config.data.test;
    this.testBox.replaceChildren(
      ...present(
        h(
          "div",
          { class: "row" },
          ...present(
            h(
              "vscode-button",
              {
                id: "pick-test",
                secondary: true,
                title: "Rows the models were not trained on, used only for the final comparison",
                onclick: () => this.actions.send({ type: "pickTestData" }),
              },
              "Test Rows from…",
            ),
            h(
              "span",
              { class: "path", id: "test-path" },
              test === undefined
                ? "Test rows are drawn from the data (rows the models were trained on may be among them)."
                : `${test}${stored.testRows?.samples !== undefined ? ` · ${stored.testRows.samples.toLocaleString("en-US")} rows` : ""}; the data is split into learn and validation only.`,
            ),
            test !== undefined
              ? h(
                  "vscode-button",
                  {
                    id: "clear-test",
                    secondary: true,
                    onclick: () => this.actions.send({ type: "clear", what: "test" }),
                  },
                  "Clear",
                )
              : undefined,
          ),
        ),
        test !== undefined && stored.testRows?.error
          ? h("p", { class: "notice error", role: "alert", id: "test-error" }, stored.testRows.error)
          : undefined,
      ),
    );
  }

  renderPreview(): void {
    const { stored } = this.page;
    const p = stored.preview;
    const error = stored.dataError
      ? h("p", { class: "notice error", role: "alert", id: "data-error" }, stored.dataError)
      : undefined;
    if (!p) {
      this.previewBox.replaceChildren(...present(error));
      return;
    }
    const classes = p.classCounts?.length
      ? h("p", {}, `Classes (${p.classCounts.length}): ${p.classCounts.map((c) => `${c.name}: ${c.count}`).join(", ")}`)
      : undefined;
    this.previewBox.replaceChildren(
      ...present(
        h(
          "p",
          {},
          `${p.samples.toLocaleString("en-US")} samples · input shape [${p.xShape.slice(1).join(", ")}] · ${p.task}${p.labelName !== undefined ? ` · labels from "${p.labelName}"` : ""}`,
        ),
        classes,
        p.featureRange
          ? h(
              "p",
              {},
              `Feature values from ${formatNumber(p.featureRange.min, 3)} to ${formatNumber(p.featureRange.max, 3)}`,
            )
          : undefined,
        ...p.notes.map((n) => h("p", { class: "note" }, n)),
        error,
      ),
    );
  }
}
