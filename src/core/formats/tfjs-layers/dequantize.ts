import { float16BitsToFloat } from "../../convert.js";
import type { TensorArray } from "../../tensor.js";
import type { WeightEntry } from "./model-json.js";

/** Decodes quantized weight bytes the way tfjs-core's decodeWeight does (value = q * scale + min). */
export function dequantize(entry: WeightEntry, bytes: Uint8Array): TensorArray {
  const q = entry.quantization!;
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
  const stored =
    q.dtype === "uint8" ? aligned : new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
  const n = stored.length;
  if (q.dtype === "float16") {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = float16BitsToFloat(stored[i]!);
    return out;
  }
  const scale = q.scale!;
  const min = q.min!;
  if (entry.dtype === "int32") {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.round(stored[i]! * scale + min);
    return out;
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = stored[i]! * scale + min;
  return out;
}
