import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OutputWriteError } from "../../../src/core/errors.js";
import { tempPathBeside, writeFilesAtomically } from "../../../src/core/io/atomic.js";
import { makeTempFolder, removeLiveTempsSync, removeStaleTemps, tempOwner } from "../../../src/core/io/temp-files.js";

/** The id of a process that has ended. */
function deadPid(): number {
  return spawnSync(process.execPath, ["-e", ""]).pid!;
}

describe("core/io/temp-files and atomic writes", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-temps-"));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it("names temporaries after their process, and removes only those whose process has ended", async () => {
    const mine = tempPathBeside(join(dir, "model.json"));
    assert.equal(tempOwner(mine.slice(dir.length + 1)), process.pid);
    const dead = deadPid();
    const stale = `.model-soup-tmp-${dead}-0123456789ab-model.json`;
    const user = `model-soup-run-${dead}-notes.json`;
    for (const name of [stale, user, mine.slice(dir.length + 1)]) await writeFile(join(dir, name), "x");
    const removed = await removeStaleTemps(dir);
    assert.deepEqual(removed, [join(dir, stale)]);
    assert.deepEqual(
      (await readdir(dir)).sort(),
      [mine.slice(dir.length + 1), user].sort(),
      "a live process's temporary and a user's file stay",
    );
    assert.deepEqual(removeLiveTempsSync().includes(mine), true);
    assert.deepEqual(await readdir(dir), [user]);
  });

  it("removes stale model-soup-<kind>-<pid>-XXXXXX folders in the system temp folder when it makes a new one", async () => {
    const stale = join(tmpdir(), `model-soup-keras-${deadPid()}-abcdef`);
    await mkdir(stale, { recursive: true });
    await writeFile(join(stale, "model.weights.h5"), "x");
    const folder = await makeTempFolder("keras");
    try {
      assert.match(folder.path, new RegExp(`model-soup-keras-${process.pid}-[A-Za-z0-9]{6}$`));
      assert.ok(!(await readdir(tmpdir())).includes(stale.slice(tmpdir().length + 1)));
    } finally {
      await folder.remove();
    }
  });

  it("a failed write leaves no file, and a system write error names the output file", async () => {
    const target = join(dir, "out.bin");
    await assert.rejects(
      writeFilesAtomically([
        { path: join(dir, "first.bin"), write: (temp) => writeFile(temp, "complete") },
        {
          path: target,
          write: () => Promise.reject(Object.assign(new Error("EFBIG: file too large, write"), { code: "EFBIG" })),
        },
      ]),
      (e: unknown) =>
        e instanceof OutputWriteError &&
        e.file === target &&
        /EFBIG: the file would be larger than the system allows/.test(e.message),
    );
    assert.deepEqual(await readdir(dir), []);
  });
});
