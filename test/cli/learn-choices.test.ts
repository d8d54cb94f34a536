// One source for the choice lists and the learn defaults (src/protocol/choices.ts, src/protocol/learn-defaults.ts):
// the CLI's usage lines, option help and checks, and the Merge panel's settings and validator, all follow them.
import assert from "node:assert/strict";
import { COMMANDS } from "../../src/cli/commands/index.js";
import { choiceOption } from "../../src/cli/commands/options.js";
import {
  ALIGN_METHOD_CHOICES,
  BACKEND_CHOICES,
  BACKEND_SETTING_CHOICES,
  choiceValues,
  FISHER_TARGET_CHOICES,
  GRANULARITY_CHOICES,
  LOSS_CHOICES,
  OBJECTIVE_CHOICES,
  OPTIMIZER_CHOICES,
  PANEL_METHOD_CHOICES,
  PARAMETERISATION_CHOICES,
  type Choice,
} from "../../src/protocol/choices.js";
import { LEARN_DEFAULTS } from "../../src/protocol/learn-defaults.js";
import { DEFAULT_CONFIG, validateFromWebview } from "../../src/protocol/panel.js";

/** Which list each choice option of the CLI draws from, by option name. */
const CHOICE_OPTIONS: Record<string, readonly Choice[]> = {
  granularity: GRANULARITY_CHOICES,
  param: PARAMETERISATION_CHOICES,
  objective: OBJECTIVE_CHOICES,
  optimizer: OPTIMIZER_CHOICES,
  backend: BACKEND_CHOICES,
  align: ALIGN_METHOD_CHOICES,
  "fisher-target": FISHER_TARGET_CHOICES,
  loss: LOSS_CHOICES,
};

describe("choice lists and learn defaults, declared once", () => {
  it("every command's usage line names every option it accepts", () => {
    for (const command of COMMANDS) {
      for (const name of Object.keys(command.options)) {
        assert.ok(
          new RegExp(`--${name}(\\s|\\]|$)`).test(command.usage),
          `${command.name}: usage line names --${name}: ${command.usage}`,
        );
      }
    }
  });

  it("each choice option shows its list's values and explains each value in its help", () => {
    let seen = 0;
    for (const command of COMMANDS) {
      for (const [name, spec] of Object.entries(command.options)) {
        const list = CHOICE_OPTIONS[name];
        if (list === undefined) continue;
        seen++;
        assert.equal(spec.valueName, choiceValues(list).join("|"), `${command.name} --${name}`);
        for (const c of list)
          assert.ok(spec.description.includes(c.value), `${command.name} --${name} help explains ${c.value}`);
        assert.ok(
          command.usage.includes(`--${name} ${spec.valueName}`),
          `${command.name} usage shows --${name} ${spec.valueName}`,
        );
      }
    }
    assert.ok(seen >= 12, `choice options found: ${seen}`);
    const learn = COMMANDS.find((c) => c.name === "learn")!;
    assert.match(
      learn.options.granularity!.description,
      new RegExp(`${LEARN_DEFAULTS.granularity}: [^;]*\\[default\\]`),
    );
    assert.match(learn.options.optimizer!.description, new RegExp(`${LEARN_DEFAULTS.optimizer}: [^;]*\\[default\\]`));
    // Every command that learns or scores takes --loss.
    for (const name of ["learn", "greedy", "evaluate", "merge", "align"]) {
      const command = COMMANDS.find((c) => c.name === name)!;
      assert.equal(command.options.loss?.valueName, choiceValues(LOSS_CHOICES).join("|"), `${name} --loss`);
    }
    assert.match(learn.options.loss!.description, /auto: [^;]*\[default\]/);
  });

  it("a choice option takes the list's values and refuses any other in one line", () => {
    assert.equal(
      choiceOption({ values: { param: "nonneg" }, positionals: [] }, "param", PARAMETERISATION_CHOICES),
      "nonneg",
    );
    assert.throws(
      () => choiceOption({ values: { param: "softmax" }, positionals: [] }, "param", PARAMETERISATION_CHOICES),
      /--param must be one of simplex, nonneg, free; got "softmax"/,
    );
  });

  it("the Merge panel starts from the learn defaults and accepts exactly the listed choices", () => {
    assert.equal(DEFAULT_CONFIG.learningRate, LEARN_DEFAULTS.learningRate);
    assert.equal(DEFAULT_CONFIG.steps, LEARN_DEFAULTS.maxSteps);
    assert.equal(DEFAULT_CONFIG.batchSize, LEARN_DEFAULTS.batchSize);
    assert.equal(DEFAULT_CONFIG.granularity, LEARN_DEFAULTS.granularity);
    const start = (change: object) =>
      validateFromWebview({ type: "start", config: { ...DEFAULT_CONFIG, ingredients: [], ...change } });
    const lists = {
      method: PANEL_METHOD_CHOICES,
      granularity: GRANULARITY_CHOICES,
      parameterisation: PARAMETERISATION_CHOICES,
      objective: OBJECTIVE_CHOICES,
      backend: BACKEND_SETTING_CHOICES,
    };
    for (const [field, list] of Object.entries(lists)) {
      for (const c of list) assert.ok(!(start({ [field]: c.value }) instanceof Error), `${field} ${c.value} accepted`);
      assert.ok(start({ [field]: "other" }) instanceof Error, `${field} "other" refused`);
    }
  });
});
