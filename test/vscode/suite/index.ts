/**
 * The test entry a real VS Code calls (`extensionTestsPath`): @vscode/test-electron on desktops, the
 * code-server payload here. Runs every bundled `*.test.cjs` (or with MODEL_SOUP_BENCH, `*.bench.cjs`) beside this file with mocha and resolves when all pass.
 */
import { appendFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import Mocha from "mocha";

const { EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING, EVENT_RUN_END, EVENT_SUITE_BEGIN } =
  Mocha.Runner.constants;

/** Writes plain result lines to the console and, when MODEL_SOUP_TEST_LOG names a file, to that file (the runner prints it). */
class LineReporter {
  constructor(runner: Mocha.Runner) {
    const out = (line: string) => {
      console.log(line);
      const log = process.env.MODEL_SOUP_TEST_LOG;
      if (log) appendFileSync(log, line + "\n");
    };
    runner.on(EVENT_SUITE_BEGIN, (suite: Mocha.Suite) => suite.title && out(`\n  ${suite.fullTitle()}`));
    runner.on(EVENT_TEST_PASS, (test: Mocha.Test) => out(`    ✓ ${test.title} (${test.duration} ms)`));
    runner.on(EVENT_TEST_PENDING, (test: Mocha.Test) => out(`    - ${test.title} (skipped)`));
    runner.on(EVENT_TEST_FAIL, (test: Mocha.Test, error: Error) =>
      out(`    ✗ ${test.title}\n      ${(error.stack ?? String(error)).split("\n").join("\n      ")}`),
    );
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats!;
      out(`\nvscode suite: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped`);
    });
  }
}

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: "bdd", timeout: 180_000, reporter: LineReporter as never, color: false });
  const grep = process.env.MODEL_SOUP_TEST_GREP;
  if (grep) mocha.grep(grep);
  const suffix = process.env.MODEL_SOUP_BENCH ? ".bench.cjs" : ".test.cjs";
  for (const file of readdirSync(__dirname)
    .filter((f) => f.endsWith(suffix))
    .sort()) {
    mocha.addFile(join(__dirname, file));
  }
  const failures = await new Promise<number>((resolve) => mocha.run(resolve));
  if (failures > 0) throw new Error(`${failures} VS Code test(s) failed`);
}
