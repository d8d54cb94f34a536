/** The Run section: Start (with why it cannot start yet), Cancel, and the job's status line. */
import "@vscode-elements/elements/dist/vscode-button/index.js";
import "@vscode-elements/elements/dist/vscode-progress-ring/index.js";
import type { JobState } from "../src/protocol/panel.js";
import { h, present } from "./dom.js";
import { startBlocker } from "./start-blocker.js";
import type { PanelActions, PanelState } from "./state.js";

export class RunSection {
  readonly element = h("section", { class: "run" });
  private readonly statusLine = h("p", { class: "status", id: "job-status", role: "status" });

  constructor(
    private readonly page: PanelState,
    private readonly actions: PanelActions,
    private readonly start: () => void,
  ) {}

  render(): void {
    const running = this.page.job === "running";
    const blocker = startBlocker(this.page);
    this.element.replaceChildren(
      ...present(
        h(
          "vscode-button",
          {
            id: "start",
            disabled: running || blocker !== undefined,
            title: blocker ?? "Run the merge and compare it on held-out data",
            onclick: this.start,
          },
          "Start",
        ),
        h(
          "vscode-button",
          { id: "cancel", secondary: true, disabled: !running, onclick: () => this.actions.send({ type: "cancel" }) },
          "Cancel",
        ),
        running ? h("vscode-progress-ring", { "aria-label": "Running" }) : undefined,
        !running && blocker ? h("span", { class: "note", id: "start-blocker" }, blocker) : undefined,
        this.statusLine,
      ),
    );
  }

  setJob(next: JobState, message?: string): void {
    this.page.job = next;
    this.statusLine.textContent = message ?? (next === "running" ? "Running…" : next === "done" ? "Done." : "");
    this.statusLine.className = next === "failed" ? "status error" : "status";
    this.render();
  }

  /** What runs now, in words (from the progress messages). */
  say(text: string): void {
    this.statusLine.textContent = text;
  }
}
