import assert from "node:assert/strict";
import { join } from "node:path";
import type { ModelComparison } from "../../src/protocol/worker.js";
import { runCli } from "./run-cli.js";

const fixtures = join(import.meta.dirname, "..", "fixtures");
const kfold = join(fixtures, "real-families", "softmax", "keras3");
const checkpoints = join(fixtures, "real-families", "checkpoints");
const keras3 = join(fixtures, "keras3");

describe("model-soup diff", function () {
  this.timeout(120_000);

  it("prints one line per tensor of two k-fold Keras 3 models, matched by name", async () => {
    const run = await runCli("diff", join(kfold, "model_fold_1.keras"), join(kfold, "model_fold_2.keras"));
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /^A: .*model_fold_1\.keras\nB: .*model_fold_2\.keras\n14 tensors matched by name, 0 identical\n/,
    );
    assert.match(run.stdout, /Overall .* relative difference ‖B − A‖ \/ ‖A‖ 0\.\d{4}, cosine 0\.\d{4}/);
    // Keras 3 variable paths (layers/dense/vars/0) are shown as the weights they are.
    assert.match(run.stdout, /\ndense\/kernel +\[12, 32\] +\d\.\d{4} +-?\d\.\d{4} +\d\.\d{4}\n/);
    assert.match(run.stdout, /\nbatch_normalization\/moving_mean +\[32\] /);
    assert.doesNotMatch(run.stdout, /vars\/\d/);
  });

  it("finds a weights-only checkpoint equal to the full model saved with it, and says how it matched", async () => {
    const run = await runCli("diff", join(checkpoints, "model.h5"), join(checkpoints, "weights.10.h5"), "--json");
    assert.equal(run.code, 0, run.stderr);
    const c = JSON.parse(run.stdout) as ModelComparison;
    assert.equal(c.matchedBy, "name");
    assert.equal(c.identical, c.tensors.length);
    assert.deepEqual(c.overall, { relativeDifference: 0, cosine: 1, maxAbsDifference: 0 });
    assert.equal(c.tensors[0]!.a.histogram.length, 24);
    const earlier = await runCli("diff", join(checkpoints, "weights.07.h5"), join(checkpoints, "weights.10.h5"));
    assert.equal(earlier.code, 0, earlier.stderr);
    assert.match(earlier.stdout, /matched by name, 0 identical/);
  });

  it("pairs a Keras 3 model with its legacy .h5 copy by structure and shows both names", async () => {
    const run = await runCli("diff", join(keras3, "mlp_a.keras"), join(keras3, "mlp_a_legacy.h5"));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /4 tensors matched by structure .*, 4 identical/);
    assert.match(run.stdout, /tensor in A +tensor in B/);
    assert.match(run.stdout, /layers\/dense\/vars\/0 +dense\/kernel/);
  });

  it("refuses in one line: two architectures (naming both files), a missing file, one argument", async () => {
    const [a, b] = [join(kfold, "model_fold_1.keras"), join(keras3, "mlp_a.keras")];
    const mixed = await runCli("diff", a, b);
    assert.equal(mixed.code, 2);
    assert.equal(mixed.stderr.trim().split("\n").length, 1, mixed.stderr);
    assert.ok(mixed.stderr.includes(a) && mixed.stderr.includes(b), mixed.stderr);
    assert.match(mixed.stderr, /are not of one architecture/);
    const missing = await runCli("diff", a, join(kfold, "nope.keras"));
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /nope\.keras: cannot be opened/);
    assert.equal(missing.stdout, "");
    const one = await runCli("diff", a);
    assert.equal(one.code, 2);
    assert.match(one.stderr, /give two model files or model folders/);
  });
});
