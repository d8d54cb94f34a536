/**
 * The Merge panel (runs in the webview): the host's messages, dispatched in one place to the page built from its
 * init (panel.ts, one module per section). Talks to the host only through the messages of src/protocol/panel.ts,
 * and keeps what it shows in getState/setState so it comes back after a reload.
 */
import type { FromWebview, ToWebview } from "../src/protocol/panel.js";
import { MergePanelPage } from "./panel.js";
import type { StoredState } from "./state.js";

interface VsCodeApi {
  postMessage(message: FromWebview): void;
  getState(): StoredState | undefined;
  setState(state: StoredState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById("model-soup-panel") ?? document.body;
let page: MergePanelPage | undefined;

/** The id of the control whose action opened an editor dialog; it gets the focus back afterwards. */
let returnFocusTo: string | undefined;
const OPENS_DIALOG: readonly FromWebview["type"][] = [
  "pickData",
  "pickTestData",
  "pickArchitecture",
  "save",
  "showDiff",
  "showUnitMoves",
];

const host = {
  send(message: FromWebview): void {
    if (OPENS_DIALOG.includes(message.type))
      returnFocusTo = (document.activeElement as HTMLElement | null)?.id || undefined;
    vscode.postMessage(message);
  },
  store(state: StoredState): void {
    vscode.setState(state);
  },
};

/**
 * Focuses the control that opened the dialog. The window's focus comes back before the host's answer, which may
 * redraw that control: the answer (`answered`) focuses it again and ends the wait.
 */
function restoreFocus(answered = true): void {
  if (!returnFocusTo) return;
  const target = document.getElementById(returnFocusTo);
  if (target) {
    if (answered) returnFocusTo = undefined;
    target.focus();
  }
}

function dispatch(p: MergePanelPage, message: Exclude<ToWebview, { type: "init" }>): void {
  const { state } = p;
  const { stored } = state;
  switch (message.type) {
    case "dataPreview": {
      const { path } = message;
      stored.preview = message.preview;
      stored.dataError = message.error;
      if (path !== state.config.data?.path) {
        // Other data: its test rows were for the data before.
        stored.testRows = undefined;
        const label = state.config.data?.label;
        p.update({ data: { path, ...(label ? { label } : {}) } });
        p.data.renderChoice();
      } else {
        p.clearOutcome();
        p.data.renderPreview();
      }
      // What can run depends on the data (its feature count, whether it could be read).
      p.method.renderOptions();
      p.run.render();
      p.persist();
      restoreFocus();
      return;
    }
    case "testData": {
      const data = state.config.data;
      if (!data) return;
      const { test: _, ...rest } = data;
      stored.testRows =
        message.path === undefined
          ? undefined
          : {
              ...(message.samples !== undefined ? { samples: message.samples } : {}),
              ...(message.error !== undefined ? { error: message.error } : {}),
            };
      p.update({ data: message.path === undefined ? rest : { ...rest, test: message.path } });
      p.data.renderTestRows();
      restoreFocus();
      return;
    }
    case "architecture": {
      stored.architectureError = message.error;
      const { architecture: _, ...rest } = state.config;
      state.config = message.path === undefined ? rest : { ...rest, architecture: message.path };
      p.update({});
      restoreFocus();
      return;
    }
    case "settings":
      // The modelSoup.backend setting changed: the panel follows it.
      stored.settingBackend = message.backend;
      p.update({ backend: message.backend });
      p.method.advanced.render();
      return;
    case "torch":
      // PyTorch models: the Python found to run them is their backend (Advanced shows it, with its devices).
      stored.torch = {
        ...(message.label !== undefined ? { label: message.label } : {}),
        ...(message.devices !== undefined ? { devices: message.devices } : {}),
        ...(message.error !== undefined ? { error: message.error } : {}),
      };
      p.method.advanced.render();
      return;
    case "job":
      p.run.setJob(message.state, message.message);
      return;
    case "progress":
      (stored.history ??= []).push(...message.items);
      p.persist();
      p.charts.add(message.items);
      p.run.say(message.text);
      return;
    case "result":
      stored.report = message.report;
      stored.verdict = message.verdict;
      stored.stopReason = message.stopReason;
      stored.next = message.next;
      if (message.basin !== undefined || !message.report.alignment) stored.basin = message.basin;
      p.persist();
      p.method.renderAlign();
      p.charts.finish(message.report);
      p.method.renderSweep();
      p.results.render();
      p.results.element.scrollIntoView({ behavior: "smooth", block: "start" });
      return;
    case "layerChanges":
      stored.layerChanges = { model: message.model, reference: message.reference, rows: message.rows };
      stored.diffReference = message.referencePath;
      p.persist();
      p.results.render();
      document.getElementById("layer-chart")?.scrollIntoView({ behavior: "smooth", block: "nearest" });
      return;
    case "saved":
      stored.saved = { model: message.model, recipe: message.recipe };
      p.persist();
      p.results.render();
      restoreFocus();
      // The whole line with Reveal / Open Recipe in view, where the user looks (the host shows a notification only
      // when the panel is out of view). Once laid out, and not smooth: a smooth scroll that a later layout or focus
      // change interrupts stopped short and left the buttons below the fold.
      requestAnimationFrame(() => document.getElementById("saved")?.scrollIntoView({ block: "nearest" }));
      return;
  }
}

window.addEventListener("message", (event: MessageEvent<ToWebview>) => {
  const message = event.data;
  if (message.type === "init") {
    page = new MergePanelPage(message.init, page?.state.stored ?? vscode.getState() ?? { models: [] }, host);
    page.mount(root);
    return;
  }
  // Anything else describes a panel this page has not built yet; the host's init that follows carries it.
  if (page) dispatch(page, message);
});

// Charts follow theme changes: VS Code swaps the body's vscode-light / vscode-dark / vscode-high-contrast class.
new MutationObserver(() => page?.charts.retheme()).observe(document.body, {
  attributes: true,
  attributeFilter: ["class"],
});

// Focus returns to the control that opened a dialog of the editor (file pickers, the save dialog).
window.addEventListener("focus", () => restoreFocus(false));

host.send({ type: "ready" });
