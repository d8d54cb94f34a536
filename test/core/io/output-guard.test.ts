import assert from "node:assert/strict";
import { cp, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModelFileError } from "../../../src/core/errors.js";
import { guardOutputs } from "../../../src/core/io/output-guard.js";
import { filesOfModels } from "../../../src/core/formats/registry.js";

const refused = (pattern: RegExp) => (e: unknown) => e instanceof ModelFileError && pattern.test(e.message);

describe("core/io/output-guard", () => {
  let dir: string;
  let model: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-guard-"));
    await cp("samples/digits/models/ingredient-1", join(dir, "a"), { recursive: true });
    model = join(dir, "a", "model.json");
    await mkdir(join(dir, "images", "cat"), { recursive: true });
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("protects every file of a model, also through a symbolic link to it", async () => {
    const files = await filesOfModels([model]);
    assert.deepEqual(
      files.map((f) => f.path),
      [model, join(dir, "a", "weights.bin")],
    );
    await symlink(join(dir, "a"), join(dir, "link"));
    await assert.rejects(
      guardOutputs([{ path: join(dir, "link", "weights.bin"), what: "the report" }], files),
      refused(/weights\.bin, a file of the input model/),
    );
  });

  it("refuses an output inside a data folder, and a folder output holding an input; allows a sibling", async () => {
    const data = [{ path: join(dir, "images"), role: "the data images" }];
    await assert.rejects(
      guardOutputs([{ path: join(dir, "images", "cat", "soup.json"), what: "the merged model" }], data),
      refused(/it is inside the data images/),
    );
    await assert.rejects(
      guardOutputs(
        [{ path: join(dir, "model.json"), what: "the merged model", folder: dir }],
        await filesOfModels([model]),
      ),
      refused(/the output folder .* holds the input model/),
    );
    await guardOutputs(
      [
        {
          path: join(dir, "a", "soup.json"),
          what: "the merged model",
          siblings: /^soup\.group\d+-shard\d+of\d+\.bin$/,
        },
      ],
      await filesOfModels([model]),
    );
  });
});
