/**
 * The Method section: the merge method (each one that cannot run on these ingredients and this data disabled, with
 * its reason and the way out beside it), what the method does in one line, its parameters (the base model, λ,
 * density, t, ...), the loss it learns and scores with, the learned soup's options, a fixed merge's coefficient
 * sweep, "Align first" (offered once a run found ingredients that share no basin), and the Advanced settings.
 */
import "@vscode-elements/elements/dist/vscode-button/index.js";
import { methodCapabilities, needsBase, type MethodCapability, type WayOut } from "../src/protocol/capability.js";
import {
  ALIGN_METHOD_CHOICES,
  GRANULARITY_CHOICES,
  LOSS_CHOICES,
  OBJECTIVE_CHOICES,
  PANEL_METHOD_CHOICES,
  PARAMETERISATION_CHOICES,
  canAlign,
  type FixedMethod,
} from "../src/protocol/choices.js";
import { FIXED_METHODS, paramValue, sweepParam, sweptWeights } from "../src/protocol/fixed-methods.js";
import { isFixedMethod } from "../src/protocol/capability.js";
import type { MergeConfig } from "../src/protocol/panel.js";
import { AdvancedSettings } from "./advanced.js";
import { h, present } from "./dom.js";
import { chosenBase } from "./merge-settings.js";
import { numberField, options, select, type Field } from "./fields.js";
import {
  architectureButtonText,
  capabilityFacts,
  ingredientLabel,
  type PanelActions,
  type PanelState,
} from "./state.js";
import { sweepChart } from "./sweep-chart.js";
import { unavailableLines } from "./unavailable.js";

const ALIGN_CHOICES: [string, string][] = [
  ["none", "No: average the models as given"],
  ...options(ALIGN_METHOD_CHOICES),
];

/** What the methods that run the models do, in one line (the fixed ones say it in src/protocol/fixed-methods.ts). */
const RUN_MEANINGS: Record<string, string> = {
  learned: "Learns one coefficient per model (or per layer) on the learn split, keeps what scores best on validation.",
  greedy: "Adds models best first, keeping each only when the validation score does not drop.",
  regmean: "Solves each layer's least squares on the inputs it sees in the data.",
  fisher: "Weights each value by how much the model's predictions depend on it (its Fisher information).",
  regmean_plusplus: "RegMean on the inputs the already merged layers produce.",
};

const WAY_OUT_TEXT: Record<WayOut, string> = {
  architecture: "Architecture from…", // PyTorch models: architectureButtonText
  chooseData: "Choose Data…",
  clearData: "Clear Data",
  ingredients: "",
};

export class MethodSection {
  readonly element = h("section", { "aria-labelledby": "method-title" });
  private readonly selectBox = h("div", { class: "row", id: "method-row" });
  private readonly capabilityBox = h("div", { class: "capability", id: "capability" });
  private readonly paramsBox = h("div", { class: "fixed-options", id: "fixed-options" });
  private readonly learnedBox = h("div", { class: "learned-options" });
  private readonly sweepBox = h("div", { class: "sweep-box", id: "sweep-box" });
  private readonly alignBox = h("div", { class: "align-options", id: "align-options" });
  readonly advanced: AdvancedSettings;
  /** The method and capabilities the drop-down was drawn for: redrawn only when they change (keeps its focus). */
  private drawn = "";

  constructor(
    private readonly page: PanelState,
    private readonly actions: PanelActions,
  ) {
    this.advanced = new AdvancedSettings(page, actions);
  }

  render(): void {
    this.drawn = "";
    this.element.replaceChildren(
      h("h2", { id: "method-title" }, "Method"),
      this.selectBox,
      this.capabilityBox,
      this.paramsBox,
      this.learnedBox,
      this.sweepBox,
      this.alignBox,
      this.advanced.element,
    );
    this.renderOptions();
    this.advanced.render();
  }

  private capabilities(): MethodCapability[] {
    return methodCapabilities(
      PANEL_METHOD_CHOICES.map((c) => c.value),
      capabilityFacts(this.page),
    );
  }

  /** The parts that depend on the method, the ingredients and the data. */
  renderOptions(): void {
    const caps = this.capabilities();
    const c = this.page.config;
    const key = JSON.stringify([c.method, c.loss, caps.map((x) => x.available)]);
    if (key !== this.drawn) {
      this.drawn = key;
      this.renderSelect(caps);
    }
    this.renderCapability(caps);
    this.renderParams();
    this.renderLearned();
    this.renderSweep();
    this.renderAlign();
  }

  private renderSelect(caps: MethodCapability[]): void {
    const { config } = this.page;
    const method = select("method", "Method", options(PANEL_METHOD_CHOICES), config.method, (v) =>
      this.actions.update({ method: v as MergeConfig["method"] }),
    );
    // Methods that cannot run now are disabled in the list (the chosen one stays selectable to show why).
    for (const option of method.querySelectorAll("vscode-option")) {
      const value = option.getAttribute("value");
      const cap = caps.find((x) => x.method === value);
      if (cap && !cap.available && value !== config.method) {
        option.setAttribute("disabled", "");
        option.setAttribute("title", cap.reason ?? "");
      }
    }
    this.selectBox.replaceChildren(
      method,
      select("loss", "Loss", options(LOSS_CHOICES), config.loss, (v) =>
        this.actions.update({ loss: v as MergeConfig["loss"] }),
      ),
    );
  }

  private wayOutButton(cap: MethodCapability, id: string): HTMLElement | undefined {
    if (!cap.wayOut || cap.wayOut === "ingredients") return undefined;
    const act: Record<Exclude<WayOut, "ingredients">, () => void> = {
      architecture: () => this.actions.send({ type: "pickArchitecture" }),
      chooseData: () => this.actions.send({ type: "pickData" }),
      clearData: () => this.actions.clearData(),
    };
    return h(
      "vscode-button",
      { id, secondary: true, class: `way-out ${cap.wayOut}`, onclick: act[cap.wayOut] },
      cap.wayOut === "architecture" ? architectureButtonText(this.page.init) : WAY_OUT_TEXT[cap.wayOut],
    );
  }

  /** The chosen method's meaning, why it cannot run (with the way out), and which others cannot, and why. */
  private renderCapability(caps: MethodCapability[]): void {
    const { config } = this.page;
    const current = caps.find((x) => x.method === config.method);
    const meaning = isFixedMethod(config.method)
      ? FIXED_METHODS[config.method].meaning
      : (RUN_MEANINGS[config.method] ?? "");
    const unavailable = caps.filter((x) => !x.available && x.method !== config.method);
    const label = (m: string) => PANEL_METHOD_CHOICES.find((c) => c.value === m)?.label ?? m;
    const needsNoData = isFixedMethod(config.method) && !config.data && current?.available;
    this.capabilityBox.replaceChildren(
      ...present(
        h("p", { class: "note", id: "method-meaning" }, meaning),
        needsNoData
          ? h(
              "p",
              { class: "note", id: "no-data-note" },
              "Runs without data: Start writes the merge. Choose data to compare it with the ingredients first.",
            )
          : undefined,
        current && !current.available
          ? h(
              "div",
              { class: "notice error row", id: "method-unavailable", role: "alert" },
              ...present(h("span", {}, current.reason ?? ""), this.wayOutButton(current, "way-out")),
            )
          : undefined,
        unavailable.length > 0
          ? h(
              "details",
              { id: "unavailable-methods", open: true },
              h("summary", {}, `Not available now (${unavailable.length})`),
              h(
                "ul",
                { class: "unavailable" },
                ...unavailableLines(unavailable, label).map((line) =>
                  h(
                    "li",
                    { "data-methods": line.methods.join(" ") },
                    ...present(
                      h("strong", {}, line.names),
                      ": ",
                      line.capability.reason ?? "",
                      " ",
                      this.wayOutButton(line.capability, `way-out-${line.methods[0]!}`),
                    ),
                  ),
                ),
              ),
            )
          : undefined,
      ),
    );
  }

  /** A fixed merge's base model and parameters, each with its meaning. */
  private renderParams(): void {
    const { config, init } = this.page;
    if (!isFixedMethod(config.method)) {
      this.paramsBox.replaceChildren();
      return;
    }
    const method: FixedMethod = config.method;
    const info = FIXED_METHODS[method];
    const included = config.ingredients.filter((i) => i.include).map((i) => i.path);
    const base = chosenBase(config);
    const fields = info.params.map((p) =>
      h(
        "div",
        { class: "param" },
        numberField(
          `param-${p.name}`,
          p.label,
          paramValue(method, config.params, p.name),
          p,
          this.page.invalidFields,
          () => this.actions.fieldsChanged(),
          (v) => this.actions.update({ params: { ...(this.page.config.params ?? {}), [p.name]: v } }),
        ),
        h("p", { class: "note" }, p.meaning),
      ),
    );
    this.paramsBox.replaceChildren(
      ...present(
        needsBase(method) && base !== undefined
          ? h(
              "div",
              { class: "param" },
              select(
                "base",
                "Base model",
                included.map((path) => [path, ingredientLabel(init, path)]),
                base,
                (v) => this.actions.update({ base: v }),
              ),
              h(
                "p",
                { class: "note" },
                "The model the others were fine-tuned from: the merge adds their differences from it (task vectors).",
              ),
            )
          : undefined,
        fields.length > 0 ? h("div", { class: "row" }, ...fields) : undefined,
      ),
    );
  }

  private renderLearned(): void {
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

  /** After a fixed merge ran with data: the metric at each value tried on validation, and "Use" for the best. */
  renderSweep(): void {
    const { config, stored, init } = this.page;
    const sweep = stored.report?.sweep;
    if (!sweep || !isFixedMethod(config.method)) {
      this.sweepBox.replaceChildren();
      return;
    }
    const info = sweepParam(config.method);
    const label =
      sweep.name === "weight" && sweep.ingredient !== undefined
        ? `weight of ${ingredientLabel(init, sweep.ingredient)}`
        : (info?.label ?? sweep.name);
    const use = h(
      "vscode-button",
      { id: "use-sweep-best", secondary: true, onclick: () => this.useBest(sweep.best, sweep.ingredient) },
      `Use ${sweep.name === "weight" ? "weight" : (info?.label ?? sweep.name)} = ${sweep.best}`,
    );
    this.sweepBox.replaceChildren(
      h("h3", {}, "Coefficient sweep"),
      sweepChart(sweep, label, stored.report?.metricName ?? "metric"),
      h(
        "div",
        { class: "row" },
        use,
        h("span", { class: "note" }, "Start again to compare the merge with that value."),
      ),
    );
  }

  private useBest(best: number, ingredient: string | undefined): void {
    const c = this.page.config;
    if (c.method !== "manual") {
      const name = sweepParam(c.method as FixedMethod)?.name ?? "lambda";
      this.actions.update({ params: { ...(c.params ?? {}), [name]: best } });
      this.renderParams();
      return;
    }
    const rows = c.ingredients.filter((i) => i.include);
    const index = rows.findIndex((r) => r.path === ingredient);
    if (index < 0) return;
    const total = rows.reduce((s, r) => s + r.coefficient, 0);
    const weights = sweptWeights(
      rows.map((r) => (total !== 0 ? r.coefficient / total : 1 / rows.length)),
      index,
      best,
    );
    const next = c.ingredients.map((i) => {
      const k = rows.indexOf(i);
      return k < 0 ? i : { ...i, coefficient: Number(weights[k]!.toFixed(6)) };
    });
    this.actions.update({ ingredients: next });
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

export type { Field };
