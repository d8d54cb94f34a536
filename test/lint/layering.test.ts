import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";

// The project's own eslint.config.js, run on code that exists only here, under paths of each layer.
const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const eslint = new ESLint({ cwd: root });

async function restrictedImports(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return result!.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

const cases: { file: string; wrong: string[]; right: string[] }[] = [
  {
    file: "src/core/merge/layering-probe.ts",
    wrong: [
      'import { x } from "../../worker/backend.js";',
      'import type { X } from "../../host/settings.js";',
      'import { x } from "../../cli/args.js";',
      'import * as vscode from "vscode";',
    ],
    right: ['import { x } from "../tensor.js";', 'import type { X } from "../../protocol/worker.js";'],
  },
  {
    file: "src/protocol/layering-probe.ts",
    wrong: [
      'import { x } from "../core/tensor.js";',
      'import { readFile } from "node:fs";',
      'import { x } from "./nested/thing.js";',
      'import * as vscode from "vscode";',
    ],
    right: ['import * as v from "valibot";', 'import type { Choice } from "./choices.js";'],
  },
  {
    file: "src/worker/learn/layering-probe.ts",
    wrong: [
      'import { x } from "../../host/merge-panel.js";',
      'import { x } from "../../cli/run.js";',
      'import * as vscode from "vscode";',
    ],
    right: ['import { x } from "../../core/tensor.js";', 'import * as tf from "@tensorflow/tfjs";'],
  },
  {
    // The one learner: engine-agnostic, so no TensorFlow.js (and still no host/, cli/ or vscode).
    file: "src/worker/learn/learn.ts",
    wrong: [
      'import * as tf from "@tensorflow/tfjs";',
      'import type { Tensor } from "@tensorflow/tfjs-core";',
      'import { x } from "../../host/merge-panel.js";',
      'import * as vscode from "vscode";',
    ],
    right: ['import type { SoupEngine } from "../engine/soup-engine.js";', 'import { Adam } from "./adam.js";'],
  },
  {
    file: "webview/layering-probe.ts",
    wrong: [
      'import { x } from "../src/core/tensor.js";',
      'import { x } from "../src/host/panel-request.js";',
      'import { readFile } from "node:fs";',
      'import * as vscode from "vscode";',
    ],
    right: [
      'import { h } from "./dom.js";',
      'import type { MergeConfig } from "../src/protocol/panel.js";',
      'import "@vscode-elements/elements/dist/vscode-button/index.js";',
      'import uPlot from "uplot";',
    ],
  },
];

describe("eslint.config.js: the layering rules", function () {
  this.timeout(60_000);
  for (const { file, wrong, right } of cases) {
    for (const code of wrong) {
      it(`${file}: refuses ${code}`, async () => {
        const messages = await restrictedImports(file, code);
        assert.ok(messages.length > 0, `expected a layering error for ${code}`);
      });
    }
    for (const code of right) {
      it(`${file}: accepts ${code}`, async () => {
        assert.deepEqual(await restrictedImports(file, code), []);
      });
    }
  }
});
