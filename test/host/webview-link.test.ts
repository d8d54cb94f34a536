import assert from "node:assert/strict";
import { WebviewLink } from "../../src/host/webview-link.js";

describe("WebviewLink", () => {
  function link() {
    const sent: string[] = [];
    return { sent, link: new WebviewLink<string>(async (m) => (sent.push(m), true)) };
  }

  it("sends nothing before the page said ready", async () => {
    const { sent, link: l } = link();
    assert.equal(await l.post("settings"), false);
    assert.deepEqual(sent, []);
    l.opened();
    assert.equal(await l.post("init"), true);
    assert.deepEqual(sent, ["init"]);
  });

  it("stops sending when the panel is hidden, until the next page says ready", async () => {
    const { sent, link: l } = link();
    l.opened();
    await l.post("init");
    l.lost();
    assert.equal(l.ready, false);
    assert.equal(await l.post("settings"), false, "a message while hidden would reach the next page before its init");
    l.opened();
    await l.post("init");
    assert.deepEqual(sent, ["init", "init"]);
  });
});
