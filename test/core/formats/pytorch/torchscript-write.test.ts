/**
 * Merged TorchScript ingredients written as TorchScript: the template's archive copied entry by entry, only the
 * named tensors' storages rewritten in place. Real torch (when it is installed) loads the output with
 * torch.jit.load and must give the outputs of a plain-torch average of the ingredients loaded into the first module.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { unzipSync, zipSync } from "fflate";
import { analyzeManifests } from "../../../../src/core/architecture/analyze.js";
import { ModelFileError } from "../../../../src/core/errors.js";
import { openModel, readManifest, writeModel } from "../../../../src/core/formats/registry.js";
import { ZipArchive } from "../../../../src/core/io/zip.js";
import { readTorchCheckpoint } from "../../../../src/core/formats/pytorch/checkpoint.js";
import { resolveOutputTarget } from "../../../../src/core/io/output-target.js";
import type { MergeSpec } from "../../../../src/core/merge/spec.js";
import { type ProgressUnit, mergeModelFiles } from "../../../../src/core/soup/merge-files.js";

const ENGINE = join("test", "fixtures", "pytorch", "engine");
const SHARED = join("test", "fixtures", "pytorch", "torchscript");
const MLP = [0, 1, 2].map((i) => join(ENGINE, `mlp_ft${i}.ts.pt`));
const CONV = [0, 1].map((i) => join(ENGINE, `conv_ft${i}.ts.pt`));
const TIED = [join(SHARED, "tied_a.ts.pt"), join(SHARED, "tied_b.ts.pt")];
const UNTIED = join(SHARED, "untied.ts.pt");
const LISTED = [join(SHARED, "listed_a.ts.pt"), join(SHARED, "listed_b.ts.pt")];
const REFERENCE = join("test", "support", "torchscript_reference.py");

/** /usr/bin/python3 (or python3) with torch, or why there is none. */
function torchPython(): { python?: string; reason?: string } {
  for (const python of ["/usr/bin/python3", "python3"]) {
    if (spawnSync(python, ["-c", "import torch"], { stdio: "ignore", timeout: 60_000 }).status === 0) return { python };
  }
  return { reason: "no Python with torch (tried /usr/bin/python3, python3): torch.jit.load checks skipped" };
}

interface ReferenceCheck {
  keys: boolean;
  state_diff: number;
  output_diff: number;
  differs_from_first: number;
  integers_equal: boolean;
}

function referenceCheck(python: string, output: string, shape: string, ingredients: string[]): ReferenceCheck {
  const out = execFileSync(python, [REFERENCE, output, shape, ...ingredients], { encoding: "utf8", timeout: 120_000 });
  return JSON.parse(out.trim().split("\n").pop()!) as ReferenceCheck;
}

const uniform = (paths: string[]): MergeSpec => ({
  method: "uniform",
  params: {},
  ingredients: paths.map((path) => ({ path })),
});

/** Each entry of a zip as the archive stores it: method, CRC, sizes and the (compressed) bytes, and where they start. */
function rawEntries(path: string) {
  const zip = ZipArchive.open(path);
  try {
    const bytes = readFileSync(path);
    return zip.entries.map((e) => ({
      ...e,
      raw: bytes.subarray(e.dataOffset, e.dataOffset + e.compressedSize),
    }));
  } finally {
    zip.close();
  }
}

describe("PyTorch: merged TorchScript written as TorchScript", function () {
  this.timeout(180_000);
  const torch = torchPython();
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), "model-soup-ts-write-"))));
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  const merge = async (paths: string[], file: string) => {
    const units = new Set<ProgressUnit>();
    const target = join(dir, file);
    await mergeModelFiles({ spec: uniform(paths), target, onProgress: (_d, _t, unit) => units.add(unit) });
    return { target, units: [...units] };
  };

  for (const [label, paths, shape] of [
    ["two MLP fine-tunes with BatchNorm", MLP.slice(0, 2), "6"],
    ["three MLP fine-tunes", MLP, "6"],
    ["two Conv1D fine-tunes", CONV, "2,8"],
    ["two MLPs with tied weights and two views of one storage", TIED, "4"],
  ] as const) {
    it(`merges ${label}: the template's entries as they were, its storages in place, torch.jit.load runs it`, async function () {
      const { target, units } = await merge([...paths], "soup.pt");
      assert.deepEqual(units, ["tensors"]);
      const before = rawEntries(paths[0]);
      const after = rawEntries(target);
      assert.deepEqual(
        after.map((e) => e.name),
        before.map((e) => e.name),
        "every entry, in the template's order",
      );
      const template = await readManifest(paths[0]);
      const storages = new Set([...readTorchCheckpoint(paths[0]).tensors.values()].map((t) => t.entry.name));
      let rewritten = 0;
      for (let i = 0; i < after.length; i++) {
        const [a, b] = [before[i]!, after[i]!];
        assert.equal(b.dataOffset % 64, 0, `${b.name} starts at a multiple of 64 bytes`);
        if (b.method === 0) assert.equal(crc32(b.raw), b.crc32, `${b.name}'s CRC-32 is its bytes'`);
        if (storages.has(a.name)) {
          assert.equal(b.method, 0, `${b.name} is stored`);
          assert.equal(b.size, a.size, `${b.name} keeps its size`);
          if (!Buffer.from(a.raw).equals(Buffer.from(b.raw))) rewritten++;
        } else {
          assert.equal(b.method, a.method, b.name);
          assert.equal(b.crc32, a.crc32, b.name);
          assert.ok(Buffer.from(a.raw).equals(Buffer.from(b.raw)), `${b.name} is copied as it is`);
        }
      }
      assert.ok(rewritten > 0, "some storages hold merged values");
      const written = await readManifest(target);
      assert.equal(written.metadata.torchscript, true);
      assert.deepEqual(written.tensors, template.tensors);
      // The Model Explorer groups it with its ingredients, as the same architecture.
      const analysis = analyzeManifests([template, written]);
      assert.equal(analysis.groups.length, 1);
      assert.equal(analysis.models[1]!.status, "compatible");
      if (!torch.python) {
        console.log(`      (${torch.reason})`);
        return;
      }
      const check = referenceCheck(torch.python, target, shape, [...paths]);
      assert.ok(check.keys, "the same state-dict entries");
      assert.ok(check.integers_equal, "integer entries (num_batches_tracked) are the first ingredient's");
      assert.ok(check.state_diff < 1e-6, `state dict within 1e-6 of the plain-torch average (${check.state_diff})`);
      assert.ok(check.output_diff < 1e-5, `outputs within 1e-5 of the reference's (${check.output_diff})`);
      assert.ok(check.differs_from_first > 1e-4, "the soup is not the first ingredient");
    });
  }

  it("writes storages stored from a re-zipped (deflated) template, its other entries copied compressed", async function () {
    const entries = unzipSync(readFileSync(MLP[0]!));
    const deflated = join(dir, "deflated.ts.pt");
    await writeFile(
      deflated,
      zipSync(Object.fromEntries(Object.entries(entries).map(([n, d]) => [n, [d, { level: 6 }]])) as never),
    );
    assert.ok(rawEntries(deflated).every((e) => e.method === 8 || e.size === 0 || e.compressedSize === e.size));
    const { target } = await merge([deflated, MLP[1]!], "soup.pt");
    const before = rawEntries(deflated);
    const after = rawEntries(target);
    for (let i = 0; i < after.length; i++) {
      if (/\/data\/\d+$/.test(after[i]!.name)) assert.equal(after[i]!.method, 0, after[i]!.name);
      else assert.ok(Buffer.from(before[i]!.raw).equals(Buffer.from(after[i]!.raw)), after[i]!.name);
    }
    if (!torch.python) return console.log(`      (${torch.reason})`);
    const check = referenceCheck(torch.python, target, "6", [MLP[0]!, MLP[1]!]);
    assert.ok(check.output_diff < 1e-5, `outputs within 1e-5 of the reference's (${check.output_diff})`);
  });

  it("keeps tensors the source leaves alone byte for byte, and asks the source once per tensor", async () => {
    const target = join(dir, "kept.pt");
    const asked: string[] = [];
    await writeModel(MLP[0]!, target, async (info) => {
      asked.push(info.name);
      return info.name === "0.bias" ? new Float32Array(16).fill(0.25) : undefined;
    });
    const template = await readManifest(MLP[0]!);
    assert.deepEqual([...asked].sort(), template.tensors.map((t) => t.name).sort());
    const [a, b] = [await openModel(MLP[0]!), await openModel(target)];
    try {
      for (const t of template.tensors) {
        const x = (await a.readTensor(t.name)).data;
        const y = (await b.readTensor(t.name)).data;
        if (t.name === "0.bias") assert.deepEqual(Array.from(y as Float32Array), new Array(16).fill(0.25));
        else assert.deepEqual(y, x, t.name);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("writes the overrides a learned soup gives (re-estimated BatchNorm statistics) into the TorchScript output", async () => {
    const target = join(dir, "learned.pt");
    const mean = Array.from({ length: 16 }, (_, i) => i / 8 - 1);
    await mergeModelFiles({ spec: uniform(MLP.slice(0, 2)), target, overrides: { "1.running_mean": mean } });
    const model = await openModel(target);
    try {
      assert.equal(model.manifest.metadata.torchscript, true);
      assert.deepEqual(Array.from((await model.readTensor("1.running_mean")).data as Float32Array), mean);
    } finally {
      await model.close();
    }
  });

  const refuses = async (work: () => Promise<unknown>, file: string, pattern: RegExp) => {
    await assert.rejects(work, (error: Error) => {
      assert.ok(error instanceof ModelFileError, String(error));
      assert.ok(error.message.startsWith(file), error.message);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes("\n"), "one line");
      return true;
    });
    assert.deepEqual(await readdir(dir), [], "nothing written");
  };

  it("refuses, in one line naming the template and writing nothing, a storage whose tensors' new values disagree", async () => {
    // tied_a stores a.weight and b.weight once; merged with an untied model they differ.
    await refuses(() => merge([TIED[0]!, UNTIED], "soup.pt"), TIED[0]!, /"a\.weight" and "b\.weight" sharing storage/);
    // One of two tied tensors changed, the other kept: the storage cannot hold both.
    await refuses(
      () =>
        writeModel(TIED[0]!, join(dir, "x.pt"), async (info) =>
          info.name === "a.weight" ? new Float32Array(16) : undefined,
        ),
      TIED[0]!,
      /sharing storage/,
    );
    // The untied model as template has a storage of its own per tensor: that merge is fine.
    await merge([UNTIED, TIED[0]!], "ok.pt");
    await rm(join(dir, "ok.pt"));
  });

  it("refuses a storage that a tensor outside the named attributes also holds (a List[Tensor] attribute)", async () => {
    await refuses(() => merge(LISTED, "soup.pt"), LISTED[0]!, /outside the modules' attributes/);
  });

  it("refuses a template with an entry whose name leaves the archive, writing nothing where that name points", async () => {
    const entries = unzipSync(readFileSync(MLP[0]!));
    const hostile = join(dir, "in", "hostile.ts.pt");
    await mkdir(join(dir, "in"));
    await writeFile(
      hostile,
      zipSync({ ...entries, "mlp_ft0.ts/../../escaped.txt": new TextEncoder().encode("x") } as never, { level: 0 }),
    );
    await assert.rejects(
      () => mergeModelFiles({ spec: uniform([hostile, MLP[1]!]), target: join(dir, "out", "soup.pt") }),
      (error: Error) => error instanceof ModelFileError && /absolute path or "\.\."/.test(error.message),
    );
    assert.deepEqual(await readdir(dir), ["in"]);
    assert.deepEqual(await readdir(join(dir, "in")), ["hostile.ts.pt"]);
  });

  it("chooses the format from the ingredients: .pt and folders hold TorchScript, .safetensors streams", async () => {
    const file = await resolveOutputTarget(join(dir, "soup.pt"), MLP[0]!);
    assert.equal(file.format, "pytorch");
    const folder = await resolveOutputTarget(join(dir, "out"), MLP[0]!);
    assert.equal(folder.model, join(dir, "out", "model.pt"));
    assert.equal(folder.format, "pytorch");
    const stateDicts = await resolveOutputTarget(join(dir, "out"), join(ENGINE, "mlp_ft0.pt"));
    assert.equal(stateDicts.model, join(dir, "out", "model.safetensors"), "state dicts stay safetensors by default");
    const streamed = await merge(MLP.slice(0, 2), "soup.safetensors");
    assert.deepEqual(streamed.units, ["bytes"]);
    assert.equal((await readManifest(streamed.target)).format, "safetensors");
    const stateDict = await merge([join(ENGINE, "mlp_ft0.pt"), join(ENGINE, "mlp_ft1.pt")], "sd.pt");
    assert.ok(!rawEntries(stateDict.target).some((e) => e.name.includes("/code/")), "a state dict stays one");
  });
});

describe("a safetensors file whose header length starts like a pickle", () => {
  it("is read as safetensors, not refused as a bare pickle (a 0x280-byte header starts 80 02)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "model-soup-st-head-"));
    try {
      const json = JSON.stringify({ w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } });
      const header = new TextEncoder().encode(json.padEnd(0x280, " "));
      const bytes = new Uint8Array(8 + header.length + 8);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
      bytes.set(header, 8);
      assert.deepEqual([bytes[0], bytes[1]], [0x80, 0x02]);
      const path = join(dir, "w.safetensors");
      await writeFile(path, bytes);
      const manifest = await readManifest(path);
      assert.equal(manifest.format, "safetensors");
      assert.deepEqual(
        manifest.tensors.map((t) => t.name),
        ["w"],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
