import assert from "node:assert/strict";
import * as vscode from "vscode";
import { api, digitsModels, inWorkspace } from "./helpers.js";

describe("Model Explorer", () => {
  it("lists the workspace's models grouped by architecture, with reasons for the others", async () => {
    const soup = await api();
    await soup.catalog.refresh();
    const groups = soup.tree.groups;
    const groupWith = (path: string) => groups.find((g) => g.children.some((c) => c.path === path));

    const tfjs = groupWith(inWorkspace("checkpoints/tfjs-lenet/a/mnist.json"));
    assert.ok(tfjs?.mergeable, "the TF.js LeNets form a mergeable group");
    assert.deepEqual(
      tfjs.children.map((c) => c.path).sort(),
      ["a", "b", "c"].map((x) => inWorkspace(`checkpoints/tfjs-lenet/${x}/mnist.json`)),
    );
    assert.equal(tfjs.description, "3 × TF.js", "how many and in what format beside the architecture");
    assert.match(tfjs.tooltip, /\(compatible\)/, "the status is in the tooltip");

    const keras = groupWith(inWorkspace("checkpoints/keras-lenet/keras216.h5"));
    assert.ok(keras?.mergeable, "the Keras LeNets form a mergeable group");
    assert.ok(keras.children.some((c) => c.path.endsWith("keras222.h5")));
    assert.ok(
      keras.children.some((c) => c.path.endsWith("tfkeras216.h5")),
      "tf.keras' other layer names are matched by structure",
    );
    assert.match(keras.tooltip, /\(compatible by structure\)/);
    assert.match(keras.tooltip, /tfkeras216\.h5 \(by structure\)/, "which models are matched by structure");
    assert.notEqual(keras, tfjs);

    const digits = groupWith(inWorkspace("samples/digits/models/ingredient-1/model.json"));
    const sample = digitsModels();
    for (let i = 2; i <= sample.length; i++) {
      const path = inWorkspace(`samples/digits/models/ingredient-${i}/model.json`);
      assert.ok(
        digits?.children.some((c) => c.path === path),
        `the digits ingredient ${i} is in the sample's group`,
      );
    }
    assert.ok(digits?.mergeable);
    assert.equal(digits.label, "Dense 64-64-32-10", "the group is named by its architecture");
    assert.equal(digits.description, `${sample.length} × TF.js`, "how many and in what format beside it");
    assert.deepEqual(
      digits.children.map((c) => c.label).sort(),
      sample.map((_, i) => `ingredient-${i + 1}/model.json`).sort(),
      "the shortest unique path suffixes",
    );

    const alone = groups.find((g) => g.id === "incompatible");
    assert.ok(alone, "models without a partner are listed apart");
    const model1 = alone.children.find((c) => c.path === inWorkspace("mismatch/model1/model.json"));
    assert.ok(model1, "the 2-16-3 balance model has no partner");
    assert.match(model1.description, /the only Dense 2-16-3 model in the workspace/, "what makes it unique");
    assert.match(model1.tooltip, /Cannot be merged/);

    const all = groups.flatMap((g) => g.children.map((c) => c.path));
    assert.ok(all.includes(inWorkspace("sharded/model.safetensors.index.json")), "a shard index stands for its shards");
    assert.ok(
      !all.some((p) => /model-0000\d-of-00006\.safetensors$/.test(p)),
      "shards named by an index are not listed",
    );

    const unreadable = groups.find((g) => g.id === "unreadable");
    const truncated = unreadable?.children.find((c) => c.path === inWorkspace("broken/truncated.safetensors"));
    assert.ok(truncated, "the damaged file is listed as unreadable");
    assert.match(truncated.description, /truncated\.safetensors/);
    assert.match(truncated.tooltip, /truncated\.safetensors/);
  });

  it("refreshes when a model file appears (debounced watcher)", async () => {
    const soup = await api();
    await soup.catalog.refresh();
    const copy = inWorkspace("checkpoints/keras-lenet/keras216-copy.h5");
    const changed = new Promise<void>((resolve) => {
      const sub = soup.catalog.onDidChange((a) => {
        if (a.models.some((m) => m.path === copy)) {
          sub.dispose();
          resolve();
        }
      });
    });
    await vscode.workspace.fs.copy(
      vscode.Uri.file(inWorkspace("checkpoints/keras-lenet/keras216.h5")),
      vscode.Uri.file(copy),
    );
    try {
      await Promise.race([
        changed,
        new Promise((_, reject) => setTimeout(() => reject(new Error("no refresh within 20 s")), 20_000)),
      ]);
    } finally {
      await vscode.workspace.fs.delete(vscode.Uri.file(copy));
    }
  });
});
