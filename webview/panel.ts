/**
 * The Merge panel page once the host's init arrived: its state, its sections, and what a change redraws. The
 * host's messages reach it through main.ts's dispatch.
 */
import type { FromWebview, MergeConfig, PanelInit } from "../src/protocol/panel.js";
import { LearningCharts } from "./charts.js";
import { DataSection } from "./data.js";
import { h, present } from "./dom.js";
import { IngredientsSection } from "./ingredients.js";
import { MethodSection } from "./method.js";
import { restoredConfig } from "./restore.js";
import { ResultsSection } from "./results.js";
import { RunSection } from "./run.js";
import { forgetOutcome, ingredientLabel, type PanelActions, type PanelState, type StoredState } from "./state.js";

/** The webview's side of the host connection. */
export interface HostLink {
  send(message: FromWebview): void;
  store(state: StoredState): void;
}

export class MergePanelPage implements PanelActions {
  readonly state: PanelState;
  readonly charts: LearningCharts;
  readonly ingredients: IngredientsSection;
  readonly method: MethodSection;
  readonly data: DataSection;
  readonly run: RunSection;
  readonly results: ResultsSection;

  constructor(
    init: PanelInit,
    stored: StoredState,
    private readonly host: HostLink,
  ) {
    const config = restoredConfig(stored.config, init.defaults, stored.settingBackend);
    this.state = {
      init,
      config,
      stored: { ...stored, models: init.ingredients.map((i) => i.path), config, settingBackend: init.defaults.backend },
      job: "idle",
      advancedOpen: false,
      invalidFields: new Set(),
    };
    this.persist();
    this.charts = new LearningCharts(init.ingredients.map((i) => ingredientLabel(init, i.path)));
    this.ingredients = new IngredientsSection(this.state, this);
    this.method = new MethodSection(this.state, this);
    this.data = new DataSection(this.state, this);
    this.run = new RunSection(this.state, this, () => this.start());
    this.results = new ResultsSection(this.state, this, () => this.start());
  }

  /** Draws the whole page into `root`. */
  mount(root: HTMLElement): void {
    const { init } = this.state;
    root.replaceChildren(
      ...present(
        h("h1", {}, init.title),
        h(
          "p",
          { class: init.compatibility.mergeable ? "notice" : "notice error", id: "compatibility" },
          init.compatibility.message,
        ),
        init.trusted
          ? undefined
          : h(
              "p",
              { class: "notice error" },
              "This workspace is not trusted: models are listed and checked, but merging needs trust.",
            ),
        this.ingredients.element,
        this.method.element,
        this.data.element,
        this.run.element,
        this.charts.element,
        this.results.element,
      ),
    );
    this.ingredients.render();
    this.method.render();
    this.data.render();
    this.run.render();
    this.results.render();
    this.charts.add(this.state.stored.history ?? []);
    if (this.state.stored.report) this.charts.finish(this.state.stored.report);
  }

  send(message: FromWebview): void {
    this.host.send(message);
  }

  persist(): void {
    this.state.stored.config = this.state.config;
    this.host.store(this.state.stored);
  }

  fieldsChanged(): void {
    this.run.render();
  }

  clearData(): void {
    this.data.clearData();
  }

  update(change: Partial<MergeConfig>): void {
    const { state } = this;
    const methodChanged = change.method !== undefined && change.method !== state.config.method;
    const testChanged = "data" in change && change.data?.test !== state.config.data?.test;
    state.config = { ...state.config, ...change };
    this.clearOutcome();
    this.persist();
    this.method.renderOptions();
    if (methodChanged || testChanged) this.method.advanced.render();
    this.ingredients.render();
    this.run.render();
  }

  /** The last result no longer describes what the panel would run (nothing changes while a job runs). */
  clearOutcome(): void {
    if (this.state.job === "running") return;
    if (forgetOutcome(this.state.stored)) this.results.render();
    if (this.state.job !== "idle") this.run.setJob("idle");
  }

  private start(): void {
    this.charts.reset();
    this.state.stored.history = [];
    forgetOutcome(this.state.stored);
    this.persist();
    this.results.render();
    this.send({ type: "start", config: this.state.config });
  }
}
