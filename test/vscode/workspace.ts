/**
 * Builds the workspace the VS Code suite opens: copies of real fixtures (test/fixtures/real-models, see its
 * PROVENANCE.md) laid out as a user's folder of checkpoints, plus the bundled digits sample when it exists,
 * plus one damaged file. Built fresh in a temporary folder so the tests may write into it.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { projectRoot } from "./code-server.js";

const real = join(projectRoot, "test", "fixtures", "real-models");

/** [source under real-models, destination under the workspace] */
const copies: Array<[string, string]> = [
  ["tensorspace-converter/tfjs_lenet/a_examples_rawModel", "checkpoints/tfjs-lenet/a"],
  ["tensorspace-converter/tfjs_lenet/b_test_model", "checkpoints/tfjs-lenet/b"],
  ["tensorspace-converter/tfjs_lenet/c_src_test_sequential_2018-12-02", "checkpoints/tfjs-lenet/c"],
  ["tensorspace-converter/keras_h5_lenet/keras216_full_keras_model.h5", "checkpoints/keras-lenet/keras216.h5"],
  ["tensorspace-converter/keras_h5_lenet/keras222_full_keras_seq_model.h5", "checkpoints/keras-lenet/keras222.h5"],
  ["tensorspace-converter/keras_h5_lenet/tfkeras216_full_tf_keras_model.h5", "checkpoints/keras-lenet/tfkeras216.h5"],
  ["tfjs-examples/balance_pr447/model1", "mismatch/model1"],
  ["tfjs-examples/balance_pr447/model2", "mismatch/model2"],
  ["safetensors-jl-fixtures/sharded", "sharded"],
  ["safetensors-jl-fixtures/non_sharded/model.safetensors", "weights/model.safetensors"],
];

export interface TestWorkspace {
  root: string;
  sample?: string;
}

export function makeTestWorkspace(): TestWorkspace {
  const root = mkdtempSync(join(tmpdir(), "model-soup-vscode-ws-"));
  for (const [from, to] of copies) {
    mkdirSync(dirname(join(root, to)), { recursive: true });
    cpSync(join(real, from), join(root, to), { recursive: true });
  }
  // A safetensors file whose header claims more bytes than the file has: the tree must say why it is unreadable.
  const header = Buffer.from(JSON.stringify({ w: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length + 1000));
  mkdirSync(join(root, "broken"), { recursive: true });
  writeFileSync(join(root, "broken", "truncated.safetensors"), Buffer.concat([length, header]));
  writeFileSync(join(root, "README.txt"), readFileSync(join(real, "PROVENANCE.md")));
  // A Keras 3 .keras file (test/fixtures/keras3, see its PROVENANCE.md) for the model viewer.
  mkdirSync(join(root, "keras3"), { recursive: true });
  cpSync(join(projectRoot, "test", "fixtures", "keras3", "mlp_a.keras"), join(root, "keras3", "mlp_a.keras"));
  const sample = join(projectRoot, "samples", "digits");
  if (existsSync(sample)) {
    cpSync(sample, join(root, "samples", "digits"), {
      recursive: true,
      filter: (src) => !src.includes(join("digits", "out")),
    });
    // Digits rows with their first pixel column dropped: 63 features for the 64-input models (wrong data).
    const rows = gunzipSync(readFileSync(join(sample, "soup.csv.gz")))
      .toString("utf8")
      .trim()
      .split("\n")
      .slice(0, 60);
    mkdirSync(join(root, "data"), { recursive: true });
    writeFileSync(
      join(root, "data", "digits-63-columns.csv"),
      rows.map((r) => r.split(",").slice(1).join(",")).join("\n") + "\n",
    );
    return { root, sample: join(root, "samples", "digits") };
  }
  return { root };
}

/**
 * The workspace of the real-folder walk-throughs (test/vscode/walkthrough/): the real-world-shaped families of
 * test/fixtures/real-families (see its README) laid out as a user keeps them, plus the bundled digits sample.
 * - `kfold/`: four k-fold Keras 3 classifiers trained from scratch with BatchNormalization, Dropout and a custom
 *   focal loss (`focal_loss_fixed`), 2-way softmax;
 * - `checkpoints/`: four weights-only epoch checkpoints (`weights.NN.h5`) with the full `model.h5` beside them;
 * - `data/table.csv` (the learning rows, label column `label`), `data/test.csv` (held-out rows).
 */
export function makeRealFoldersWorkspace(): TestWorkspace {
  const root = mkdtempSync(join(tmpdir(), "model-soup-vscode-real-"));
  const families = join(projectRoot, "test", "fixtures", "real-families");
  cpSync(join(families, "softmax", "keras3"), join(root, "kfold"), { recursive: true });
  cpSync(join(families, "checkpoints"), join(root, "checkpoints"), { recursive: true });
  mkdirSync(join(root, "data"), { recursive: true });
  for (const file of ["table.csv", "test.csv"]) cpSync(join(families, file), join(root, "data", file));
  const sample = join(projectRoot, "samples", "digits");
  cpSync(sample, join(root, "samples", "digits"), {
    recursive: true,
    filter: (src) => !src.includes(join("digits", "out")),
  });
  return { root, sample: join(root, "samples", "digits") };
}
