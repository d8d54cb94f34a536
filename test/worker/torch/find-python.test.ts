import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../../../src/core/errors.js";
import { findPythonWithTorch, pythonCandidates } from "../../../src/core/python/find-python.js";
import { jobPython } from "../../../src/worker/jobs/torch/python.js";
import { requireTorch } from "./support.js";

describe("findPythonWithTorch", function () {
  this.timeout(120_000);
  let shims: string;
  let systemPython: string;

  before(async function () {
    systemPython = (await requireTorch(this)).path;
    // A python3 that is there but has no torch (as a pyenv shim without it is): `import torch` fails.
    shims = mkdtempSync(join(tmpdir(), "model-soup-shims-"));
    for (const name of ["python3", "python"]) {
      writeFileSync(
        join(shims, name),
        "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n",
      );
      chmodSync(join(shims, name), 0o755);
    }
  });
  after(() => shims && rmSync(shims, { recursive: true, force: true }));

  it("passes over a first python3 on PATH without torch and takes the next that has it", async () => {
    const found = await findPythonWithTorch({ pathEnv: `${shims}:/usr/bin`, systemFolders: [] });
    assert.equal(found.path, "/usr/bin/python3");
    assert.equal(found.source, "PATH");
    assert.match(found.torchVersion, /^\d+\.\d+/);
    assert.equal(found.devices[0], "cpu");
  });

  it("searches the system folders after PATH", async () => {
    const found = await findPythonWithTorch({ pathEnv: shims, systemFolders: ["/usr/bin"] });
    assert.equal(found.path, "/usr/bin/python3");
    assert.equal(found.source, "system");
  });

  it("takes the Python extension's environment after the setting and before PATH", async () => {
    const found = await findPythonWithTorch({
      setting: join(shims, "python3"),
      pythonExtension: systemPython,
      pathEnv: shims,
      systemFolders: [],
    });
    assert.equal(found.path, systemPython);
    assert.equal(found.source, "Python extension");
    assert.deepEqual(
      pythonCandidates({ setting: "/b/python", pythonExtension: "/c/python", pathEnv: "", systemFolders: [] }).map(
        (c) => c.source,
      ),
      ["setting", "Python extension"],
    );
  });

  it("takes --python first, then the setting, before PATH", async () => {
    const byFlag = await findPythonWithTorch({ python: systemPython, setting: join(shims, "python3"), pathEnv: shims });
    assert.equal(byFlag.source, "--python");
    const bySetting = await findPythonWithTorch({ setting: systemPython, pathEnv: shims, systemFolders: [] });
    assert.equal(bySetting.source, "setting");
    assert.deepEqual(
      pythonCandidates({ python: "/a/python", setting: "/b/python", pathEnv: shims, systemFolders: [] }).map(
        (c) => c.path,
      ),
      ["/a/python", "/b/python", join(shims, "python3"), join(shims, "python")],
    );
  });

  it("a job takes the editor's candidates before PATH; a named --python is the only one tried", async () => {
    const search = { pathEnv: shims, systemFolders: [] };
    const fromEditor = await jobPython(
      undefined,
      { setting: join(shims, "python3"), pythonExtension: systemPython },
      search,
    );
    assert.deepEqual([fromEditor.path, fromEditor.source], [systemPython, "Python extension"]);
    const fromSetting = await jobPython(undefined, { setting: systemPython }, search);
    assert.equal(fromSetting.source, "setting");
    const named = await jobPython(join(shims, "python3"), { pythonExtension: systemPython }).catch((e: unknown) => e);
    assert.ok(named instanceof UsageError);
    assert.match(named.message, /shims-\w+\/python3 \(no torch\)/);
  });

  it("with no torch anywhere, says in one line what it tried and how to get torch", async () => {
    const error = await findPythonWithTorch({
      python: "/nonexistent/python3",
      pathEnv: shims,
      systemFolders: [],
    }).catch((e: unknown) => e);
    assert.ok(error instanceof UsageError);
    assert.doesNotMatch(error.message, /\n/);
    assert.match(error.message, /tried \/nonexistent\/python3 \(not found\), .*shims-\w+\/python3 \(no torch\)/);
    assert.match(error.message, /apt install python3-torch/);
    assert.match(error.message, /--python <path>/);
  });

  it("bounds each probe in time", async () => {
    const slow = join(shims, "slow-python");
    writeFileSync(slow, "#!/bin/sh\nsleep 30\n");
    chmodSync(slow, 0o755);
    const started = Date.now();
    const error = await findPythonWithTorch({
      python: slow,
      pathEnv: shims,
      systemFolders: [],
      probeTimeoutMs: 500,
    }).catch((e: unknown) => e as Error);
    assert.ok(Date.now() - started < 10_000);
    assert.match((error as Error).message, /slow-python \(import torch took over 0.5 s\)/);
  });
});
