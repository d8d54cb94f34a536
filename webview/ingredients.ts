/**
 * The Ingredients section: which models take part and their manual weights, and, when some record no
 * architecture (weights-only checkpoints), the file whose architecture rebuilds them.
 */
import "@vscode-elements/elements/dist/vscode-button/index.js";
import "@vscode-elements/elements/dist/vscode-checkbox/index.js";
import "@vscode-elements/elements/dist/vscode-textfield/index.js";
import { CONFIG_RANGES } from "../src/protocol/panel.js";
import { breakable, h, present } from "./dom.js";
import { parseInRange, type Field } from "./fields.js";
import { architectureButtonText, needsArchitecture, type PanelActions, type PanelState } from "./state.js";

export class IngredientsSection {
  readonly element = h("section", { "aria-labelledby": "ingredients-title" });

  constructor(
    private readonly page: PanelState,
    private readonly actions: PanelActions,
  ) {}

  render(): void {
    const { init, config } = this.page;
    const manual = config.method === "manual";
    const rows = init.ingredients.map((ingredient, i) => {
      const choice = config.ingredients.find((c) => c.path === ingredient.path);
      if (!choice) return undefined;
      const include = h("vscode-checkbox", {
        checked: choice.include,
        "aria-label": `Include ${ingredient.label}`,
        class: "include",
      }) as Field;
      include.addEventListener("change", () => {
        choice.include = !!include.checked;
        this.actions.update({ ingredients: this.page.config.ingredients });
      });
      const coefficient = h("vscode-textfield", {
        type: "number",
        step: "0.1",
        value: String(choice.coefficient),
        disabled: !manual || !choice.include,
        "aria-label": `Coefficient of ${ingredient.label}`,
        class: "coefficient",
      }) as Field;
      coefficient.addEventListener("change", () => {
        const v = parseInRange(coefficient.value, CONFIG_RANGES.coefficient);
        coefficient.invalid = v === undefined;
        if (v !== undefined) {
          choice.coefficient = v;
          this.actions.persist();
        }
      });
      return h(
        "tr",
        {},
        h("td", {}, include),
        h("td", { title: ingredient.path }, breakable(`#${i + 1} ${ingredient.label}`)),
        h("td", {}, ingredient.format),
        h("td", { class: "num" }, ingredient.parameters.toLocaleString("en-US")),
        h("td", {}, ingredient.dtype),
        h("td", {}, coefficient),
      );
    });
    this.element.replaceChildren(
      ...present(
        h("h2", { id: "ingredients-title" }, "Ingredients"),
        h(
          "table",
          { class: "grid" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ...["Use", "Model", "Format", "Parameters", "Dtype", "Weight (manual)"].map((t) =>
                h("th", { scope: "col" }, t),
              ),
            ),
          ),
          h("tbody", {}, ...present(...rows)),
        ),
        this.architecture(),
      ),
    );
  }

  /** "Architecture from…": shown when an ingredient records none, or while a file is chosen. */
  private architecture(): HTMLElement | undefined {
    const { init, config, stored } = this.page;
    const needed = needsArchitecture(init);
    if (!needed && config.architecture === undefined) return undefined;
    return h(
      "div",
      { id: "architecture" },
      needed && config.architecture === undefined
        ? h(
            "p",
            { class: "notice warning", id: "architecture-needed" },
            init.pytorch
              ? "These PyTorch state dicts hold weights only: name their architecture (torchvision:<name>, or <file.py>:<function> in a trusted workspace) to run them, or put a model-soup.json beside them."
              : "These checkpoints hold weights only: choose a full model file (.keras, .h5 saved with its model, model.json) or a topology JSON of the same architecture to run them.",
          )
        : undefined,
      h(
        "div",
        { class: "row" },
        h(
          "vscode-button",
          { id: "pick-architecture", secondary: true, onclick: () => this.actions.send({ type: "pickArchitecture" }) },
          architectureButtonText(init),
        ),
        h("span", { class: "path", id: "architecture-path" }, config.architecture ?? "No architecture chosen."),
        config.architecture !== undefined
          ? h(
              "vscode-button",
              {
                id: "clear-architecture",
                secondary: true,
                onclick: () => this.actions.send({ type: "clear", what: "architecture" }),
              },
              "Clear",
            )
          : undefined,
      ),
      stored.architectureError && config.architecture !== undefined
        ? h("p", { class: "notice error", role: "alert", id: "architecture-error" }, stored.architectureError)
        : undefined,
    );
  }
}
