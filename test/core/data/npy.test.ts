import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ModelFileError } from "../../../src/core/errors.js";
import { toFloat32 } from "../../../src/core/convert.js";
import { parseNpy } from "../../../src/core/data/npy.js";
import { NUMPY_FIXTURES, bytesOf, f32, npyBytes } from "./helpers.js";

const fixture = (name: string) => new Uint8Array(readFileSync(join(NUMPY_FIXTURES, name)));
const expected = JSON.parse(readFileSync(join(NUMPY_FIXTURES, "expected.json"), "utf8"));

function throwsNaming(bytes: Uint8Array, file: string, fragment: string | RegExp): void {
  assert.throws(
    () => parseNpy(bytes, file),
    (e: unknown) =>
      e instanceof ModelFileError &&
      e.message.startsWith(`${file}: `) &&
      (typeof fragment === "string" ? e.message.includes(fragment) : fragment.test(e.message)),
  );
}

describe("npy reader", () => {
  it("reads files written by NumPy's np.save, value for value", () => {
    const x = parseNpy(fixture("x.npy"), "x.npy");
    assert.equal(x.descr, "<f4");
    assert.deepEqual(x.shape, expected.xShape);
    assert.deepEqual(Array.from(x.data as Float32Array), expected.x.map(Math.fround));
    const y = parseNpy(fixture("y.npy"), "y.npy");
    assert.equal(y.dtype, "int64");
    assert.deepEqual(Array.from(y.data as BigInt64Array, Number), expected.y);
    for (const name of ["bool", "int16", "uint32", "float16"] as const) {
      const a = parseNpy(fixture(`${name}.npy`), name);
      assert.deepEqual(Array.from(toFloat32(a.data, a.dtype)), (expected[name] as number[]).map(Math.fround), name);
    }
    assert.deepEqual(parseNpy(fixture("bool.npy"), "b").shape, [2, 3]);
  });

  it("reads format versions 1.0, 2.0 and 3.0 and every listed dtype", () => {
    const cases: [string, ArrayBufferView, number[]][] = [
      ["<f4", new Float32Array([1.5, -2]), [1.5, -2]],
      ["<f8", new Float64Array([1e300, -0.25]), [Infinity, -0.25]],
      ["|i1", new Int8Array([-128, 127]), [-128, 127]],
      ["<i2", new Int16Array([-300, 300]), [-300, 300]],
      ["<i4", new Int32Array([-70000, 70000]), [-70000, 70000]],
      ["<i8", new BigInt64Array([-5n, 1n << 40n]), [-5, 2 ** 40]],
      ["|u1", new Uint8Array([0, 255]), [0, 255]],
      ["<u2", new Uint16Array([0, 65535]), [0, 65535]],
      ["<u4", new Uint32Array([0, 4e9]), [0, 4e9]],
      ["<u8", new BigUint64Array([0n, 7n]), [0, 7]],
      ["|b1", new Uint8Array([1, 0]), [1, 0]],
    ];
    for (const version of [1, 2, 3] as const) {
      for (const [descr, data, values] of cases) {
        const a = parseNpy(npyBytes(descr, [2], bytesOf(data), { version }), "t.npy");
        assert.deepEqual(a.shape, [2]);
        assert.deepEqual(Array.from(toFloat32(a.data, a.dtype)), values.map(Math.fround), `${descr} v${version}`);
      }
    }
  });

  it("reads scalars and empty arrays by their shape", () => {
    assert.deepEqual(parseNpy(npyBytes("<f4", [], f32([3])), "s").shape, []);
    assert.equal(parseNpy(npyBytes("<f4", [0, 4], new Uint8Array()), "e").data.length, 0);
  });

  it("refuses a bad magic, an empty file and unknown versions, naming the file", () => {
    throwsNaming(new TextEncoder().encode("PK\x03\x04 not npy at all"), "a.npy", '"\\x93NUMPY"');
    throwsNaming(new Uint8Array(), "empty.npy", "the file is empty");
    const v4 = npyBytes("<f4", [1], f32([1]));
    v4[6] = 4;
    throwsNaming(v4, "v4.npy", "version 4.0 (expected 1.0, 2.0 or 3.0)");
  });

  it("refuses truncated files before allocating: header cut off, data cut off", () => {
    const whole = npyBytes("<f4", [100, 10], new Uint8Array(4000));
    throwsNaming(whole.subarray(0, 40), "t.npy", /header claims \d+ bytes but the file has 40 bytes/);
    throwsNaming(
      whole.subarray(0, whole.length - 1),
      "t.npy",
      "shape [100, 10] of <f4 needs 4000 data bytes but only 3999 follow",
    );
    // A header that promises an enormous array: refused by size, nothing that large is allocated.
    throwsNaming(
      npyBytes("<f8", [1e9, 1e9], new Uint8Array(8)),
      "huge.npy",
      "needs 8000000000000000000 data bytes but only 8 follow",
    );
    throwsNaming(npyBytes("<f4", [1], new Uint8Array(8)), "long.npy", "needs 4 data bytes but 8 follow");
  });

  it("refuses unsupported dtypes, Fortran order and big-endian data with what is supported", () => {
    throwsNaming(
      fixture("strings.npy"),
      "strings.npy",
      "unsupported dtype '<U1' (supported: <f2 <f4 <f8 <i1..<i8 <u1..<u8 |b1)",
    );
    throwsNaming(npyBytes("<c8", [1], new Uint8Array(8)), "c.npy", "unsupported dtype '<c8'");
    throwsNaming(fixture("fortran.npy"), "fortran.npy", "Fortran order; only C order is supported");
    throwsNaming(fixture("big-endian.npy"), "big.npy", "big-endian dtype '>f4' is not supported");
    throwsNaming(npyBytes("|u1", [2, "x" as never], new Uint8Array(2)), "s.npy", "is not a tuple of sizes");
  });
});
