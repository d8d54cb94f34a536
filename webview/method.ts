/**
 * The Method section: the merge method, the loss it learns and scores with, the learned soup's options, "Align
 * first" (offered once a run found ingredients that share no basin), and the Advanced settings.
 */
import {
  ALIGN_METHOD_CHOICES,
  GRANULARITY_CHOICES,
  LOSS_CHOICES,
  OBJECTIVE_CHOICES,
  PANEL_METHOD_CHOICES,
  PARAMETERISATION_CHOICES,
  canAlign,
} from "../src/protocol/choices.js";
import type { MergeConfig } from "../src/protocol/panel.js";
import { AdvancedSettings } from "./advanced.js";
import { h, present } from "./dom.js";
import { options, select } from "./fields.js";
import type { PanelActions, PanelState } from "./state.js";

const ALIGN_CHOICES: [string, string][] = [
  ["none", "No: average the models as given"],
  ...options(ALIGN_METHOD_CHOICES),
];

export class MethodSection {
  readonly element = h("section", { "aria-labelledby": "method-title" });
  private readonly learnedBox = h("div", { class: "learned-options" });
  private readonly alignBox = h("div", { class: "align-options", id: "align-options" });
  readonly advanced: AdvancedSettings;

  constructor(
    private readonly page: PanelState,
    private readonly actions: PanelActions,
  ) {
    this.advanced = new AdvancedSettings(page, actions);
  }

  render(): void {
    const { config } = this.page;
    this.element.replaceChildren(
      h("h2", { id: "method-title" }, "Method"),
      h(
        "div",
        { class: "row" },
        select("method", "Method", options(PANEL_METHOD_CHOICES), config.method, (v) =>
          this.actions.update({ method: v as MergeConfig["method"] }),
        ),
        select("loss", "Loss", options(LOSS_CHOICES), config.loss, (v) =>
          this.actions.update({ loss: v as MergeConfig["loss"] }),
        ),
      ),
      this.learnedBox,
      this.alignBox,
      this.advanced.element,
    );
    this.renderOptions();
    this.advanced.render();
  }

  /** The parts that depend on the method: the learned soup's options and "Align first". */
  renderOptions(): void {
    this.renderAlign();
    const c = this.page.config;
    if (c.method !== "learned") {
      this.learnedBox.replaceChildren();
      return;
    }
    if (this.learnedBox.childElementCount > 0) return;
    this.learnedBox.replaceChildren(
      h(
        "div",
        { class: "row" },
        select("granularity", "Granularity", options(GRANULARITY_CHOICES), c.granularity, (v) =>
          this.actions.update({ granularity: v as MergeConfig["granularity"] }),
        ),
        select("parameterisation", "Coefficients", options(PARAMETERISATION_CHOICES), c.parameterisation, (v) =>
          this.actions.update({ parameterisation: v as MergeConfig["parameterisation"] }),
        ),
        select("objective", "Objective", options(OBJECTIVE_CHOICES), c.objective, (v) =>
          this.actions.update({ objective: v as MergeConfig["objective"] }),
        ),
      ),
    );
  }

  renderAlign(): void {
    const { config: c, stored } = this.page;
    if (!stored.basin && c.align === undefined) {
      this.alignBox.replaceChildren();
      return;
    }
    this.alignBox.replaceChildren(
      ...present(
        stored.basin ? h("p", { class: "notice warning", id: "basin" }, stored.basin) : undefined,
        select("align", "Align first", ALIGN_CHOICES, c.align ?? "none", (v) => {
          const { align: _, ...rest } = this.page.config;
          this.page.config = v === "none" ? rest : { ...rest, align: v as NonNullable<MergeConfig["align"]> };
          this.actions.update({});
        }),
        canAlign(c.method)
          ? undefined
          : h("p", { class: "note", id: "align-note" }, "Aligning applies to the learned and greedy soups."),
      ),
    );
  }
}
