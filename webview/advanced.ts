/**
 * The Advanced settings (split, seed and backend for every method; learning rate, steps and batch for the learned
 * soup), each number checked against its range in src/protocol/panel.ts. Built when opened: inside a closed
 * <details> the single-select reads its options' labels (innerText) as empty, which drew a blank Backend dropdown.
 * Rebuilt when the method or the backend setting changes. PyTorch models show the Python found to run them instead
 * of the TensorFlow.js backends, and the device choice.
 */
import { BACKEND_SETTING_CHOICES } from "../src/protocol/choices.js";
import { CONFIG_RANGES, type MergeConfig } from "../src/protocol/panel.js";
import { h } from "./dom.js";
import { numberField, options, select } from "./fields.js";
import { offeredDevices, torchBackendText, type PanelActions, type PanelState } from "./state.js";

type NumberSetting = "learningRate" | "steps" | "batchSize" | "validationFraction" | "testFraction" | "seed";

const NUMBER_FIELDS: { key: NumberSetting; id: string; label: string; learnedOnly?: boolean }[] = [
  { key: "learningRate", id: "learning-rate", label: "Learning rate", learnedOnly: true },
  { key: "steps", id: "steps", label: "Steps", learnedOnly: true },
  { key: "batchSize", id: "batch", label: "Batch size", learnedOnly: true },
  { key: "validationFraction", id: "validation", label: "Validation fraction" },
  { key: "testFraction", id: "test", label: "Test fraction" },
  { key: "seed", id: "seed", label: "Split seed" },
];

export class AdvancedSettings {
  readonly element = h("div", { class: "advanced" });

  constructor(
    private readonly page: PanelState,
    private readonly actions: PanelActions,
  ) {}

  render(): void {
    const details = h("details", { id: "advanced" }, h("summary", {}, "Advanced"));
    this.page.invalidFields.clear();
    details.addEventListener("toggle", () => {
      this.page.advancedOpen = details.open;
      this.build(details);
    });
    this.element.replaceChildren(details);
    if (this.page.advancedOpen) {
      details.open = true;
      queueMicrotask(() => this.build(details));
    }
  }

  private build(details: HTMLDetailsElement): void {
    if (!details.open || details.querySelector(".row")) return;
    const c = this.page.config;
    const ownTestRows = c.data?.test !== undefined;
    const fields = NUMBER_FIELDS.map(({ key, id, label, learnedOnly }) => {
      const field = numberField(
        id,
        label,
        c[key],
        CONFIG_RANGES[key],
        this.page.invalidFields,
        () => this.actions.fieldsChanged(),
        (v) => this.actions.update({ [key]: v }),
      );
      // The test fraction is not drawn from the data when the user gave test rows of their own.
      const off = (learnedOnly && c.method !== "learned") || (key === "testFraction" && ownTestRows);
      if (off) field.querySelector("vscode-textfield")?.setAttribute("disabled", "");
      if (key === "testFraction" && ownTestRows) field.title = "Your own test rows are used (see Data).";
      return field;
    });
    details.append(h("div", { class: "row" }, ...fields, ...this.backendFields()));
  }

  /**
   * The TensorFlow.js backends, or for PyTorch models (which TF.js does not run) the Python found to run them and
   * the device choice.
   */
  private backendFields(): HTMLElement[] {
    const { init, config: c, stored } = this.page;
    if (!init.pytorch)
      return [
        select("backend", "Backend", options(BACKEND_SETTING_CHOICES), c.backend, (v) =>
          this.actions.update({ backend: v as MergeConfig["backend"] }),
        ),
      ];
    return [
      h(
        "div",
        { class: "field" },
        h("span", {}, "Backend"),
        h(
          "span",
          { id: "backend", class: stored.torch?.error !== undefined ? "notice error" : "path" },
          torchBackendText(stored.torch),
        ),
      ),
      select("device", "Device", options(offeredDevices(stored.torch?.devices)), c.device ?? "auto", (v) =>
        this.actions.update({ device: v as NonNullable<MergeConfig["device"]> }),
      ),
    ];
  }
}
