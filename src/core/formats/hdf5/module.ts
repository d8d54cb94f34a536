import type H5wasm from "h5wasm/node";

export type H5Module = Awaited<typeof H5wasm.ready>;
/** An open HDF5 file (h5wasm's File). */
export type H5File = InstanceType<typeof H5wasm.File>;

let ready: Promise<H5Module> | undefined;
let loaded: H5Module | undefined;

/**
 * h5wasm's classes (File, Group, Dataset), set once h5wasmReady() resolved; every HDF5 object exists only after
 * that. Loaded on first use, not when this module loads: instantiating its WebAssembly costs ~70 ms of CPU, which
 * a process that never opens an HDF5 file (a safetensors merge, `--help`) should not pay.
 */
export let h5wasm: typeof H5wasm;

/**
 * The h5wasm module, loaded once. Its Node build is compiled with NODERAWFS: it opens host paths directly and
 * reads only the parts of a file HDF5 asks for, so a manifest read touches headers, not tensor data.
 * HDF5 errors are turned into exceptions (by default they are printed to stderr and the call goes on).
 */
export function h5wasmReady(): Promise<H5Module> {
  ready ??= import("h5wasm/node")
    .then((imported) => {
      h5wasm = imported.default;
      return h5wasm.ready;
    })
    .then((module) => {
      module.activate_throwing_error_handler();
      loaded = module;
      return module;
    });
  return ready;
}

/** The loaded module, for the raw read/write calls; only valid after h5wasmReady() resolved (any open file implies it). */
export function h5module(): H5Module {
  if (!loaded) throw new Error("h5wasm used before h5wasmReady() resolved");
  return loaded;
}
