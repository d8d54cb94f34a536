import assert from "node:assert/strict";
import { commonFolder, panelTitle } from "../../src/host/panel-title.js";

describe("host/panel-title (a Merge panel's title names its models' folder)", () => {
  it("gives two families in different folders different titles", () => {
    const kfold = ["/ws/kfold/fold_1.keras", "/ws/kfold/fold_2.keras", "/ws/kfold/fold_3.keras"];
    const other = ["/ws/runs/b/model.json", "/ws/runs/c/model.json", "/ws/runs/a/model.json"];
    const relative = (f: string) => f.replace(/^\/ws\/?/, "");
    assert.equal(panelTitle(kfold, relative), "Merge 3 Models: kfold");
    assert.equal(panelTitle(other, relative), "Merge 3 Models: runs");
    assert.equal(commonFolder(other), "/ws/runs");
  });

  it("shows a folder outside the workspace, or the workspace itself, by its last two names", () => {
    assert.equal(
      panelTitle(["/tmp/x/digits/models/a.h5", "/tmp/x/digits/models/b.h5"]),
      "Merge 2 Models: digits/models",
    );
    assert.equal(
      panelTitle(["/ws/a.h5", "/ws/b.h5"], () => ""),
      "Merge 2 Models: ws",
    );
  });
});
