import assert from "node:assert/strict";
import { FORMATS, formatLabel } from "../../../src/core/formats/registry.js";

describe("format labels", () => {
  it("names each format by its id, long or short, and leaves an unknown id as it is", () => {
    assert.deepEqual(
      FORMATS.map((f) => [f.id, formatLabel(f.id), formatLabel(f.id, true)]),
      [
        ["tfjs-layers", "TF.js layers model", "TF.js"],
        ["keras", "Keras 3 (.keras)", "Keras"],
        ["keras-h5", "Keras HDF5 (.h5)", "Keras H5"],
        ["safetensors", "safetensors", "safetensors"],
        ["pytorch", "PyTorch (.pt, .pth, .bin, .ckpt)", "PyTorch"],
      ],
    );
    assert.equal(formatLabel("onnx"), "onnx");
  });
});
