import h5wasm from "h5wasm/node";

export type H5Module = Awaited<typeof h5wasm.ready>;

let ready: Promise<H5Module> | undefined;
let loaded: H5Module | undefined;

/**
 * The h5wasm module, loaded once. Its Node build is compiled with NODERAWFS: it opens host paths directly and
 * reads only the parts of a file HDF5 asks for, so a manifest read touches headers, not tensor data.
 * HDF5 errors are turned into exceptions (by default they are printed to stderr and the call goes on).
 */
export function h5wasmReady(): Promise<H5Module> {
  ready ??= h5wasm.ready.then((module) => {
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

export { h5wasm };
