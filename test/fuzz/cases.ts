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
import type { CaseFile, FuzzCase } from "./harness.js";
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
