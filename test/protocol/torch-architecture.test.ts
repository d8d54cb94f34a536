import assert from "node:assert/strict";
import { torchArchitecture, withResolvedFile } from "../../src/protocol/torch-architecture.js";

describe("torchArchitecture", () => {
  it("tells the four PyTorch forms apart from a Keras architecture file", () => {
    assert.deepEqual(torchArchitecture("torchvision:resnet18"), {
      kind: "torchvision",
      spec: "torchvision:resnet18",
      name: "resnet18",
    });
    assert.equal(torchArchitecture("C:\\models\\build.py:build")?.kind, "file");
    assert.equal(torchArchitecture("my.models:build")?.kind, "module");
    assert.equal(torchArchitecture("model.json"), undefined);
  });

  it("huggingface:<folder> keeps the whole rest as the folder (colons included), and is resolved like a file", () => {
    assert.deepEqual(torchArchitecture("huggingface:C:\\hf\\bert"), {
      kind: "huggingface",
      spec: "huggingface:C:\\hf\\bert",
      folder: "C:\\hf\\bert",
    });
    assert.equal(torchArchitecture("huggingface:"), undefined);
    const resolved = withResolvedFile(torchArchitecture("huggingface:base")!, (f) => `/models/${f}`);
    assert.deepEqual(resolved, { kind: "huggingface", spec: "huggingface:/models/base", folder: "/models/base" });
  });
});
