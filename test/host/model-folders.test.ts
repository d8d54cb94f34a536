import assert from "node:assert/strict";
import { modelFolders } from "../../src/host/model-folders.js";

describe("host/model-folders (where Merge Models in Folder is offered)", () => {
  it("lists each model's folder and its ancestors up to the workspace folder, and no other folder", () => {
    const folders = modelFolders(
      [
        "/w/samples/digits/models/ingredient-1/model.json",
        "/w/samples/digits/models/ingredient-2/model.json",
        "/w/ckpt/a.h5",
        "/elsewhere/b.h5",
      ],
      ["/w"],
    );
    assert.deepEqual(folders.sort(), [
      "/w",
      "/w/ckpt",
      "/w/samples",
      "/w/samples/digits",
      "/w/samples/digits/models",
      "/w/samples/digits/models/ingredient-1",
      "/w/samples/digits/models/ingredient-2",
    ]);
  });
  it("does not take a sibling whose name starts like the workspace folder for part of it", () => {
    assert.deepEqual(modelFolders(["/w2/m.keras"], ["/w"]), []);
  });
});
