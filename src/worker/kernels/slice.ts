// Slice for wasm that copies only the slice. TF.js 4.22's wasm Slice reads its whole input out of the wasm heap
// (`backend.readSync(x.dataId)`: a fresh copy of every element) before it copies the slice, so cutting an n-row
// split into batches costs n²: on 200,000 rows of 64 features, `learn --steps 20` spent 10.6 s of its 29 s in
// that copy (bench/scale/big-data.ts). A contiguous slice (any slice along the first axis: every batch of rows)
// is one copy of its own elements from heap to heap here; other slices go to TF.js's kernel.
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

interface Attrs {
  begin: number | number[];
  size: number | number[];
}

/** Slice for wasm around TF.js's own wasm kernel (`general`), which it calls for a slice that is not contiguous. */
export function sliceConfig(general: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: "Slice",
    backendName: "wasm",
    kernelFunc: (args) => {
      const x = args.inputs.x!;
      const attrs = args.attrs as unknown as Attrs;
      const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size);
      if (x.dtype === "string" || !tf.slice_util.isSliceContinous(x.shape, begin, size))
        return general.kernelFunc(args);
      const backend = args.backend as BackendWasm;
      const offset = tf.slice_util.computeFlatOffset(begin, tf.util.computeStrides(x.shape));
      const count = tf.util.sizeFromShape(size);
      const out = backend.makeOutput(size, x.dtype);
      // Views of the heap only after makeOutput: its allocation may grow the heap, which detaches older views.
      backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(x).subarray(offset, offset + count));
      return out;
    },
  };
}
