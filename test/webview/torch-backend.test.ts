import assert from "node:assert/strict";
import { choiceValues, DEVICE_CHOICES } from "../../src/protocol/choices.js";
import { offeredDevices, torchBackendText } from "../../webview/state.js";

describe("webview/state (the PyTorch backend in Advanced)", () => {
  it("offers the devices the Python found: auto and the CPU always, CUDA and MPS only when there", () => {
    const values = (found?: string[]) => offeredDevices(found).map((c) => c.value);
    assert.deepEqual(values(["cpu"]), ["auto", "cpu"]);
    assert.deepEqual(values(["cpu", "cuda:0", "cuda:1"]), ["auto", "cpu", "cuda"]);
    assert.deepEqual(values(["cpu", "mps"]), ["auto", "cpu", "mps"]);
    // Not found yet: every choice of the one list (the worker says in one line when a device is missing).
    assert.deepEqual(values(undefined), choiceValues(DEVICE_CHOICES));
  });

  it("shows the Python found, else what was tried, else that it is being looked for", () => {
    assert.equal(
      torchBackendText({ label: "PyTorch 2.1.0 on cpu (/venv/bin/python, from setting)" }),
      "PyTorch 2.1.0 on cpu (/venv/bin/python, from setting)",
    );
    assert.match(torchBackendText({ error: "no Python with torch: tried /usr/bin/python3 (no torch)" }), /^no Python/);
    assert.match(torchBackendText(undefined), /looking for Python with torch/);
  });
});
