import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The panel page stays in parts (issue 19): one module per section, none grown back into a single large file. */
const MAX_LINES = 400;

describe("webview modules", () => {
  it(`each file under webview/ has at most ${MAX_LINES} lines`, () => {
    const files = readdirSync("webview", { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    assert.ok(files.length > 5, "the webview is split into modules");
    const long = files
      .map((f) => ({ f, lines: readFileSync(join("webview", f), "utf8").split("\n").length }))
      .filter((x) => x.lines > MAX_LINES);
    assert.deepEqual(long, []);
  });
});
