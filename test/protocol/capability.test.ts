import assert from "node:assert/strict";
import { getMergeMethod } from "../../src/core/merge/registry.js";
import { architectureAdvice } from "../../src/core/formats/architecture-file.js";
import {
  featureMismatch,
  isFixedMethod,
  methodCapabilities,
  methodCapability,
  type CapabilityFacts,
} from "../../src/protocol/capability.js";
import { choiceValues, FIXED_METHOD_CHOICES, PANEL_METHOD_CHOICES } from "../../src/protocol/choices.js";
import { FIXED_METHODS, sweepParam, sweptWeights } from "../../src/protocol/fixed-methods.js";

const models = ["/c/epoch_1.hdf5", "/c/epoch_2.hdf5", "/c/epoch_3.hdf5"];
const RUNNING = ["learned", "greedy", "regmean", "fisher", "regmean_plusplus"];
// SLERP takes the base and one model: with three ingredients it waits (tested on its own below).
const FIXED = choiceValues(FIXED_METHOD_CHOICES).filter((m) => m !== "slerp");
const ALL = choiceValues(PANEL_METHOD_CHOICES).filter((m) => m !== "slerp");
const full: CapabilityFacts = { ingredients: models, withoutArchitecture: [], modelFeatures: 43 };
const weightsOnly: CapabilityFacts = { ...full, withoutArchitecture: models, suggestedArchitecture: "/c/model.h5" };
const data = { path: "/d/table.csv", features: 43 };

const available = (facts: CapabilityFacts) =>
  methodCapabilities(choiceValues(PANEL_METHOD_CHOICES), facts)
    .filter((c) => c.available)
    .map((c) => c.method);

describe("protocol/capability (which merges can run, told before Start)", () => {
  it("fixed merges run without data, on full models and on weights-only checkpoints alike", () => {
    assert.deepEqual(available(full), FIXED);
    assert.deepEqual(available(weightsOnly), FIXED);
    for (const m of choiceValues(FIXED_METHOD_CHOICES)) assert.ok(isFixedMethod(m), m);
    for (const m of RUNNING) assert.equal(isFixedMethod(m), false, m);
  });

  it("learned, greedy and data-aware merges need data: disabled with the way out Choose Data", () => {
    for (const m of RUNNING) {
      const c = methodCapability(m, full);
      assert.equal(c.available, false, m);
      assert.equal(c.wayOut, "chooseData", m);
      assert.match(c.reason!, /Needs data .*fixed merges run without/);
    }
    assert.deepEqual(available({ ...full, data }), ALL);
  });

  it("weights-only checkpoints: every merge that runs the models waits for Architecture from…, naming the file beside them", () => {
    for (const m of RUNNING) {
      const c = methodCapability(m, { ...weightsOnly, data });
      assert.equal(c.available, false, m);
      assert.equal(c.wayOut, "architecture", m);
      assert.match(c.reason!, /weights only.*Architecture from….*\/c\/model\.h5 fits/);
    }
    // With data, the fixed merges' comparison runs the models too: the same way out, or Clear data.
    const uniform = methodCapability("uniform", { ...weightsOnly, data });
    assert.equal(uniform.wayOut, "architecture");
    assert.match(uniform.reason!, /Or Clear data to merge without comparing/);
    // Once chosen, everything runs; a chosen file that does not fit keeps them waiting with its error.
    assert.deepEqual(available({ ...weightsOnly, data, architecture: { path: "/c/model.h5" } }), ALL);
    const wrong = methodCapability("learned", {
      ...weightsOnly,
      data,
      architecture: { path: "/x/other.keras", error: "/x/other.keras does not hold the ingredients' weights layout" },
    });
    assert.equal(wrong.wayOut, "architecture");
    assert.match(wrong.reason!, /does not fit the ingredients: \/x\/other\.keras does not hold/);
  });

  it("PyTorch models: TorchScript files run as they are; state dicts without an architecture ask for a PyTorch one", () => {
    const pt = ["/t/ft0.ts.pt", "/t/ft1.ts.pt", "/t/ft2.ts.pt"];
    const torchScript: CapabilityFacts = { ingredients: pt, withoutArchitecture: [], pytorch: true };
    assert.deepEqual(available({ ...torchScript, data }), ALL);
    const stateDicts: CapabilityFacts = { ...torchScript, withoutArchitecture: pt };
    for (const m of RUNNING) {
      const c = methodCapability(m, { ...stateDicts, data });
      assert.equal(c.wayOut, "architecture", m);
      assert.match(c.reason!, /PyTorch state dicts hold weights only: .*PyTorch Architecture….*torchvision:<name>/);
      assert.doesNotMatch(c.reason!, /\.keras|\.h5/);
    }
    assert.match(
      methodCapability("learned", { ...stateDicts, data }, "cli").reason!,
      /--architecture torchvision:<name>/,
    );
    assert.deepEqual(available({ ...stateDicts, data, architecture: { path: "torchvision:resnet18" } }), ALL);
    const untrusted = methodCapability("greedy", {
      ...stateDicts,
      data,
      architecture: {
        path: "build.py:build",
        error: "build.py:build runs your Python code: trust this workspace first",
      },
    });
    assert.match(untrusted.reason!, /trust this workspace/);
  });

  it("data whose feature count does not fit the models' input: disabled with Clear data; fixed merges say they run without", () => {
    const wrong = { ...full, data: { path: "/d/wide.csv", features: 64 } };
    const learned = methodCapability("learned", wrong);
    assert.equal(learned.available, false);
    assert.equal(learned.wayOut, "clearData");
    assert.match(learned.reason!, /\/d\/wide\.csv: rows have 64 features; the models take 43 inputs/);
    const ties = methodCapability("ties", wrong);
    assert.equal(ties.wayOut, "clearData");
    assert.match(ties.reason!, /Clear data to merge without comparing/);
    // The host's own check of the data (it could not be read, its labels do not fit) blocks the same way.
    const unreadable = methodCapability("greedy", { ...full, data: { path: "/d/x.csv", error: "/d/x.csv: no rows" } });
    assert.deepEqual([unreadable.wayOut, unreadable.reason], ["clearData", "/d/x.csv: no rows"]);
    // Clear data: back to the state without data.
    assert.deepEqual(available(full), FIXED);
  });

  it("a custom training loss never blocks: it falls back to the loss the output fits (no loss fact to fail)", () => {
    // The facts hold nothing about the training loss: learning and scoring need only the labels and the output.
    assert.deepEqual(available({ ...full, data }), ALL);
  });

  it("the number of ingredients each method takes: SLERP the base and one, Model Stock the base and two", () => {
    const two = { ...full, ingredients: models.slice(0, 2) };
    const one = { ...full, ingredients: models.slice(0, 1) };
    assert.equal(methodCapability("slerp", two).available, true);
    assert.match(methodCapability("slerp", full).reason!, /exactly one model: include 2/);
    assert.match(methodCapability("model_stock", two).reason!, /base model and at least 2 others: include 3/);
    assert.equal(methodCapability("manual", one).available, true);
    assert.match(methodCapability("uniform", one).reason!, /at least 2 ingredients/);
    assert.equal(methodCapability("ties", one).wayOut, "ingredients");
  });

  it("the command line's refusals are the same sentences, worded with their flags", () => {
    assert.equal(
      architectureAdvice("/c/model.h5"),
      "records no architecture; pass --architecture /c/model.h5 (a full model with the same weights)",
    );
    assert.match(methodCapability("learned", weightsOnly, "cli").reason!, /pass --architecture \/c\/model\.h5/);
    assert.match(methodCapability("learned", full, "cli").reason!, /--data <file>/);
    assert.match(
      featureMismatch("/d/w.csv", 64, 43, "cli")!,
      /rows have 64 features; the models take 43 inputs \(give data/,
    );
    assert.equal(featureMismatch("/d/w.csv", 43, 43, "cli"), undefined);
    assert.equal(featureMismatch("/d/w.csv", 64, undefined, "panel"), undefined);
  });
});

describe("protocol/fixed-methods (the panel's fixed merges and their parameters)", () => {
  it("every fixed method of the CLI is offered, each parameter with the default of the method's own definition", () => {
    for (const id of FIXED) {
      const info = FIXED_METHODS[id];
      assert.ok(info.meaning.length > 10, id);
      if (id === "manual") continue;
      const method = getMergeMethod(id);
      for (const p of info.params) {
        const def = [...method.globalParams, ...method.modelParams].find((d) => d.name === p.name);
        assert.ok(def, `${id} has a parameter ${p.name}`);
        // SLERP's t has no default in the CLI (it must be given): the panel starts at the midpoint.
        if (def.default !== undefined) assert.equal(p.default, def.default, `${id}.${p.name}`);
      }
    }
  });

  it("sweeps λ for the task-vector methods, t for SLERP and a model's weight for the weighted average", () => {
    assert.equal(sweepParam("task_arithmetic")?.name, "lambda");
    assert.equal(sweepParam("ties")?.name, "lambda");
    assert.equal(sweepParam("slerp")?.name, "t");
    assert.equal(sweepParam("manual")?.name, "weight");
    assert.equal(sweepParam("model_stock"), undefined);
    assert.equal(sweepParam("uniform"), undefined);
    const close = (a: number[], b: number[]) =>
      a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) < 1e-12, `${a} ≈ ${b}`));
    close(sweptWeights([1, 1, 2], 0, 0.4), [0.4, 0.2, 0.4]);
    close(sweptWeights([1, 0, 0], 0, 0.5), [0.5, 0.25, 0.25]);
    assert.deepEqual(sweptWeights([3], 0, 1), [1]);
  });
});
