/**
 * The Explorer's "Merge Models in Folder" must work in a fresh window: the extension activates for workspaces
 * holding any model file it scans for, and the menu item does not wait for a scan.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MODEL_GLOB } from "../../src/core/io/model-candidates.js";

interface MenuItem {
  command: string;
  when?: string;
  group?: string;
}
const root = join(import.meta.dirname, "..", "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  activationEvents: string[];
  contributes: {
    menus: Record<string, MenuItem[]>;
    viewsWelcome: Array<{ view: string; contents: string; when?: string }>;
  };
};

describe("package.json activation and the Explorer menu", () => {
  it("activates on every model file pattern the Model Explorer scans for (TF.js model.json, not any .json)", () => {
    const patterns = MODEL_GLOB.replace(/^\*\*\/\{|\}$/g, "")
      .split(",")
      .map((p) => (p === "*.json" ? "model.json" : p));
    const contains = pkg.activationEvents
      .filter((e) => e.startsWith("workspaceContains:"))
      .map((e) => e.slice("workspaceContains:".length));
    for (const pattern of patterns) assert.ok(contains.includes(`**/${pattern}`), `activates on **/${pattern}`);
    assert.ok(!contains.includes("**/*.json"), "a folder of plain JSON files does not activate it");
  });

  it("shows Merge Models in Folder on every folder, in a group of its own, before any scan", () => {
    const item = pkg.contributes.menus["explorer/context"]!.find((m) => m.command === "modelSoup.mergeFolder")!;
    assert.equal(item.when, "explorerResourceIsFolder");
    assert.doesNotMatch(item.group ?? "", /modification/, "not among Rename/Delete");
    assert.match(item.group ?? "", /^modelSoup@/);
  });

  it("sets only context keys that a `when` clause of package.json reads", () => {
    const host = join(root, "src", "host");
    const sources = readdirSync(host, { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts"))
      .map((f) => readFileSync(join(host, f), "utf8"))
      .join("\n");
    const keys = [...sources.matchAll(/"setContext",\s*"([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(keys.includes("modelSoup.modelFiles"), `the keys found: ${keys.join(", ")}`);
    const whens = JSON.stringify(pkg.contributes).match(/"when":"[^"]*"/g) ?? [];
    for (const key of keys)
      assert.ok(
        whens.some((w) => new RegExp(`\\b${key.replace(/\./g, "\\.")}\\b`).test(w)),
        `${key} is set but no when clause reads it`,
      );
  });

  it("says the Model Explorer is scanning until the first scan ends, and only then that it found no models", () => {
    const welcome = pkg.contributes.viewsWelcome.filter((w) => w.view === "modelSoup.models");
    const scanning = welcome.find((w) => /Scanning/.test(w.contents));
    const empty = welcome.find((w) => /No models found/.test(w.contents));
    // An unset context key is false: before activation and during the first scan the view says it is scanning.
    assert.equal(scanning?.when, "!modelSoup.scanned");
    // Only a scan that found nothing says so: a tree between a scan's end and its items' arrival shows no text.
    assert.equal(empty?.when, "modelSoup.scanned && modelSoup.noModels");
    assert.equal(welcome.length, 2);
  });
});
