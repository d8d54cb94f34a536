/**
 * The fuzz cases: seeds built from the project's fixtures, seeded structure-aware and byte-level mutants of every
 * format the CLI reads, and a fixed list of hostile inputs (bombs, cycles, FIFOs, symlink escapes, deep nesting,
 * HDF5 storage in other files).
 */
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { unzipSync, zipSync } from "fflate";
import { mulberry32 } from "../../src/core/random.js";
import { type CaseFile, type FuzzCase, type RunningCase, descendantsRunning } from "./harness.js";
import { canRunWithoutPython } from "./without-python.js";
import {
  type Random,
  deflatedZeros,
  mutateBytes,
  mutateJson,
  mutateYaml,
  mutateZipEntry,
  pick,
  zipBomb,
} from "./mutate.js";

const ROOT = resolve(import.meta.dirname, "..", "..");
const read = (...parts: string[]) => new Uint8Array(readFileSync(join(ROOT, ...parts)));
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const utf8 = (s: string) => new TextEncoder().encode(s);

interface Seed {
  kind: string;
  files: Record<string, Uint8Array>;
  /** The file to mutate and hand to the CLI, under in/. */
  entry: string;
  /** Commands to run on a (possibly mutated) seed. */
  commands: string[][];
}

const KERAS = "test/fixtures/keras3";
const DIGITS = "samples/digits";
const ST = "test/fixtures/real-models/safetensors-jl-fixtures";
const TORCH = "test/fixtures/pytorch";

function npy(data: Float32Array | Int32Array, shape: number[]): Uint8Array {
  const descr = data instanceof Float32Array ? "<f4" : "<i4";
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  header += " ".repeat(64 - ((10 + header.length + 1) % 64)) + "\n";
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(utf8(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** The digits held-out data (64 features, the digit as label) as an .npz of x and y. */
function digitsNpz(): Uint8Array {
  const rows = text(gunzipSync(read(DIGITS, "soup.csv.gz")))
    .trim()
    .split("\n")
    .slice(0, 200)
    .map((l) => l.split(",").map(Number));
  const x = new Float32Array(rows.length * 64);
  const y = new Int32Array(rows.length);
  rows.forEach((r, i) => (x.set(r.slice(0, 64), i * 64), (y[i] = r[64]!)));
  return zipSync({
    "x.npy": [npy(x, [rows.length, 64]), { level: 0 }],
    "y.npy": [npy(y, [rows.length]), { level: 0 }],
  });
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

function recipeFor(a: Uint8Array, b: Uint8Array): string {
  return JSON.stringify(
    {
      kind: "model-soup-recipe",
      version: 1,
      tool: { name: "model-soup", version: "0.1.0" },
      created: "2026-01-01T00:00:00.000Z",
      origin: "uniform",
      merge: { method: "uniform", params: {}, ingredients: [{ path: "a.keras" }, { path: "b.keras" }] },
      inputs: [
        { path: "a.keras", sha256: sha256(a) },
        { path: "b.keras", sha256: sha256(b) },
      ],
      output: { path: "applied.keras", format: "keras" },
    },
    null,
    2,
  );
}

const MERGEKIT = `models:\n  - model: a.keras\n    parameters:\n      weight: 1.0\n  - model: b.keras\n    parameters:\n      weight: 0.5\nmerge_method: linear\ndtype: float32\n`;

const digitsModels = (): Record<string, Uint8Array> => ({
  "in/m1/model.json": read(DIGITS, "models/ingredient-1/model.json"),
  "in/m1/weights.bin": read(DIGITS, "models/ingredient-1/weights.bin"),
  "in/m2/model.json": read(DIGITS, "models/ingredient-2/model.json"),
  "in/m2/weights.bin": read(DIGITS, "models/ingredient-2/weights.bin"),
});

const evaluateOn = (data: string) => ["evaluate", "m1/model.json", "m2/model.json", "--data", data];

export function seeds(): Seed[] {
  const mlpA = read(KERAS, "mlp_a.keras");
  const mlpB = read(KERAS, "mlp_b.keras");
  const kerasPair = { "in/a.keras": mlpA, "in/b.keras": mlpB };
  const sharded: Record<string, Uint8Array> = {};
  for (let i = 1; i <= 6; i++) {
    const name = `model-0000${i}-of-00006.safetensors`;
    sharded[`in/s/${name}`] = read(ST, "sharded", name);
  }
  sharded["in/s/model.safetensors.index.json"] = read(ST, "sharded", "model.safetensors.index.json");
  return [
    {
      kind: "safetensors",
      files: {
        "in/a.safetensors": read(ST, "non_sharded/model.with_metadata.safetensors"),
        "in/b.safetensors": read(ST, "non_sharded/model.safetensors"),
      },
      entry: "a.safetensors",
      commands: [
        ["inspect", "a.safetensors"],
        ["merge", "a.safetensors", "b.safetensors", "--out", "@out/merged.safetensors"],
      ],
    },
    {
      kind: "safetensors-index",
      files: sharded,
      entry: "s/model.safetensors.index.json",
      commands: [
        ["inspect", "s/model.safetensors.index.json"],
        [
          "merge",
          "s/model.safetensors.index.json",
          "s/model.safetensors.index.json",
          "--out",
          "@out/merged.safetensors",
        ],
      ],
    },
    {
      kind: "pytorch",
      files: { "in/a.pt": read(TORCH, "cnn_a.pth"), "in/b.pt": read(TORCH, "cnn_b.pth") },
      entry: "a.pt",
      commands: [
        ["inspect", "a.pt"],
        ["merge", "a.pt", "b.pt", "--out", "@out/merged.pt"],
        ["merge", "a.pt", "b.pt", "--out", "@out/merged.safetensors"],
      ],
    },
    {
      // A training checkpoint around a state dict: Lightning's (epoch, global_step, state_dict, optimizer states).
      kind: "pytorch-checkpoint",
      files: { "in/a.ckpt": read(TORCH, "lightning.ckpt") },
      entry: "a.ckpt",
      commands: [
        ["inspect", "a.ckpt"],
        ["merge", "a.ckpt", "a.ckpt", "--out", "@out/merged.safetensors"],
      ],
    },
    {
      // TorchScript ingredients: a .pt output is written as a TorchScript archive (the template's entries copied).
      kind: "torchscript",
      files: {
        "in/a.pt": read(TORCH, "engine", "mlp_ft0.ts.pt"),
        "in/b.pt": read(TORCH, "engine", "mlp_ft1.ts.pt"),
      },
      entry: "a.pt",
      commands: [
        ["inspect", "a.pt"],
        ["merge", "a.pt", "b.pt", "--out", "@out/merged.pt"],
      ],
    },
    {
      kind: "tfjs",
      files: { ...digitsModels() },
      entry: "m1/model.json",
      commands: [
        ["inspect", "m1/model.json"],
        ["merge", "m1/model.json", "m2/model.json", "--out", "@out/merged/model.json"],
      ],
    },
    {
      kind: "tfjs-shard",
      files: { ...digitsModels() },
      entry: "m1/weights.bin",
      commands: [
        ["inspect", "m1/model.json"],
        ["merge", "m1/model.json", "m2/model.json", "--out", "@out/merged/model.json"],
      ],
    },
    {
      kind: "keras",
      files: kerasPair,
      entry: "a.keras",
      commands: [
        ["inspect", "a.keras"],
        ["merge", "a.keras", "b.keras", "--out", "@out/merged.keras"],
      ],
    },
    {
      kind: "h5",
      files: { "in/a.h5": read(KERAS, "mlp_a_legacy.h5"), "in/b.h5": read(KERAS, "mlp_b_legacy.h5") },
      entry: "a.h5",
      commands: [
        ["inspect", "a.h5"],
        ["merge", "a.h5", "b.h5", "--out", "@out/merged.h5"],
      ],
    },
    {
      kind: "recipe",
      files: { ...kerasPair, "in/soup.recipe.json": utf8(recipeFor(mlpA, mlpB)) },
      entry: "soup.recipe.json",
      commands: [["apply", "soup.recipe.json", "--out", "@out/applied.keras"]],
    },
    {
      kind: "mergekit-yaml",
      files: { ...kerasPair, "in/config.yml": utf8(MERGEKIT) },
      entry: "config.yml",
      commands: [["mergekit-import", "config.yml", "--out", "@out/mk.keras"]],
    },
    {
      kind: "npz",
      files: { ...digitsModels(), "in/data.npz": digitsNpz() },
      entry: "data.npz",
      commands: [evaluateOn("data.npz")],
    },
    {
      kind: "csv.gz",
      files: {
        ...digitsModels(),
        "in/data.csv.gz": gzipSync(
          text(gunzipSync(read(DIGITS, "soup.csv.gz")))
            .split("\n")
            .slice(0, 200)
            .join("\n"),
        ),
      },
      entry: "data.csv.gz",
      commands: [evaluateOn("data.csv.gz")],
    },
  ];
}

function safetensorsHeaderMutant(random: Random, bytes: Uint8Array): { bytes: Uint8Array; what: string } {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const length = Number(view.getBigUint64(0, true));
  const header = text(bytes.subarray(8, 8 + length));
  const m = mutateJson(random, header);
  const encoded = utf8(m.text);
  const out = new Uint8Array(8 + encoded.length + bytes.length - 8 - length);
  new DataView(out.buffer).setBigUint64(0, BigInt(encoded.length), true);
  out.set(encoded, 8);
  out.set(bytes.subarray(8 + length), 8 + encoded.length);
  return { bytes: out, what: `header ${m.what}` };
}

/** A torch.save zip with one entry's bytes mutated, its data.pkl most often; entries stay stored, as torch writes them. */
function torchZipMutant(random: Random, bytes: Uint8Array): { bytes: Uint8Array; what: string } {
  const entries = unzipSync(bytes);
  const names = Object.keys(entries);
  const pickle = names.find((n) => n.endsWith("/data.pkl"))!;
  const name = random() < 0.7 ? pickle : pick(random, names);
  const m = mutateBytes(random, entries[name]!);
  entries[name] = m.bytes;
  const files = Object.fromEntries(Object.entries(entries).map(([n, d]) => [n, [d, { level: 0 }] as const]));
  return { bytes: zipSync(files as never), what: `entry ${name}: ${m.what}` };
}

/** A structure-aware mutant when the format has structure, else (and sometimes anyway) a byte-level one. */
function mutateSeed(random: Random, seed: Seed): { bytes: Uint8Array; what: string } {
  const bytes = seed.files[`in/${seed.entry}`]!;
  const structured = random() < 0.7;
  if (structured) {
    switch (seed.kind) {
      case "safetensors":
        return safetensorsHeaderMutant(random, bytes);
      case "safetensors-index":
      case "tfjs":
      case "recipe": {
        const m = mutateJson(random, text(bytes));
        return { bytes: utf8(m.text), what: m.what };
      }
      case "keras":
      case "npz":
        return mutateZipEntry(random, bytes);
      case "pytorch":
      case "pytorch-checkpoint":
      case "torchscript":
        return torchZipMutant(random, bytes);
      case "mergekit-yaml": {
        const m = mutateYaml(random, text(bytes));
        return { bytes: utf8(m.text), what: m.what };
      }
      case "csv.gz": {
        const m = mutateBytes(random, gunzipSync(bytes));
        return { bytes: gzipSync(m.bytes), what: `csv text: ${m.what}` };
      }
    }
  }
  return mutateBytes(random, bytes);
}

/** `count` seeded mutants cycling through the model seeds (every `dataEvery`-th a data file), each with one of its seed's commands. */
export function mutantCases(seed: number, count: number, options: { dataEvery?: number } = {}): FuzzCase[] {
  const random = mulberry32(seed);
  const all = seeds();
  const models = all.filter((s) => s.kind !== "npz" && s.kind !== "csv.gz");
  const data = all.filter((s) => s.kind === "npz" || s.kind === "csv.gz");
  const dataEvery = options.dataEvery ?? 10;
  const cases: FuzzCase[] = [];
  for (let i = 0; i < count; i++) {
    const s = i % dataEvery === dataEvery - 1 ? pick(random, data) : models[i % models.length]!;
    const m = mutateSeed(random, s);
    const command = pick(random, s.commands);
    cases.push({
      id: `m${seed}-${i}-${s.kind}`,
      kind: s.kind,
      what: m.what,
      files: { ...s.files, [`in/${s.entry}`]: m.bytes },
      argv: command,
    });
  }
  return cases;
}

const DEEP = 50_000;
const deepArray = `${"[".repeat(DEEP)}${"]".repeat(DEEP)}`;
const MB = 1024 * 1024;

/** The fixed hostile inputs: each names a failure seen in the wild or in the issue, and must end cleanly. */
export function hostileCases(): FuzzCase[] {
  const all = seeds();
  const seedOf = (kind: string) => all.find((s) => s.kind === kind)!;
  const keras = seedOf("keras");
  const tfjs = seedOf("tfjs");
  const st = seedOf("safetensors");
  const index = seedOf("safetensors-index");
  const mlpA = keras.files["in/a.keras"]!;
  const kerasEntries = unzipSync(mlpA);
  const bomb300 = deflatedZeros(300 * MB);
  const bomb200 = deflatedZeros(200 * MB);
  const hostileDir = "test/fuzz/fixtures";
  const victimBin = new Uint8Array(256).map((_, i) => i);
  const out: FuzzCase[] = [];
  const add = (id: string, kind: string, what: string, files: Record<string, CaseFile>, argv: string[]) =>
    out.push({ id: `h-${id}`, kind, what, files, argv });

  add("fifo", "special", "a FIFO given as a model", { "in/pipe.safetensors": { fifo: true } }, [
    "inspect",
    "pipe.safetensors",
  ]);
  add(
    "fifo-merge",
    "special",
    "a FIFO given as a model to merge",
    { ...st.files, "in/pipe.safetensors": { fifo: true } },
    ["merge", "a.safetensors", "pipe.safetensors", "--out", "@out/m.safetensors"],
  );
  add("device", "special", "/dev/zero given as a model", {}, ["inspect", "/dev/zero"]);
  add("folder", "special", "a folder given as a model", { "in/d/x.txt": utf8("x") }, ["inspect", "d"]);
  add(
    "fifo-data",
    "special",
    "a FIFO given as data",
    { ...digitsModels(), "in/data.csv": { fifo: true } },
    evaluateOn("data.csv"),
  );

  // Shards that resolve outside their model's folder through a symlink.
  const { "in/m1/weights.bin": shard, ...tfjsRest } = tfjs.files;
  add(
    "tfjs-shard-symlink",
    "symlink",
    "a TF.js weights file symlinked outside the model folder",
    { ...tfjsRest, "outside/weights.bin": shard!, "in/m1/weights.bin": { symlink: "../../outside/weights.bin" } },
    ["merge", "m1/model.json", "m2/model.json", "--out", "@out/merged/model.json"],
  );
  const firstShard = "in/s/model-00001-of-00006.safetensors";
  const { [firstShard]: stShard, ...indexRest } = index.files;
  add(
    "st-shard-symlink",
    "symlink",
    "a safetensors shard symlinked outside the index's folder",
    {
      ...indexRest,
      "outside/shard.safetensors": stShard!,
      [firstShard]: { symlink: "../../outside/shard.safetensors" },
    },
    ["inspect", "s/model.safetensors.index.json"],
  );

  // HDF5 storage in other files, cycles.
  const victims = { "in/victim.bin": victimBin, "in/victim.h5": read(KERAS, "mlp_b_legacy.h5") };
  for (const name of ["external-storage.h5", "virtual.h5", "external-link.h5", "cycle.h5"]) {
    const files = { ...victims, [`in/${name}`]: read(hostileDir, name), "in/b.h5": read(KERAS, "mlp_b_legacy.h5") };
    add(`${name}-inspect`, "h5-hostile", name, files, ["inspect", name]);
    add(`${name}-merge`, "h5-hostile", name, files, ["merge", name, "b.h5", "--out", "@out/merged.h5"]);
  }
  for (const name of ["external-storage.keras", "cycle.keras"]) {
    const files = { ...victims, [`in/${name}`]: read(hostileDir, name), "in/b.keras": keras.files["in/b.keras"]! };
    add(`${name}-inspect`, "keras-hostile", name, files, ["inspect", name]);
    add(`${name}-merge`, "keras-hostile", name, files, ["merge", name, "b.keras", "--out", "@out/merged.keras"]);
  }

  // Decompression bombs: declared truthfully (over the ceiling), lying about their size, and under the ceiling.
  const others = { "metadata.json": kerasEntries["metadata.json"]!, "config.json": kerasEntries["config.json"]! };
  add(
    "keras-bomb",
    "bomb",
    "model.weights.h5 inflating to 300 MB (declared)",
    { ...keras.files, "in/bomb.keras": zipBomb("model.weights.h5", bomb300, 300 * MB, 300 * MB, others) },
    ["inspect", "bomb.keras"],
  );
  add(
    "keras-bomb-lying",
    "bomb",
    "model.weights.h5 declaring 15720 bytes, inflating to 300 MB",
    { ...keras.files, "in/bomb.keras": zipBomb("model.weights.h5", bomb300, 300 * MB, 15720, others) },
    ["merge", "bomb.keras", "b.keras", "--out", "@out/m.keras"],
  );
  add(
    "keras-bomb-200",
    "bomb",
    "model.weights.h5 inflating to 200 MB (under the ceiling)",
    { ...keras.files, "in/bomb.keras": zipBomb("model.weights.h5", bomb200, 200 * MB, 200 * MB, others) },
    ["inspect", "bomb.keras"],
  );
  add(
    "keras-config-bomb",
    "bomb",
    "config.json inflating to 300 MB",
    {
      ...keras.files,
      "in/bomb.keras": zipBomb("config.json", bomb300, 300 * MB, 300 * MB, {
        "metadata.json": kerasEntries["metadata.json"]!,
        "model.weights.h5": kerasEntries["model.weights.h5"]!,
      }),
    },
    ["inspect", "bomb.keras"],
  );
  add(
    "npz-bomb",
    "bomb",
    "x.npy inflating to 300 MB",
    { ...digitsModels(), "in/bomb.npz": zipBomb("x.npy", bomb300, 300 * MB, 300 * MB) },
    evaluateOn("bomb.npz"),
  );
  const gzBomb = gzipSync(Buffer.alloc(300 * MB, "0,"), { level: 9 });
  add(
    "csv-gz-bomb",
    "bomb",
    "a .csv.gz inflating to 300 MB of rows",
    { ...digitsModels(), "in/bomb.csv.gz": gzBomb },
    evaluateOn("bomb.csv.gz"),
  );

  // Nesting tens of thousands deep, alias bombs.
  const stBytes = st.files["in/a.safetensors"]!;
  const header = JSON.parse(
    text(stBytes.subarray(8, 8 + Number(new DataView(stBytes.buffer, stBytes.byteOffset).getBigUint64(0, true)))),
  );
  const deepHeader = utf8(JSON.stringify({ ...header, __metadata__: "@" }).replace('"@"', `{"x":${deepArray}}`));
  const length = Number(new DataView(stBytes.buffer, stBytes.byteOffset).getBigUint64(0, true));
  const deepSt = new Uint8Array(8 + deepHeader.length + stBytes.length - 8 - length);
  new DataView(deepSt.buffer).setBigUint64(0, BigInt(deepHeader.length), true);
  deepSt.set(deepHeader, 8);
  deepSt.set(stBytes.subarray(8 + length), 8 + deepHeader.length);
  add("st-deep-metadata", "deep", "safetensors __metadata__ nested 50,000 deep", { "in/deep.safetensors": deepSt }, [
    "inspect",
    "deep.safetensors",
  ]);
  const modelJson = JSON.parse(text(tfjs.files["in/m1/model.json"]!));
  const deepModelJson = utf8(
    JSON.stringify({ ...modelJson, modelTopology: { ...modelJson.modelTopology, extra: "@" } }).replace(
      '"@"',
      deepArray,
    ),
  );
  add(
    "tfjs-deep-topology",
    "deep",
    "TF.js modelTopology nested 50,000 deep",
    { ...tfjs.files, "in/m1/model.json": deepModelJson },
    ["inspect", "m1/model.json"],
  );
  const deepConfig = utf8(text(kerasEntries["config.json"]!).replace(/^\{/, `{"deep":${deepArray},`));
  add(
    "keras-deep-config",
    "deep",
    "Keras config.json nested 50,000 deep",
    {
      ...keras.files,
      "in/deep.keras": zipSync({
        "metadata.json": kerasEntries["metadata.json"]!,
        "config.json": deepConfig,
        "model.weights.h5": [kerasEntries["model.weights.h5"]!, { level: 0 }],
      }),
    },
    ["inspect", "deep.keras"],
  );
  const recipe = seedOf("recipe");
  add(
    "recipe-deep",
    "deep",
    "a recipe nested 50,000 deep",
    {
      ...recipe.files,
      "in/soup.recipe.json": utf8(text(recipe.files["in/soup.recipe.json"]!).replace(/^\{/, `{"deep":${deepArray},`)),
    },
    ["apply", "soup.recipe.json", "--out", "@out/applied.keras"],
  );
  const mergekit = seedOf("mergekit-yaml");
  const bombLines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 12; i++)
    bombLines.push(
      `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
        .fill(`*${String.fromCharCode(96 + i)}`)
        .join(", ")}]`,
    );
  add(
    "yaml-alias-bomb",
    "deep",
    "a mergekit YAML alias bomb",
    { ...mergekit.files, "in/config.yml": utf8(`${bombLines.join("\n")}\n${MERGEKIT}`) },
    ["mergekit-import", "config.yml", "--out", "@out/mk.keras"],
  );
  add(
    "yaml-deep",
    "deep",
    "mergekit YAML nested 50,000 deep",
    { ...mergekit.files, "in/config.yml": utf8(`deep: ${deepArray}\n${MERGEKIT}`) },
    ["mergekit-import", "config.yml", "--out", "@out/mk.keras"],
  );
  pytorchHostile(add, seedOf("pytorch"), bomb300);
  return out;
}

type AddCase = (id: string, kind: string, what: string, files: Record<string, CaseFile>, argv: string[]) => void;

/** Crafted pickles (test/fixtures/pytorch/hostile, see its README), the legacy format, and storage bombs. */
function pytorchHostile(add: AddCase, seed: Seed, bomb300: Uint8Array): void {
  const dir = join(TORCH, "hostile");
  for (const name of readdirSync(join(ROOT, dir)).sort()) {
    const files = { ...seed.files, [`in/${name}`]: read(dir, name) };
    add(`pt-${name}-inspect`, "pytorch-hostile", name, files, ["inspect", name]);
    add(`pt-${name}-merge`, "pytorch-hostile", name, files, ["merge", "a.pt", name, "--out", "@out/m.pt"]);
  }
  add(
    "pt-legacy",
    "pytorch-hostile",
    "a legacy non-zip torch.save file",
    { "in/legacy.pt": read(TORCH, "legacy.pt") },
    ["inspect", "legacy.pt"],
  );
  // cnn_a.pth with its first storage (0.weight, 36 floats) replaced by 300 MB of deflated zeros.
  const entries = unzipSync(seed.files["in/a.pt"]!);
  const storage = Object.keys(entries).find((n) => n.endsWith("/data/0"))!;
  const others = Object.fromEntries(Object.entries(entries).filter(([n]) => n !== storage));
  add(
    "pt-storage-bomb",
    "bomb",
    "a storage inflating to 300 MB (declared)",
    { ...seed.files, "in/bomb.pt": zipBomb(storage, bomb300, 300 * MB, 300 * MB, others) },
    ["merge", "bomb.pt", "b.pt", "--out", "@out/m.safetensors"],
  );
  add(
    "pt-storage-bomb-lying",
    "bomb",
    "a storage declaring its 144 bytes, inflating to 300 MB",
    { ...seed.files, "in/bomb.pt": zipBomb(storage, bomb300, 300 * MB, 144, others) },
    ["merge", "bomb.pt", "b.pt", "--out", "@out/m.pt"],
  );
  const pickleName = Object.keys(entries).find((n) => n.endsWith("/data.pkl"))!;
  const rest = Object.fromEntries(Object.entries(entries).filter(([n]) => n !== pickleName));
  add(
    "pt-pickle-bomb",
    "bomb",
    "data.pkl inflating to 300 MB",
    { ...seed.files, "in/bomb.pt": zipBomb(pickleName, bomb300, 300 * MB, 300 * MB, rest) },
    ["inspect", "bomb.pt"],
  );
}

/** The digits rows (64 features, then the digit), as CSV lines. */
const digitsRows = () =>
  text(gunzipSync(read(DIGITS, "soup.csv.gz")))
    .trim()
    .split("\n");

/** `rows` seeded rows for the PyTorch engine's MLP fixtures (6 features, 3 classes) as an .npz of x and y. */
function mlpRowsNpz(rows: number, features = 6, seed = 7): Uint8Array {
  const random = mulberry32(seed);
  const x = Float32Array.from({ length: rows * features }, () => random() * 2 - 1);
  const y = Int32Array.from({ length: rows }, () => Math.floor(random() * 3));
  return zipSync({
    "x.npy": [npy(x, [rows, features]), { level: 0 }],
    "y.npy": [npy(y, [rows]), { level: 0 }],
  });
}

/** The same rows with their labels under another key than y (`--label` is not given, so y is looked for). */
function renamedLabels(npz: Uint8Array, key: string): Uint8Array {
  const { "y.npy": y, ...rest } = unzipSync(npz);
  return zipSync({ ...rest, [`${key}.npy`]: y! } as never);
}

/**
 * The user's own test rows (`--test`) and `--architecture` files given wrongly, on TF.js models (no Python needed):
 * each must be refused in one line naming the file. (Test rows identical to the learning rows are accepted without
 * a warning, so there is no case for them: nothing to assert.)
 */
export function tfjsOptionCases(): FuzzCase[] {
  const csv = digitsRows();
  const held = csv.slice(200, 300);
  const files = { ...digitsModels(), "in/data.csv": utf8(csv.slice(0, 200).join("\n")) };
  const out: FuzzCase[] = [];
  const add = (id: string, kind: string, what: string, extra: Record<string, CaseFile>, argv: string[], line: RegExp) =>
    out.push({ id: `u-${id}`, kind, what, files: { ...files, ...extra }, argv, expect: { exit: 2, line } });
  const test = (id: string, what: string, extra: Record<string, CaseFile>, argv: string[], line: RegExp) =>
    add(`test-${id}`, "test-rows", what, extra, [...evaluateOn("data.csv"), ...argv], line);
  test(
    "missing",
    "--test names no file",
    {},
    ["--test", "nope.csv"],
    /^model-soup evaluate: nope\.csv: cannot be read \(ENOENT\)$/,
  );
  test(
    "features",
    "--test rows with 30 of the 64 features",
    { "in/narrow.csv": utf8(held.map((l) => l.split(",").slice(34).join(",")).join("\n")) },
    ["--test", "narrow.csv"],
    /^model-soup evaluate: narrow\.csv: rows have 30 features; the model expects input \[batch, 64\]/,
  );
  test(
    "label-key",
    "--label y, and --test rows with their labels under another key",
    { "in/data.npz": digitsNpz(), "in/held.npz": renamedLabels(digitsNpz(), "target") },
    ["--data", "data.npz", "--label", "y", "--test", "held.npz"],
    /^model-soup evaluate: held\.npz: has no array "y" for the labels \(arrays found: "x", "target"\)/,
  );
  test(
    "folder",
    "--test names a folder with no images",
    { "in/empty/x.txt": utf8("x") },
    ["--test", "empty"],
    /^model-soup evaluate: empty: expected one subfolder per class .* holding PNG or JPEG images; found no subfolders$/,
  );
  // --architecture naming no file, a folder, or "::", for models TensorFlow.js runs (the PyTorch forms: below).
  const learn = [
    "learn",
    "m1/model.json",
    "m2/model.json",
    "--data",
    "data.csv",
    "--steps",
    "2",
    "--out",
    "@out/soup.json",
  ];
  const architecture = (id: string, what: string, spec: string, line: RegExp) =>
    add(
      `arch-tfjs-${id}`,
      "architecture",
      what,
      { "in/adir/x.txt": utf8("x") },
      [...learn, "--architecture", spec],
      line,
    );
  architecture(
    "no-file",
    "an architecture file that does not exist",
    "nope.keras",
    /^model-soup learn: nope\.keras: cannot be opened: no such file/,
  );
  architecture(
    "folder",
    "a folder as the architecture",
    "adir",
    /^model-soup learn: adir: is a folder; expected a regular file$/,
  );
  architecture("colons", "the spec ::", "::", /^model-soup learn: ::: cannot be opened: no such file/);
  return out;
}

/**
 * Runs through the PyTorch engine (`learn` on the engine fixtures, with the Python that has torch): `--architecture`
 * misused, `--test` rows unlike the learning rows, and the engine's failures (no Python at --python, a Python
 * without torch, the engine killed mid-learning, out of memory). Each must end in exit 2 and one line naming what
 * happened, write nothing and leave no temp folder. `python` runs the engine; user code runs only where the case
 * names it with --architecture.
 */
export function torchEngineCases(python: string): FuzzCase[] {
  const engine = join(TORCH, "engine");
  const data = mlpRowsNpz(96);
  const ts = { "in/ts/a.ts.pt": read(engine, "mlp_ft0.ts.pt"), "in/ts/b.ts.pt": read(engine, "mlp_ft1.ts.pt") };
  const sd = {
    "in/sd/a.pt": read(engine, "mlp_ft0.pt"),
    "in/sd/b.pt": read(engine, "mlp_ft1.pt"),
    "in/mlp_factory.py": read(engine, "mlp_factory.py"),
    "in/mlp_a.keras": read(KERAS, "mlp_a.keras"),
    "in/adir/x.txt": utf8("x"),
    "in/raises.py": utf8('def build():\n    raise ValueError("boom from the factory")\n'),
    "in/wrong.py": utf8("import torch\n\n\ndef build():\n    return torch.nn.Linear(6, 3)\n"),
    "in/number.py": utf8("def build():\n    return 42\n"),
  };
  const learnArgs = ["--data", "data.npz", "--steps", "2", "--out", "@out/soup.pt"];
  const out: FuzzCase[] = [];
  const add = (id: string, kind: string, what: string, c: Omit<FuzzCase, "id" | "kind" | "what">) =>
    out.push({ id: `u-${id}`, kind, what, ...c });
  // What the engine (or the user's code in it) reports ends the line: no pointer to --help after it (EngineError).
  const refused = (line: RegExp) => ({ exit: 2, line: new RegExp(`^model-soup learn: ${line.source}`) });

  // --architecture given wrongly for PyTorch state dicts (and a PyTorch one for TF.js models).
  const architecture = (id: string, what: string, spec: string, line: RegExp) =>
    add(`arch-${id}`, "architecture", what, {
      files: { ...sd, "in/data.npz": data },
      argv: ["learn", "sd", ...learnArgs, "--architecture", spec, "--python", python],
      expect: refused(line),
    });
  architecture(
    "no-file",
    "a factory file that does not exist",
    "nope.py:build",
    /\S*nope\.py: no such file \(the architecture \S*nope\.py:build\)$/,
  );
  architecture(
    "folder-fn",
    "a folder as the factory's module",
    "adir:build",
    /architecture "adir:build": importing module adir failed: No module named 'adir'$/,
  );
  architecture(
    "torchvision",
    "a torchvision model that does not exist",
    "torchvision:no_such_model",
    /(torchvision has no model named no_such_model \(torchvision [^)]*\)|the architecture torchvision:no_such_model needs torchvision, .*)$/,
  );
  architecture(
    "no-function",
    "a factory file without the function",
    "mlp_factory.py:missing",
    /\S*mlp_factory\.py has no function missing \(the architecture \S*mlp_factory\.py:missing\)$/,
  );
  architecture(
    "colons",
    "the spec ::",
    "::",
    /\S*sd\/a\.pt: \(pytorch state dict\): --architecture :: is not a PyTorch architecture; it needs one of --architecture torchvision:/,
  );
  architecture("empty", "an empty spec", "", /--architecture expects a value; got an empty string/);
  architecture(
    "raises",
    "a factory that raises",
    "raises.py:build",
    /\S*raises\.py: build\(\) failed: boom from the factory$/,
  );
  architecture(
    "mismatch",
    "a factory whose model's state dict is not the weights'",
    "wrong.py:build",
    /\S*sd\/a\.pt has no tensor weight that \S*wrong\.py:build needs \(2 missing\)$/,
  );
  architecture(
    "not-module",
    "a factory returning no nn.Module",
    "number.py:build",
    /\S*number\.py: build\(\) returned int; expected a torch\.nn\.Module$/,
  );
  architecture(
    "keras-for-torch",
    "a Keras model as the architecture of PyTorch state dicts",
    "mlp_a.keras",
    /\S*sd\/a\.pt: \(pytorch state dict\): --architecture mlp_a\.keras is not a PyTorch architecture; it needs one of --architecture torchvision:/,
  );
  add("arch-keras-for-torchscript", "architecture", "a Keras model as the architecture of TorchScript files", {
    files: { ...ts, "in/mlp_a.keras": sd["in/mlp_a.keras"], "in/data.npz": data },
    argv: ["learn", "ts", ...learnArgs, "--architecture", "mlp_a.keras", "--python", python],
    expect: refused(
      /\S*ts\/a\.ts\.pt: \(TorchScript\): --architecture mlp_a\.keras is not a PyTorch architecture; a TorchScript file runs as it is/,
    ),
  });
  add("arch-torch-for-tfjs", "architecture", "a PyTorch factory as the architecture of TF.js models", {
    files: {
      ...digitsModels(),
      "in/mlp_factory.py": sd["in/mlp_factory.py"],
      "in/data.csv": utf8(digitsRows().slice(0, 200).join("\n")),
    },
    argv: ["learn", "m1/model.json", "m2/model.json", "--data", "data.csv", "--steps", "2", "--out", "@out/soup.json"],
    expect: refused(/m1\/model\.json has no tensor 0\.weight that \S*mlp_factory\.py:build needs \(9 missing\)$/),
  });
  out.at(-1)!.argv.push("--architecture", "mlp_factory.py:build", "--python", python);

  // --test rows unlike the learning rows, through the engine.
  const test = (id: string, what: string, file: Uint8Array | undefined, line: RegExp) =>
    add(`torch-test-${id}`, "test-rows", what, {
      files: { ...ts, "in/data.npz": data, ...(file ? { "in/held.npz": file } : {}) },
      argv: ["learn", "ts", ...learnArgs, "--test", "held.npz", "--python", python],
      expect: refused(line),
    });
  test("missing", "--test names no file", undefined, /held\.npz: cannot be read \(ENOENT\)/);
  test(
    "features",
    "--test rows with 5 of the 6 features",
    mlpRowsNpz(40, 5),
    /held\.npz: rows have 5 features, the learning data's 6/,
  );
  test(
    "label-key",
    "--test rows with their labels under another key",
    renamedLabels(mlpRowsNpz(40), "target"),
    /held\.npz: has no labels where the learning data has classification labels/,
  );

  // TorchScript archives the engine cannot load or run, and learning rows the model cannot take.
  const archive = (id: string, what: string, bytes: Uint8Array, line: RegExp, rows = data) =>
    add(`torchscript-${id}`, "torchscript-engine", what, {
      files: { ...ts, "in/ts/a.ts.pt": bytes, "in/data.npz": rows },
      argv: ["learn", "ts", ...learnArgs, "--python", python],
      expect: refused(line),
    });
  const tsA = ts["in/ts/a.ts.pt"];
  archive(
    "truncated",
    "a TorchScript archive cut at 3,000 bytes",
    tsA.subarray(0, 3000),
    /\S*ts\/a\.ts\.pt: is not a valid PyTorch zip checkpoint: no end-of-central-directory record/,
  );
  const entries = unzipSync(tsA);
  const code = Object.keys(entries).find((n) => n.endsWith("code/__torch__/torch/nn/modules/container.py"))!;
  entries[code] = utf8("raise this is not TorchScript\n");
  archive(
    "bad-code",
    "a TorchScript archive whose Sequential's code is not TorchScript",
    zipSync(Object.fromEntries(Object.entries(entries).map(([n, d]) => [n, [d, { level: 0 }]])) as never),
    /\S*ts\/a\.ts\.pt: not a TorchScript module torch\.jit\.load can run: .+$/,
  );
  archive(
    "data-features",
    "learning rows with 5 features for a TorchScript model of 6 inputs",
    tsA,
    /data\.npz: its rows \(each \[5\]\) do not run through the model: the TorchScript model failed: RuntimeError: mat1 and mat2 shapes cannot be multiplied \(\d+x5 and 6x16\)$/,
    mlpRowsNpz(96, 5),
  );

  // The engine's failures.
  const run = (id: string, what: string, c: Omit<FuzzCase, "id" | "kind" | "what">) =>
    add(`engine-${id}`, "engine", what, c);
  const tsFiles = { ...ts, "in/data.npz": data };
  run("no-python", "--python names no file", {
    files: tsFiles,
    argv: ["learn", "ts", ...learnArgs, "--python", "./no-such-python"],
    expect: refused(/No Python with PyTorch found; tried \.\/no-such-python \(not found\)\. Install PyTorch/),
  });
  run("no-torch", "--python runs a Python whose torch does not import", {
    // Isolated (-I) and without site-packages (-S): the same interpreter with no torch on its path.
    files: { ...tsFiles, "in/python-without-torch": { executable: `#!/bin/sh\nexec "${python}" -I -S "$@"\n` } },
    argv: ["learn", "ts", ...learnArgs, "--python", "./python-without-torch"],
    expect: refused(/No Python with PyTorch found; tried \.\/python-without-torch \(no torch\)\. Install PyTorch/),
  });
  run("killed", "the engine killed (SIGKILL) while it learns", {
    files: tsFiles,
    argv: [
      "learn",
      "ts",
      "--data",
      "data.npz",
      "--steps",
      "1000000",
      "--patience",
      "1000000",
      "--out",
      "@out/soup.pt",
      "--python",
      python,
    ],
    env: { MODEL_SOUP_VERBOSE: "1" }, // "info: PyTorch engine: ..." once torch has imported
    during: killEngine,
    expect: refused(/The PyTorch engine \(pid \d+\) was killed \(SIGKILL: out of memory, or ended from outside\)\.$/),
  });
  // A million rows memory-mapped, in a Python allowed 32 MB more than importing torch took (RLIMIT_AS): the engine
  // cannot allocate what the data and a step need.
  run("out-of-memory", "the engine out of memory (address space 32 MB past torch's import, a million rows)", {
    files: {
      ...ts,
      "in/data.npz": mlpRowsNpz(1_000_000),
      "in/python-32mb": { executable: limitedPython(python, 32) },
    },
    argv: ["learn", "ts", "--data", "data.npz", "--steps", "2", "--batch", "1000000", "--out", "@out/soup.pt"],
    expect: refused(
      /The PyTorch engine( \(pid \d+\) ran out of memory| ran out of memory \(the Python process could not allocate more\))\.$/,
    ),
  });
  out.at(-1)!.argv.push("--python", "./python-32mb");
  return out;
}

/** A stand-in Python that runs engine.py with its address space limited to `mb` MB past what importing torch took. */
function limitedPython(python: string, mb: number): string {
  const prelude = [
    "import resource, runpy, sys, torch",
    'vm = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024',
    `resource.setrlimit(resource.RLIMIT_AS, (vm + ${mb} * 2**20, vm + ${mb} * 2**20))`,
    "sys.argv = sys.argv[1:]",
    'runpy.run_path(sys.argv[0], run_name="__main__")',
  ].join("\n");
  // The probe (python -c ...) runs unlimited; engine.py (python -u engine.py) runs under the limit, on one thread:
  // torch's pool of one thread per core would not start under it on a machine of many cores (libgomp: "Thread
  // creation failed"), whatever the data.
  const threads = "OMP_NUM_THREADS=1 MKL_NUM_THREADS=1";
  return `#!/bin/sh\ncase "$2" in\n*engine.py) ${threads} exec "${python}" -u -c '${prelude}' "$2" ;;\n*) exec "${python}" "$@" ;;\nesac\n`;
}

/**
 * Waits for the run's PyTorch engine to have started (torch imported, its line logged), lets it learn a moment, and
 * kills it (SIGKILL, as the OOM killer would).
 */
async function killEngine(run: RunningCase): Promise<void> {
  const end = Date.now() + 45_000;
  for (;;) {
    const [engine] = run.stderr().includes("PyTorch engine:") ? descendantsRunning(run.pid, "engine.py") : [];
    if (engine !== undefined) {
      await new Promise((r) => setTimeout(r, 1500));
      process.kill(engine, "SIGKILL");
      return;
    }
    if (Date.now() > end) throw new Error(`no PyTorch engine appeared; stderr: ${run.stderr().slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * `learn` on TorchScript models on a machine with no Python at all (without-python.ts): one line saying where it
 * looked and how to get PyTorch. Left out (with a note) where a mount namespace cannot be made.
 */
export function noPythonAnywhereCases(): FuzzCase[] {
  if (!canRunWithoutPython()) {
    console.log("    (the no-Python-anywhere case is left out: `unshare -m` is refused here; CI runs it as root)");
    return [];
  }
  const engine = join(TORCH, "engine");
  return [
    {
      id: "engine-no-python-anywhere",
      kind: "engine",
      what: "learn on TorchScript models where no python3 or python exists on PATH or in any system folder",
      files: {
        "in/ts/a.ts.pt": read(engine, "mlp_ft0.ts.pt"),
        "in/ts/b.ts.pt": read(engine, "mlp_ft1.ts.pt"),
        "in/data.npz": mlpRowsNpz(96),
      },
      argv: ["learn", "ts", "--data", "data.npz", "--steps", "2", "--out", "@out/soup.pt"],
      withoutPython: true,
      expect: {
        exit: 2,
        line: /^model-soup learn: No Python found: no python3 or python on PATH or in \/usr\/bin, .*Install Python 3 with PyTorch/,
      },
    },
  ];
}

/** The misuses of the options that run models, and the PyTorch engine's failures when a Python with torch is given. */
export function misuseCases(python: string | undefined): FuzzCase[] {
  return [...tfjsOptionCases(), ...(python !== undefined ? torchEngineCases(python) : []), ...noPythonAnywhereCases()];
}
