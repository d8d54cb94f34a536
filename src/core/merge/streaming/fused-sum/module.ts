// The bytes of a small WebAssembly module (SIMD) with the fused weighted sum of a streamed merge's piece: for
// float32, bfloat16 and float16 inputs, decode, Σ w_i·x_i in float64, times a scale, round to float32, check every value
// against a limit, and encode to the output dtype, in one pass over memory. It does in one pass what
// decodeFloatsInto, weightedSumInto, the non-finite checks and encodeFloatsInto do in four, with the same bytes.
//
// The exported functions (one per dtype) have the signature
//   (inputs: i32, table: i32, weights: i32, groups: i32, out: i32, scale: f64, limit: f32) -> i32
// table: `inputs` i32 byte addresses of the inputs' data; weights: `inputs` f64; groups: the number of 4-element
// groups (the caller zero-pads the inputs to whole groups). Returns 1 when every |result| < limit (so no NaN and
// no infinity and, with the bfloat16 limit, nothing that rounds to infinity when stored), 0 otherwise; the
// output is written either way and the caller then redoes the piece on its exact, counting path.
// Written as bytes with named opcodes (wasm-encoding.ts).

import {
  F32,
  F64,
  I32,
  MODULE_HEADER,
  name,
  section,
  signed,
  simdOp,
  unsigned,
  V128,
  vector,
} from "../../../wasm-encoding.js";

const VOID = 0x40;

const op = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  f64Load: 0x2b,
  i32Const: 0x41,
  f32Const: 0x43,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Mul: 0x6c,
  i32Shl: 0x74,
} as const;

/** SIMD instructions: the 0xfd prefix, then the opcode as an unsigned LEB128. */
const simd = {
  load: 0x00,
  load16x4U: 0x04,
  store: 0x0b,
  const: 0x0c,
  shuffle: 0x0d,
  i32x4Splat: 0x11,
  f32x4Splat: 0x13,
  f64x2Splat: 0x14,
  i32x4LtS: 0x39,
  i32x4GtS: 0x3b,
  f32x4Lt: 0x43,
  and: 0x4e,
  or: 0x50,
  bitselect: 0x52,
  store64Lane: 0x5b,
  f32x4DemoteF64x2Zero: 0x5e,
  f64x2PromoteLowF32x4: 0x5f,
  i16x8NarrowI32x4U: 0x86,
  i32x4AllTrue: 0xa3,
  i32x4Shl: 0xab,
  i32x4ShrU: 0xad,
  i32x4Add: 0xae,
  i32x4Sub: 0xb1,
  f32x4Add: 0xe4,
  f32x4Abs: 0xe0,
  f32x4Mul: 0xe6,
  f64x2Add: 0xf0,
  f64x2Mul: 0xf2,
} as const;

const v = simdOp;
/** A memory access with alignment 2^align and offset 0. */
const mem = (align: number) => [align, 0];
const get = (local: number) => [op.localGet, local];
const set = (local: number) => [op.localSet, local];
const i32 = (value: number) => [op.i32Const, ...signed(value | 0)];
const f32 = (value: number) => [op.f32Const, ...new Uint8Array(new Float32Array([value]).buffer)];
/** A 32-bit integer or a float in every lane. */
const i32s = (value: number) => [...i32(value), ...v(simd.i32x4Splat)];
const f32s = (value: number) => [...f32(value), ...v(simd.f32x4Splat)];

// Parameters, then locals.
const INPUTS = 0,
  TABLE = 1,
  WEIGHTS = 2,
  GROUPS = 3,
  OUT = 4,
  SCALE = 5,
  LIMIT = 6;
const J = 7,
  K = 8,
  LO = 9,
  HI = 10,
  VALUES = 11,
  WEIGHT = 12,
  OK = 13,
  TEMP = 14;
const LOCALS = [
  [2, I32],
  [6, V128],
];

/** Lanes 2 and 3 moved to lanes 0 and 1, so promote_low widens the upper half. */
const UPPER_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
/** Lanes 0, 1 of the first operand then lanes 0, 1 of the second: two demoted halves back into one vector. */
const JOIN_LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

/**
 * One function: `loadGroup` pushes the 4 float32 values of input K's group J (address on the stack is computed
 * here), `storeGroup` stores the float32 result vector (on the stack) of group J.
 */
function fusedSum(bytesPerGroup: number, loadGroup: number[], storeGroup: number[]): number[] {
  // address of input K's group J: table[K] + J·bytesPerGroup
  const inputAddress = [
    ...get(TABLE),
    ...get(K),
    ...i32(2),
    op.i32Shl,
    op.i32Add,
    op.i32Load,
    ...mem(2),
    ...get(J),
    ...i32(bytesPerGroup),
    op.i32Mul,
    op.i32Add,
  ];
  const weightOfK = [
    ...get(WEIGHTS),
    ...get(K),
    ...i32(3),
    op.i32Shl,
    op.i32Add,
    op.f64Load,
    ...mem(3),
    ...v(simd.f64x2Splat),
  ];
  // LO += promote(low half)·w; HI += promote(high half)·w
  const accumulate = [
    ...inputAddress,
    ...loadGroup,
    ...set(VALUES),
    ...weightOfK,
    ...set(WEIGHT),
    ...get(LO),
    ...get(VALUES),
    ...v(simd.f64x2PromoteLowF32x4),
    ...get(WEIGHT),
    ...v(simd.f64x2Mul),
    ...v(simd.f64x2Add),
    ...set(LO),
    ...get(HI),
    ...get(VALUES),
    ...get(VALUES),
    ...v(simd.shuffle, ...UPPER_HALF),
    ...v(simd.f64x2PromoteLowF32x4),
    ...get(WEIGHT),
    ...v(simd.f64x2Mul),
    ...v(simd.f64x2Add),
    ...set(HI),
  ];
  // -0 in both float64 lanes: -0 + p = p for every p, so the first product enters the sum exactly as it is.
  const negativeZero = v(simd.const, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x80);
  const body = [
    ...v(simd.const, ...new Array(16).fill(0xff)),
    ...set(OK),
    ...i32(0),
    ...set(J),
    op.block,
    VOID,
    op.loop,
    VOID,
    ...get(J),
    ...get(GROUPS),
    op.i32GeU,
    op.brIf,
    1,
    ...negativeZero,
    ...set(LO),
    ...negativeZero,
    ...set(HI),
    ...i32(0),
    ...set(K),
    op.block,
    VOID,
    op.loop,
    VOID,
    ...get(K),
    ...get(INPUTS),
    op.i32GeU,
    op.brIf,
    1,
    ...accumulate,
    ...get(K),
    ...i32(1),
    op.i32Add,
    ...set(K),
    op.br,
    0,
    op.end,
    op.end,
    // result = float32(LO·scale, HI·scale), checked, then stored
    ...get(LO),
    ...get(SCALE),
    ...v(simd.f64x2Splat),
    ...v(simd.f64x2Mul),
    ...v(simd.f32x4DemoteF64x2Zero),
    ...get(HI),
    ...get(SCALE),
    ...v(simd.f64x2Splat),
    ...v(simd.f64x2Mul),
    ...v(simd.f32x4DemoteF64x2Zero),
    ...v(simd.shuffle, ...JOIN_LOW_HALVES),
    op.localTee,
    VALUES,
    ...v(simd.f32x4Abs),
    ...get(LIMIT),
    ...v(simd.f32x4Splat),
    ...v(simd.f32x4Lt),
    ...get(OK),
    ...v(simd.and),
    ...set(OK),
    ...storeGroup,
    ...get(J),
    ...i32(1),
    op.i32Add,
    ...set(J),
    op.br,
    0,
    op.end,
    op.end,
    ...get(OK),
    ...v(simd.i32x4AllTrue),
  ];
  const locals = vector(LOCALS.map(([count, type]) => [...unsigned(count!), type!]));
  const code = [...locals, ...body, op.end];
  return [...unsigned(code.length), ...code];
}

const FLOAT32 = fusedSum(16, v(simd.load, ...mem(4)), [
  ...get(OUT),
  ...get(J),
  ...i32(16),
  op.i32Mul,
  op.i32Add,
  ...get(VALUES),
  ...v(simd.store, ...mem(4)),
]);

// bfloat16: 4 values are 8 bytes, widened to 32-bit lanes and shifted up; stored rounded to nearest even
// ((x + 0x7fff + ((x >> 16) & 1)) >> 16: no NaN reaches the store unflagged), narrowed to 16 bits.
/** Four 16-bit values (in the low halves of the 32-bit lanes) stored at group J of 8 bytes. */
const store16 = [...v(simd.i16x8NarrowI32x4U), ...v(simd.store64Lane, ...mem(3), 0)];
const outputGroup = (bytes: number) => [...get(OUT), ...get(J), ...i32(bytes), op.i32Mul, op.i32Add];

// bfloat16: 4 values are 8 bytes, widened to 32-bit lanes and shifted up; stored rounded to nearest even
// ((x + 0x7fff + ((x >> 16) & 1)) >> 16: no NaN reaches the store unflagged), narrowed to 16 bits.
const BFLOAT16 = fusedSum(
  8,
  [...v(simd.load16x4U, ...mem(3)), ...i32(16), ...v(simd.i32x4Shl)],
  [
    ...outputGroup(8),
    ...get(VALUES),
    ...i32s(0x7fff),
    ...v(simd.i32x4Add),
    ...get(VALUES),
    ...i32(16),
    ...v(simd.i32x4ShrU),
    ...i32s(1),
    ...v(simd.and),
    ...v(simd.i32x4Add),
    ...i32(16),
    ...v(simd.i32x4ShrU),
    ...get(VALUES),
    ...store16,
  ],
);

// float16 in: the 15 bits below the sign moved up 13 places are the value times 2^-112 as a float32 (subnormals
// included), so one exact multiplication gives it; an infinity or NaN (exponent 31) becomes a NaN, which the
// check flags. float16 out, rounded to nearest even (F. Giesen's float_to_half_fast3_rtne): below 2^-14 by
// adding 0.5 in float32 (the addition rounds), above by integer rounding of the bits. Values past 65520 and
// non-finite ones are flagged before, so no branch is needed for them.
const FLOAT16 = fusedSum(
  8,
  [
    ...v(simd.load16x4U, ...mem(3)),
    op.localSet,
    TEMP,
    ...get(TEMP),
    ...i32s(0x7fff),
    ...v(simd.and),
    op.localTee,
    VALUES,
    ...i32(13),
    ...v(simd.i32x4Shl),
    ...f32s(2 ** 112),
    ...v(simd.f32x4Mul),
    ...get(VALUES),
    ...i32s(0x7bff),
    ...v(simd.i32x4GtS),
    ...v(simd.or),
    ...get(TEMP),
    ...i32s(0x8000),
    ...v(simd.and),
    ...i32(16),
    ...v(simd.i32x4Shl),
    ...v(simd.or),
  ],
  [
    ...outputGroup(8),
    ...get(VALUES),
    ...i32s(0x7fffffff),
    ...v(simd.and),
    op.localSet,
    TEMP,
    // below 2^-14: bits(|x| + 0.5) - bits(0.5)
    ...get(TEMP),
    ...f32s(0.5),
    ...v(simd.f32x4Add),
    ...i32s(126 << 23),
    ...v(simd.i32x4Sub),
    // from 2^-14: (bits + ((15 - 127) << 23) + 0xfff + ((bits >> 13) & 1)) >> 13
    ...get(TEMP),
    ...i32s(((15 - 127) << 23) + 0xfff),
    ...v(simd.i32x4Add),
    ...get(TEMP),
    ...i32(13),
    ...v(simd.i32x4ShrU),
    ...i32s(1),
    ...v(simd.and),
    ...v(simd.i32x4Add),
    ...i32(13),
    ...v(simd.i32x4ShrU),
    ...get(TEMP),
    ...i32s(113 << 23),
    ...v(simd.i32x4LtS),
    ...v(simd.bitselect),
    ...get(VALUES),
    ...i32s(0x80000000),
    ...v(simd.and),
    ...i32(16),
    ...v(simd.i32x4ShrU),
    ...v(simd.or),
    ...get(VALUES),
    ...store16,
  ],
);

/** The largest memory the module accepts, in 64 KiB pages (a shared memory declares one): 4 GiB. */
export const MAX_PAGES = 65536;

/** The module: imports its memory as env.memory, exports sumFloat32, sumBfloat16 and sumFloat16. */
export function fusedSumModuleBytes(): Uint8Array {
  const signature = [0x60, ...vector([[I32], [I32], [I32], [I32], [I32], [F64], [F32]]), ...vector([[I32]])];
  const bytes = [
    ...MODULE_HEADER,
    ...section(1, vector([signature])),
    // a shared memory (flags 3: shared, with a maximum), so buffers in it can be read into and hashed elsewhere
    ...section(2, vector([[...name("env"), ...name("memory"), 0x02, 0x03, ...unsigned(1), ...unsigned(MAX_PAGES)]])),
    ...section(3, vector([[0], [0], [0]])),
    ...section(
      7,
      vector([
        [...name("sumFloat32"), 0x00, 0],
        [...name("sumBfloat16"), 0x00, 1],
        [...name("sumFloat16"), 0x00, 2],
      ]),
    ),
    ...section(10, vector([FLOAT32, BFLOAT16, FLOAT16])),
  ];
  return Uint8Array.from(bytes);
}
