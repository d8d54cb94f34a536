/**
 * The data.pkl of a state dict, as torch.save writes it (pickle protocol 2), using only the opcodes and globals
 * that torch 1.13's `torch.load(weights_only=True)` reads: an OrderedDict of `_rebuild_tensor_v2` calls on
 * storages named by persistent ids "0", "1", ….
 */
import type { DType, TensorInfo } from "../../tensor.js";
import { STORAGE_DTYPES } from "./unpickler.js";

const STORAGE_OF = Object.fromEntries(Object.entries(STORAGE_DTYPES).map(([cls, dtype]) => [dtype, cls])) as Partial<
  Record<DType, string>
>;

export function storageClassOf(dtype: DType): string | undefined {
  return STORAGE_OF[dtype];
}

class PickleBuilder {
  private readonly parts: number[] = [];
  private readonly encoder = new TextEncoder();

  op(...bytes: number[]): this {
    this.parts.push(...bytes);
    return this;
  }

  text(s: string): this {
    for (const b of this.encoder.encode(s)) this.parts.push(b);
    return this;
  }

  global(module: string, name: string): this {
    return this.op(0x63).text(`${module}\n${name}\n`);
  }

  string(s: string): this {
    const bytes = this.encoder.encode(s);
    const n = bytes.length;
    this.op(0x58, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
    for (const b of bytes) this.parts.push(b);
    return this;
  }

  int(n: number): this {
    if (n >= 0 && n < 0x100) return this.op(0x4b, n);
    if (n >= 0 && n < 0x10000) return this.op(0x4d, n & 0xff, n >>> 8);
    if (n >= -0x80000000 && n < 0x80000000)
      return this.op(0x4a, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
    // LONG1: little-endian two's complement, 8 bytes (sizes stay far below 2^63).
    let v = BigInt(n);
    const bytes: number[] = [];
    for (let i = 0; i < 8; i++) {
      bytes.push(Number(v & 0xffn));
      v >>= 8n;
    }
    return this.op(0x8a, 8, ...bytes);
  }

  tuple(values: readonly number[]): this {
    this.op(0x28);
    for (const v of values) this.int(v);
    return this.op(0x74);
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = step;
    step *= shape[i]!;
  }
  return strides;
}

const BATCH = 1000;

/** data.pkl for `tensors` in order, tensor i in storage "i" (contiguous, offset 0, on the CPU). */
export function stateDictPickle(tensors: readonly TensorInfo[]): Uint8Array {
  const p = new PickleBuilder();
  p.op(0x80, 2).global("collections", "OrderedDict").op(0x29, 0x52);
  for (let start = 0; start < tensors.length; start += BATCH) {
    p.op(0x28);
    tensors.slice(start, start + BATCH).forEach((info, j) => {
      const numel = info.shape.reduce((a, b) => a * b, 1);
      p.string(info.name).global("torch._utils", "_rebuild_tensor_v2").op(0x28);
      p.op(0x28)
        .string("storage")
        .global("torch", storageClassOf(info.dtype)!)
        .string(String(start + j));
      p.string("cpu").int(numel).op(0x74, 0x51);
      p.int(0).tuple(info.shape).tuple(contiguousStrides(info.shape)).op(0x89);
      p.global("collections", "OrderedDict").op(0x29, 0x52, 0x74, 0x52);
    });
    p.op(0x75);
  }
  return p.op(0x2e).bytes();
}
