import assert from "node:assert/strict";
import { CancellationTokenSource } from "vscode-jsonrpc";
import { throwIfCancelled } from "../../src/core/cancellation.js";
import { CancelledError } from "../../src/core/errors.js";

describe("core/cancellation", () => {
  it("takes vscode-jsonrpc's token as is: passes until a cancel, then throws CancelledError with the message", () => {
    const source = new CancellationTokenSource();
    throwIfCancelled(source.token, "Stopped");
    throwIfCancelled(undefined, "Stopped");
    source.cancel();
    assert.throws(
      () => throwIfCancelled(source.token, "Stopped"),
      (e: unknown) => e instanceof CancelledError && e.message === "Stopped",
    );
  });
});
