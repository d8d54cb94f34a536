/**
 * A merge whose result the output cannot hold (finite inputs, non-finite or out-of-range merged values) is refused
 * in one line naming the output, and nothing is written: in the per-tensor path (TF.js) and the streamed path
 * (safetensors, float16 range).
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./run-cli.js";

/** A one-tensor float16 safetensors file, every value 60000 (0x7b53), close to float16's largest, 65504. */
async function float16File(path: string): Promise<void> {
  const count = 8;
  const header = Buffer.from(JSON.stringify({ w: { dtype: "F16", shape: [count], data_offsets: [0, 2 * count] } }));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  const data = Buffer.alloc(2 * count);
  for (let i = 0; i < count; i++) data.writeUInt16LE(0x7b53, 2 * i);
  await writeFile(path, Buffer.concat([length, header, data]));
}

describe("model-soup merge refuses a result that overflows its dtype", function () {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-overflow-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("float32 overflow of TF.js weights: one line naming the output, nothing written", async () => {
    const out = join(dir, "tfjs-out");
    const models = ["samples/digits/models/ingredient-1", "samples/digits/models/ingredient-2"];
    const run = await runCli("merge", ...models, "--weights", "3e38,3e38", "--no-normalize", "--out", out);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    assert.match(
      run.stderr,
      /tfjs-out.*overflows float32: \d+ value\(s\) become NaN or infinite although every input value is finite/,
    );
    assert.deepEqual(await readdir(dir), []);
  });

  it("float16 range of a streamed safetensors merge: refused, nothing written", async () => {
    const a = join(dir, "a.safetensors");
    const b = join(dir, "b.safetensors");
    await float16File(a);
    await float16File(b);
    const fine = await runCli("merge", a, b, "--out", join(dir, "mean.safetensors"));
    assert.equal(fine.code, 0, fine.stderr);
    const run = await runCli(
      "merge",
      a,
      b,
      "--weights",
      "1,1",
      "--no-normalize",
      "--out",
      join(dir, "sum.safetensors"),
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /sum\.safetensors.*overflows float16: 8 value\(s\)/);
    assert.deepEqual((await readdir(dir)).sort(), [
      "a.safetensors",
      "b.safetensors",
      "mean.recipe.json",
      "mean.safetensors",
    ]);
  });
});
