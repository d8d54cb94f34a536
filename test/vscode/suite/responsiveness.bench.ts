/**
 * Responsiveness of the extension host (run by bench/editor-responsiveness.ts, not by the test suite):
 * activation time, event-loop delay while a learned merge of the digits sample runs in the worker, and the
 * time to list a workspace with 500 more model files. Writes its figures to MODEL_SOUP_BENCH_OUT.
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import * as vscode from "vscode";
import { DEFAULT_CONFIG } from "../../../src/protocol/panel.js";
import { api, digitsData, digitsModels, inWorkspace } from "./helpers.js";

describe("responsiveness benchmark", () => {
  it("measures activation, event-loop delay during a learned merge, and listing 500 model files", async () => {
    const soup = await api();
    await vscode.commands.executeCommand("modelSoup.mergeModels", digitsModels());
    const open = soup.panels().at(-1)!;
    await open.whenReady;

    // Three learned merges, one after the other: the first also starts the worker.
    const merges: Array<{ seconds: number; p50: number; p99: number; max: number }> = [];
    for (let run = 0; run < 3; run++) {
      const histogram = monitorEventLoopDelay({ resolution: 5 });
      histogram.enable();
      const learnStart = performance.now();
      await open.start({
        ...DEFAULT_CONFIG,
        method: "learned",
        steps: 100,
        ingredients: digitsModels().map((path) => ({ path, include: true, coefficient: 1 })),
        data: { path: digitsData() },
      });
      histogram.disable();
      merges.push({
        seconds: (performance.now() - learnStart) / 1000,
        p50: histogram.percentile(50) / 1e6,
        p99: histogram.percentile(99) / 1e6,
        max: histogram.max / 1e6,
      });
    }

    const many = inWorkspace("many");
    const source = inWorkspace("samples", "digits", "models", "ingredient-1");
    for (let i = 0; i < 500; i++) {
      mkdirSync(`${many}/m${i}`, { recursive: true });
      cpSync(source, `${many}/m${i}`, { recursive: true });
    }
    const runs: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      const analysis = await soup.catalog.refresh();
      runs.push(performance.now() - t);
      if (analysis.models.length < 500) throw new Error(`listed only ${analysis.models.length} models`);
    }
    const listed = soup.catalog.analysis.models.length;
    rmSync(many, { recursive: true, force: true });
    runs.sort((a, b) => a - b);

    const figures = {
      activationMs: soup.activationMs,
      learnedMerge: { steps: 100, backend: open.lastReport?.backend },
      merges,
      listModels: { files: listed, medianMs: runs[1]!, runsMs: runs },
    };
    console.log(JSON.stringify(figures));
    if (process.env.MODEL_SOUP_BENCH_OUT)
      writeFileSync(process.env.MODEL_SOUP_BENCH_OUT, JSON.stringify(figures, null, 2));
  });
});
