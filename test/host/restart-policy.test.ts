import assert from "node:assert/strict";
import { RestartPolicy } from "../../src/host/restart-policy.js";

describe("host/restart-policy", () => {
  it("allows restarts until the third crash within the window", () => {
    const policy = new RestartPolicy(3, 60_000);
    assert.equal(policy.recordCrash(0), true);
    assert.equal(policy.recordCrash(10_000), true);
    assert.equal(policy.recordCrash(20_000), false);
  });

  it("forgets crashes older than the window", () => {
    const policy = new RestartPolicy(3, 60_000);
    policy.recordCrash(0);
    policy.recordCrash(10_000);
    assert.equal(policy.recordCrash(65_000), true, "the crash at 0 is outside the window");
    assert.equal(policy.recentCrashes, 2);
  });

  it("starts afresh after a reset (the user's Restart Worker)", () => {
    const policy = new RestartPolicy(2, 60_000);
    policy.recordCrash(0);
    assert.equal(policy.recordCrash(1), false);
    policy.reset();
    assert.equal(policy.recordCrash(2), true);
  });
});
