/**
 * The no-stack-trace rule, for every command in the registry: bad options, a folder without a model, a missing
 * file, a name with a newline and a terminal escape sequence each give one escaped line (plus the usage synopsis
 * for command-line mistakes) and exit 2; --debug adds the stack.
 */
import assert from "node:assert/strict";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMMANDS } from "../../src/cli/commands/index.js";
import { runCli, type CliRun } from "./run-cli.js";

const DATA = "samples/digits/soup.csv.gz";
const STACK_LINE = /^\s+at .+:\d+:\d+\)?$/m;

/** The arguments a command needs besides its inputs, so the run reaches the input it is given. */
function requiredOptions(name: string, out: string): string[] {
  const command = COMMANDS.find((c) => c.name === name)!;
  return [...("data" in command.options ? ["--data", DATA] : []), ...("out" in command.options ? ["--out", out] : [])];
}

/** Models are given twice (commands that need two); a recipe or config, and inspect's report of each, once. */
function inputs(name: string, path: string): string[] {
  return ["inspect", "apply", "mergekit-export", "mergekit-import"].includes(name) ? [path] : [path, path];
}

function assertOneLine(run: CliRun, what: string, pattern?: RegExp): void {
  assert.equal(run.code, 2, `${what}: exit ${run.code}\n${run.stderr}`);
  assert.doesNotMatch(run.stderr, STACK_LINE, `${what}: a stack trace`);
  assert.doesNotMatch(run.stderr, /internal error/, what);
  assert.doesNotMatch(run.stderr, /\u001b/, `${what}: a raw escape character`);
  const lines = run.stderr.trimEnd().split("\n");
  const errorLines = lines.filter((l) => !l.startsWith("Usage: ") && !l.startsWith("Using ") && !/^\s*$/.test(l));
  assert.equal(errorLines.length, 1, `${what}: ${JSON.stringify(run.stderr)}`);
  if (pattern) assert.match(errorLines[0]!, pattern, what);
}

describe("every CLI command fails in one line, without a stack trace", function () {
  let dir: string;
  let emptyFolder: string;
  let hostile: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "soup-failures-"));
    emptyFolder = join(dir, "no-model-here");
    await mkdir(emptyFolder);
    await writeFile(join(emptyFolder, "notes.txt"), "not a model");
    hostile = join(dir, "evil\nname\u001b[31mred.json");
    await writeFile(hostile, "\u001b]0;pwned\u0007 not a model");
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  for (const command of COMMANDS) {
    it(`${command.name}: an unknown option`, async () => {
      assertOneLine(
        await runCli(command.name, "--no-such-option"),
        `${command.name} --no-such-option`,
        /no-such-option/,
      );
    });

    if (command.name === "demo") continue;
    const out = () => join(dir, `out-${command.name}`);

    it(`${command.name}: a folder without a model`, async () => {
      const run = await runCli(
        command.name,
        ...inputs(command.name, emptyFolder),
        ...requiredOptions(command.name, out()),
      );
      assertOneLine(run, `${command.name} <empty folder>`, /no-model-here/);
    });

    it(`${command.name}: a missing file`, async () => {
      const missing = join(dir, "missing.keras");
      const run = await runCli(command.name, ...inputs(command.name, missing), ...requiredOptions(command.name, out()));
      assertOneLine(run, `${command.name} <missing>`, /missing\.keras/);
    });

    it(`${command.name}: a name with a newline and an escape sequence is echoed escaped`, async () => {
      const run = await runCli(command.name, ...inputs(command.name, hostile), ...requiredOptions(command.name, out()));
      assertOneLine(run, `${command.name} <hostile name>`, /evil\\nname\\e\[31mred\.json/);
    });
  }

  it("terminal control sequences from file contents are printed escaped, in text and in JSON", async () => {
    const model = join(dir, "hostile-model");
    await cp("samples/digits/models/ingredient-1", model, { recursive: true });
    const jsonPath = join(model, "model.json");
    const json = JSON.parse(await readFile(jsonPath, "utf8"));
    // A shard name from the file, echoed in the message about the missing shard.
    json.weightsManifest[0].paths = ["weights\u001b]0;pwned\u0007\u009b31m.bin"];
    await writeFile(jsonPath, JSON.stringify(json));
    for (const extra of [[], ["--json"]]) {
      const run = await runCli("inspect", model, ...extra);
      for (const text of [run.stdout, run.stderr])
        assert.doesNotMatch(text, /[\u0007\u001b\u009b]/, `inspect ${extra.join(" ")}: a raw control character`);
      assert.match(run.stdout + run.stderr, /\\u001b\]0;pwned\\u0007|\\e\]0;pwned\\x07/);
      if (extra.length > 0 && run.stdout) JSON.parse(run.stdout);
    }
  });

  it("--debug adds the stack to the same message", async () => {
    const missing = join(dir, "missing.keras");
    const plain = await runCli("merge", missing, "--out", join(dir, "o"));
    const debug = await runCli("merge", missing, "--out", join(dir, "o"), "--debug");
    assert.equal(debug.code, 2);
    assert.equal(debug.stderr.split("\n")[0], plain.stderr.split("\n")[0]);
    assert.match(debug.stderr, STACK_LINE);
  });
});
