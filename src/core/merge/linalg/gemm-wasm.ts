/**
 * The inner kernel of the blocked matrix product (gemm.ts) in WebAssembly with 128-bit SIMD: each 4 × 4 tile of C
 * is accumulated in eight f64x2 registers over a packed 4-row strip of A and 4-column strip of B, two lanes per
 * instruction where the JavaScript kernel does one. The module is small enough to write out here as bytes (there is
 * no WebAssembly toolchain among the project's dependencies); `wasmKernel()` is undefined where WebAssembly or its
 * SIMD is missing, and gemm.ts then runs its JavaScript kernel.
 *
 * kernel(pa, pb, pc, rowStrips, colStrips, kb, diagonal): for strip r < rowStrips of A (at pa, kb·4 doubles each)
 * and strip q of B (at pb), from q = max(0, diagonal + r), writes the tile into C (at pc, row-major, colStrips·4
 * doubles a row). Addresses are byte offsets in the module's memory.
 */

import { I32, MODULE_HEADER, name, section, signed, simdOp, unsigned, V128 } from "../../wasm-encoding.js";

const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...unsigned(depth)],
  brIf: (depth: number) => [0x0d, ...unsigned(depth)],
  select: [0x1b],
  get: (i: number) => [0x20, ...unsigned(i)],
  set: (i: number) => [0x21, ...unsigned(i)],
  tee: (i: number) => [0x22, ...unsigned(i)],
  i32: (v: number) => [0x41, ...signed(v)],
  ltS: [0x48],
  ltU: [0x49],
  geU: [0x4f],
  add: [0x6a],
  mul: [0x6c],
  shl: [0x74],
  load: (offset: number) => simdOp(0x00, 3, ...unsigned(offset)),
  loadSplat: (offset: number) => simdOp(0x0a, 3, ...unsigned(offset)),
  store: (offset: number) => simdOp(0x0b, 3, ...unsigned(offset)),
  zero: simdOp(0x0c, ...Array<number>(16).fill(0)),
  f64x2Add: simdOp(0xf0),
  f64x2Mul: simdOp(0xf2),
};

// Parameters 0–6, then i32 locals 7–15, then v128 locals 16–26.
const [PA, PB, PC, ROWS, COLS, KB, DIAGONAL] = [0, 1, 2, 3, 4, 5, 6];
const [R, Q, ABASE, APTR, BPTR, END, CPTR, ROWSTRIDE, STRIPBYTES] = [7, 8, 9, 10, 11, 12, 13, 14, 15];
const ACC = [16, 17, 18, 19, 20, 21, 22, 23];
const [B01, B23, T] = [24, 25, 26];

function kernelBody(): number[] {
  const code: number[] = [];
  const emit = (...parts: number[][]) => parts.forEach((p) => code.push(...p));
  emit(op.get(KB), op.i32(5), op.shl, op.set(STRIPBYTES));
  emit(op.get(COLS), op.i32(5), op.shl, op.set(ROWSTRIDE));
  emit(op.i32(0), op.set(R));
  emit(op.block, op.loop);
  emit(op.get(R), op.get(ROWS), op.geU, op.brIf(1));
  emit(op.get(PA), op.get(R), op.get(STRIPBYTES), op.mul, op.add, op.set(ABASE));
  // q = max(0, diagonal + r)
  emit(op.i32(0), op.get(DIAGONAL), op.get(R), op.add, op.tee(Q), op.get(Q), op.i32(0), op.ltS, op.select, op.set(Q));
  emit(op.block, op.loop);
  emit(op.get(Q), op.get(COLS), op.geU, op.brIf(1));
  emit(op.get(ABASE), op.set(APTR));
  emit(op.get(ABASE), op.get(STRIPBYTES), op.add, op.set(END));
  emit(op.get(PB), op.get(Q), op.get(STRIPBYTES), op.mul, op.add, op.set(BPTR));
  for (const acc of ACC) emit(op.zero, op.set(acc));
  emit(op.loop);
  emit(op.get(BPTR), op.load(0), op.set(B01));
  emit(op.get(BPTR), op.load(16), op.set(B23));
  for (let i = 0; i < 4; i++) {
    emit(op.get(APTR), op.loadSplat(8 * i), op.set(T));
    emit(op.get(ACC[2 * i]!), op.get(T), op.get(B01), op.f64x2Mul, op.f64x2Add, op.set(ACC[2 * i]!));
    emit(op.get(ACC[2 * i + 1]!), op.get(T), op.get(B23), op.f64x2Mul, op.f64x2Add, op.set(ACC[2 * i + 1]!));
  }
  emit(op.get(APTR), op.i32(32), op.add, op.set(APTR));
  emit(op.get(BPTR), op.i32(32), op.add, op.set(BPTR));
  emit(op.get(APTR), op.get(END), op.ltU, op.brIf(0));
  emit(op.end);
  // The tile's four rows of C.
  emit(op.get(PC), op.get(R), op.i32(2), op.shl, op.get(ROWSTRIDE), op.mul, op.add);
  emit(op.get(Q), op.i32(5), op.shl, op.add, op.set(CPTR));
  for (let i = 0; i < 4; i++) {
    emit(op.get(CPTR), op.get(ACC[2 * i]!), op.store(0));
    emit(op.get(CPTR), op.get(ACC[2 * i + 1]!), op.store(16));
    if (i < 3) emit(op.get(CPTR), op.get(ROWSTRIDE), op.add, op.set(CPTR));
  }
  emit(op.get(Q), op.i32(1), op.add, op.set(Q), op.br(0));
  emit(op.end, op.end);
  emit(op.get(R), op.i32(1), op.add, op.set(R), op.br(0));
  emit(op.end, op.end);
  return code;
}

function moduleBytes(pages: number): Uint8Array {
  const body = [...unsigned(2), ...unsigned(9), I32, ...unsigned(11), V128, ...kernelBody(), ...op.end];
  return Uint8Array.from([
    ...MODULE_HEADER,
    ...section(1, [...unsigned(1), 0x60, ...unsigned(7), ...Array<number>(7).fill(I32), ...unsigned(0)]),
    ...section(3, [...unsigned(1), ...unsigned(0)]),
    ...section(5, [...unsigned(1), 0x00, ...unsigned(pages)]),
    ...section(7, [...unsigned(2), ...name("kernel"), 0x00, ...unsigned(0), ...name("memory"), 0x02, ...unsigned(0)]),
    ...section(10, [...unsigned(1), ...unsigned(body.length), ...body]),
  ]);
}

export interface WasmKernel {
  kernel: (pa: number, pb: number, pc: number, rows: number, cols: number, kb: number, diagonal: number) => void;
  memory: { buffer: ArrayBuffer };
}

/** The part of the WebAssembly global used here (the project's TypeScript lib declares none of it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}

let cached: WasmKernel | null | undefined;

/** The compiled kernel with a memory of `bytes` (at least), or undefined where WebAssembly SIMD is unavailable. */
export function wasmKernel(bytes: number): WasmKernel | undefined {
  if (cached === undefined) {
    try {
      const wasm = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
      if (wasm === undefined) throw new Error("no WebAssembly");
      const instance = new wasm.Instance(new wasm.Module(moduleBytes(Math.ceil(bytes / 65536))));
      cached = instance.exports as WasmKernel;
    } catch {
      cached = null;
    }
  }
  return cached ?? undefined;
}
