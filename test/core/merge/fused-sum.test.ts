import assert from "node:assert/strict";
import { floatToBfloat16Bits, floatToFloat16Bits } from "../../../src/core/convert.js";
import { mulberry32 } from "../../../src/core/random.js";
import { FusedSumKernel, type FusedDtype } from "../../../src/core/merge/streaming/fused-sum/kernel.js";
import { decodeFloatsInto, encodeFloatsInto } from "../../../src/core/merge/streaming/decode.js";
import { weightedSumInto } from "../../../src/core/merge/weighted-sum-kernel.js";
import { overflowsOnStore } from "../../../src/core/non-finite.js";

const kernel = FusedSumKernel.create();

/** The raw little-endian bytes of float32 values stored as `dtype`. */
function stored(values: Float32Array, dtype: FusedDtype): Uint8Array {
  if (dtype === "float32") return new Uint8Array(values.slice().buffer);
  const encode = dtype === "bfloat16" ? floatToBfloat16Bits : floatToFloat16Bits;
  return new Uint8Array(Uint16Array.from(values, (v) => encode(v)).buffer);
}

/** What the separate passes give: decode, weightedSumInto, encode; and whether they would take the fast path. */
function separatePasses(raws: Uint8Array[], dtype: FusedDtype, ws: number[], scale: number, length: number) {
  const xs = raws.map((raw) => decodeFloatsInto(raw, dtype, new Float32Array(length)).slice());
  const merged = weightedSumInto(new Float32Array(length), xs, ws, scale);
  const fits = overflowsOnStore(merged, dtype) === 0;
  const encoded = encodeFloatsInto(merged, dtype, new ArrayBuffer(length * 4));
  return { fits, bytes: new Uint8Array(encoded.buffer, encoded.byteOffset, length * (dtype === "float32" ? 4 : 2)) };
}

function fused(raws: Uint8Array[], dtype: FusedDtype, ws: number[], scale: number, length: number) {
  const out = new Uint8Array(length * (dtype === "float32" ? 4 : 2));
  const fits = kernel!.sum(raws, dtype, ws, scale, length, out);
  return { fits, bytes: out };
}

describe("the fused weighted-sum kernel (WebAssembly SIMD)", () => {
  it("is available on this Node", () => {
    assert.ok(kernel, "WebAssembly SIMD should validate on Node 20");
  });

  for (const dtype of ["float32", "bfloat16", "float16"] as const) {
    it(`${dtype}: the same bytes as the separate passes, for 1 to 7 inputs, lengths 1 to 13 and 5000, scale 1 and 1/3`, () => {
      const random = mulberry32(dtype === "float32" ? 7 : 8);
      for (const count of [1, 2, 3, 4, 5, 7]) {
        for (const length of [1, 2, 3, 4, 5, 7, 8, 9, 13, 5000]) {
          const raws = Array.from({ length: count }, () =>
            stored(
              Float32Array.from({ length }, () => (random() - 0.5) * 8),
              dtype,
            ),
          );
          const ws = raws.map(() => random() * 2 - 0.5);
          for (const scale of [1, 1 / 3]) {
            const expected = separatePasses(raws, dtype, ws, scale, length);
            const got = fused(raws, dtype, ws, scale, length);
            assert.equal(got.fits, true);
            assert.deepEqual(Buffer.from(got.bytes), Buffer.from(expected.bytes), `${count} inputs, length ${length}`);
          }
        }
      }
    });

    it(`${dtype}: signed zeros, subnormals and values that round at the last bit come out as the separate passes give`, () => {
      const special = Float32Array.from([
        -0,
        0,
        1e-40,
        -1e-40,
        1.401298464324817e-45,
        1 + 2 ** -8,
        1 + 3 * 2 ** -8,
        -2.5,
      ]);
      const raws = [
        stored(special, dtype),
        stored(
          special.map((v) => -v),
          dtype,
        ),
        stored(special, dtype),
      ];
      for (const ws of [
        [1, 0, 0],
        [0, 1, 0],
        [-1, 0, 0],
        [0.5, 0.25, 0.25],
        [1, 1, 0],
      ]) {
        const expected = separatePasses(raws, dtype, ws, 1, special.length);
        const got = fused(raws, dtype, ws, 1, special.length);
        assert.equal(got.fits, expected.fits);
        assert.deepEqual(Buffer.from(got.bytes), Buffer.from(expected.bytes), `weights ${ws.join(",")}`);
      }
      // One input: -0 times a positive weight stays -0.
      const single = separatePasses(raws.slice(0, 1), dtype, [2], 1, special.length);
      assert.deepEqual(
        Buffer.from(fused(raws.slice(0, 1), dtype, [2], 1, special.length).bytes),
        Buffer.from(single.bytes),
      );
    });

    it(`${dtype}: says when a merged value is NaN, infinite or too large to store, wherever it lies in the piece`, () => {
      for (const bad of [NaN, Infinity, -Infinity]) {
        for (const at of [0, 3, 4, 6]) {
          const values = new Float32Array(7).fill(0.5);
          values[at] = bad;
          const raws = [stored(values, dtype), stored(new Float32Array(7).fill(0.25), dtype)];
          assert.equal(fused(raws, dtype, [0.5, 0.5], 1, 7).fits, false, `${bad} at ${at}`);
        }
      }
      // Finite inputs whose sum leaves the range: float32 overflows past 3.4e38, 16-bit types round to infinity earlier.
      const big = Float32Array.from([1, dtype === "float16" ? 60000 : 3e38, 1]);
      assert.equal(fused([stored(big, dtype), stored(big, dtype)], dtype, [1, 1], 1, 3).fits, false);
      const edge = Float32Array.from([dtype === "float16" ? 65000 : 3.3e38]);
      assert.equal(
        fused([stored(edge, dtype)], dtype, [1.0289], 1, 1).fits,
        separatePasses([stored(edge, dtype)], dtype, [1.0289], 1, 1).fits,
      );
    });
  }

  it("bfloat16: agrees with the separate passes on which values round to infinity when stored, at the boundary", () => {
    // Float32 values on both sides of 3.3961e38, the magnitude from which bfloat16 rounds to infinity.
    const bits = new Uint32Array(64);
    const boundary = new Uint32Array(new Float32Array([3.3961e38]).buffer)[0]!;
    for (let i = 0; i < 64; i++) bits[i] = boundary - 32 + i;
    const values = new Float32Array(bits.buffer);
    // One bfloat16 input of 1 times a weight that is the float32 value: the merged value is that value exactly.
    const one = new Uint8Array(Uint16Array.from([floatToBfloat16Bits(1)]).buffer);
    let flagged = 0;
    for (const value of values) {
      const expected = separatePasses([one], "bfloat16", [value], 1, 1);
      const got = fused([one], "bfloat16", [value], 1, 1);
      assert.equal(got.fits, expected.fits, `value ${value}`);
      if (got.fits) assert.deepEqual(Buffer.from(got.bytes), Buffer.from(expected.bytes));
      if (!got.fits) flagged++;
    }
    assert.ok(flagged > 0 && flagged < values.length, "the values straddle the boundary");
  });

  it("float16: every float16 value in, and float32 values across its range out, as the separate passes give", () => {
    // Every bit pattern as one input of weight 1: finite ones come back as they were, infinities and NaN are flagged.
    const all = new Uint16Array(65536).map((_, i) => i);
    const raw = new Uint8Array(all.buffer);
    const out = new Uint8Array(raw.length);
    assert.equal(kernel!.sum([raw], "float16", [1], 1, all.length, out), false, "the infinities and NaNs are flagged");
    const finite = all.filter((h) => (h & 0x7c00) !== 0x7c00);
    const finiteRaw = new Uint8Array(finite.buffer);
    const finiteOut = new Uint8Array(finiteRaw.length);
    assert.equal(kernel!.sum([finiteRaw], "float16", [1], 1, finite.length, finiteOut), true);
    assert.deepEqual(Buffer.from(finiteOut), Buffer.from(finiteRaw));
    // float32 values from 2^-26 to 2^16 (subnormal float16 results, ties, the top of the range) through weights.
    const random = mulberry32(16);
    const one = new Uint8Array(Uint16Array.from([floatToFloat16Bits(1)]).buffer);
    const values = Float32Array.from({ length: 20000 }, () => (random() < 0.5 ? -1 : 1) * 2 ** (random() * 42 - 26));
    const ties = Float32Array.from({ length: 2000 }, (_, i) => (i + 0.5) * 2 ** -24); // halfway between subnormals
    for (const value of [...values, ...ties]) {
      const expected = separatePasses([one], "float16", [value], 1, 1);
      const got = fused([one], "float16", [value], 1, 1);
      assert.equal(got.fits, expected.fits, `value ${value}`);
      if (got.fits) assert.deepEqual(Buffer.from(got.bytes), Buffer.from(expected.bytes), `value ${value}`);
    }
  });

  it("sums inputs read into its own memory where they lie, also after the memory grew, without changing them", () => {
    const own = FusedSumKernel.create()!;
    const random = mulberry32(5);
    const length = 1001; // not a whole number of groups: the last group reaches into the buffer's slack
    const values = [0, 1, 2].map(() =>
      stored(
        Float32Array.from({ length }, () => random() - 0.5),
        "float16",
      ),
    );
    const buffers = values.map((v) => {
      const buffer = own.allocate(v.length);
      buffer.set(v);
      return buffer.subarray(0, v.length);
    });
    assert.ok(buffers.every((b) => b.buffer instanceof SharedArrayBuffer));
    const expected = separatePasses(values, "float16", [0.5, 0.25, 0.25], 1, length);
    const out = new Uint8Array(length * 2);
    assert.equal(own.sum(buffers, "float16", [0.5, 0.25, 0.25], 1, length, out), true);
    assert.deepEqual(Buffer.from(out), Buffer.from(expected.bytes));
    own.allocate(64 * 1024 * 1024); // grows the memory: the buffers handed out before stay valid
    out.fill(0);
    assert.equal(own.sum(buffers, "float16", [0.5, 0.25, 0.25], 1, length, out), true);
    assert.deepEqual(Buffer.from(out), Buffer.from(expected.bytes));
    buffers.forEach((b, i) => assert.deepEqual(Buffer.from(b), Buffer.from(values[i]!), "inputs unchanged"));
  });

  it("reuses its memory for pieces of any size, growing it when a piece is larger", () => {
    const random = mulberry32(3);
    for (const length of [10, 300000, 17, 1 << 20]) {
      const raws = [0, 1, 2].map(() =>
        stored(
          Float32Array.from({ length }, () => random() - 0.5),
          "bfloat16",
        ),
      );
      const expected = separatePasses(raws, "bfloat16", [0.2, 0.3, 0.5], 1, length);
      assert.deepEqual(
        Buffer.from(fused(raws, "bfloat16", [0.2, 0.3, 0.5], 1, length).bytes),
        Buffer.from(expected.bytes),
      );
    }
  });
});
