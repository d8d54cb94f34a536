import assert from "node:assert/strict";
import { readFile, rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ModelFileError } from "../../../src/core/errors.js";
import { tfjsLayersFormat } from "../../../src/core/formats/tfjs-layers/index.js";
import { TFJS_FIXTURES, type ModelJsonFile, copyFixtureFolder, readJson } from "./tfjs-helpers.js";

/** Runs `check` on a scratch copy of the abalone model after `damage` has edited it. */
async function withDamagedCopy(
  damage: (dir: string, path: string, json: ModelJsonFile) => Promise<void>,
  check: (path: string) => Promise<void>,
): Promise<void> {
  const copy = await copyFixtureFolder(TFJS_FIXTURES.abalone.path);
  try {
    await damage(copy.dir, copy.path, await readJson(copy.path));
    await check(copy.path);
  } finally {
    await copy.cleanup();
  }
}

/** Expects a ModelFileError that names the model.json and matches `expected`. */
async function refused(path: string, expected: RegExp): Promise<void> {
  await assert.rejects(tfjsLayersFormat.readManifest(path), (e: Error) => {
    assert.ok(e instanceof ModelFileError, `${e.name}: ${e.message}`);
    assert.equal(e.file, path);
    assert.match(e.message, expected);
    return true;
  });
}

const rewrite = (path: string, json: unknown) =>
  writeFile(path, typeof json === "string" ? json : JSON.stringify(json));

describe("TF.js layers format: bad input", () => {
  it("a missing shard, naming it", async () => {
    await withDamagedCopy(
      (dir) => rm(join(dir, "weights.bin")),
      (path) => refused(path, /weight shard "weights\.bin" \(group 1, shard 1 of 1\) is missing.*ENOENT/),
    );
  });

  it("a short shard, with the byte counts", async () => {
    await withDamagedCopy(
      (dir) => truncate(join(dir, "weights.bin"), 12000),
      (path) =>
        refused(
          path,
          /hold 12000 bytes \("weights\.bin" \(12000 bytes\)\) but its 6 weights need 12204 bytes.*truncated/,
        ),
    );
  });

  it("a shard longer than the manifest describes", async () => {
    await withDamagedCopy(
      async (dir) =>
        writeFile(join(dir, "weights.bin"), Buffer.concat([await readFile(join(dir, "weights.bin")), Buffer.alloc(8)])),
      (path) => refused(path, /hold 12212 bytes .* need 12204 bytes/),
    );
  });

  it("a shape that disagrees with the shard's bytes", async () => {
    await withDamagedCopy(
      async (_dir, path, json) => {
        json.weightsManifest[0]!.weights[0]!.shape = [8, 51];
        await rewrite(path, json);
      },
      (path) => refused(path, /hold 12204 bytes .* need 12236 bytes/),
    );
  });

  it("a model.json that is not JSON", async () => {
    await withDamagedCopy(
      async (_dir, path) => rewrite(path, '{"modelTopology": {"class_name": "Sequential", '),
      (path) => refused(path, /is not valid JSON.*expected a TF\.js model\.json/),
    );
  });

  it("a missing weightsManifest", async () => {
    await withDamagedCopy(
      async (_dir, path, json) => rewrite(path, { ...json, weightsManifest: undefined }),
      (path) => refused(path, /has no weightsManifest list/),
    );
  });

  it("a missing modelTopology", async () => {
    await withDamagedCopy(
      async (_dir, path, json) => rewrite(path, { ...json, modelTopology: undefined }),
      (path) => refused(path, /has no modelTopology object/),
    );
  });

  it("an unknown dtype", async () => {
    for (const dtype of ["float16", "string", "complex64", 7]) {
      await withDamagedCopy(
        async (_dir, path, json) => {
          (json.weightsManifest[0]!.weights[1] as { dtype: unknown }).dtype = dtype;
          await rewrite(path, json);
        },
        (path) => refused(path, /weight "dense_Dense1\/bias" has dtype .*; expected float32, int32 or bool/),
      );
    }
  });

  it("a bad shape, a nameless entry, a duplicate name, a group without paths", async () => {
    const cases: [(json: ModelJsonFile) => void, RegExp][] = [
      [
        (j) => void (j.weightsManifest[0]!.weights[0]!.shape = [8, -1]),
        /has shape \[8,-1\]; expected a list of non-negative integers/,
      ],
      [(j) => void ((j.weightsManifest[0]!.weights[0] as { name?: string }).name = undefined), /entry without a name/],
      [
        (j) => void (j.weightsManifest[0]!.weights[1]!.name = "dense_Dense1/kernel"),
        /lists weight "dense_Dense1\/kernel" twice/,
      ],
      [(j) => void (j.weightsManifest[0]!.paths = []), /group 1 lacks "paths" or "weights"/],
      [
        (j) => void (j.weightsManifest[0]!.weights[0]!.quantization = { dtype: "int4" }),
        /quantization with an unknown dtype "int4"/,
      ],
      [
        (j) => void (j.weightsManifest[0]!.weights[0]!.quantization = { dtype: "uint8" }),
        /quantized to uint8 without a finite numeric scale and min/,
      ],
      [
        (j) => void (j.weightsManifest[0]!.weights[0]!.name = "nowhere/kernel"),
        /weight "nowhere\/kernel" belongs to no layer/,
      ],
    ];
    for (const [edit, expected] of cases) {
      await withDamagedCopy(
        async (_dir, path, json) => {
          edit(json);
          await rewrite(path, json);
        },
        (path) => refused(path, expected),
      );
    }
  });

  it("a shard path outside the model's folder", async () => {
    for (const bad of ["../weights.bin", "/etc/hostname", "sub/../../weights.bin", "file:///etc/hostname"]) {
      await withDamagedCopy(
        async (_dir, path, json) => {
          json.weightsManifest[0]!.paths = [bad];
          await rewrite(path, json);
        },
        (path) => refused(path, /expected a path relative to the model\.json folder and inside it/),
      );
    }
  });

  it("a TF.js graph model, and a Lambda layer", async () => {
    await withDamagedCopy(
      async (_dir, path, json) => rewrite(path, { ...json, format: "graph-model", modelTopology: { node: [] } }),
      (path) => refused(path, /is a TF\.js graph model/),
    );
    await withDamagedCopy(
      async (_dir, path, json) => {
        const layers = json.modelTopology.config as { layers: { class_name: string }[] };
        layers.layers[1]!.class_name = "Lambda";
        await rewrite(path, json);
      },
      (path) => refused(path, /layer "dense_Dense2" is a Lambda layer/),
    );
  });

  it("a shard changed after the model was opened", async () => {
    await withDamagedCopy(
      async () => undefined,
      async (path) => {
        const file = await tfjsLayersFormat.open(path);
        try {
          await truncate(join(path, "..", "weights.bin"), 100);
          await assert.rejects(
            file.readTensor("dense_Dense3/bias"),
            (e: Error) => e instanceof ModelFileError && /weights\.bin: ended after/.test(e.message),
          );
          await assert.rejects(file.readTensor("no/such"), /has no weight named "no\/such"/);
        } finally {
          await file.close();
        }
      },
    );
  });
});
