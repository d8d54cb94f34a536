import type { CaseResult } from "./harness.js";

export interface Figures {
  seed: number;
  seconds: number;
  cases: number;
  exit0: number;
  exit1: number;
  exit2: number;
  internalErrors: number;
  hangs: number;
  memoryBlowUps: number;
  writesOutside: number;
  inputsModified: number;
  tempLeft: number;
  outputAfterFailure: number;
  /** Misuse cases whose exit code or one-line message was not the one expected. */
  wrongMessages: number;
  failing: number;
  maxRssMiB: number;
  byKind: Record<string, number>;
}

/** The run's figures (counts per broken rule) and a text table of them. */
export function summarise(
  results: CaseResult[],
  run: { seed: number; seconds: number },
): { figures: Figures; text: string } {
  const has = (r: CaseResult, prefix: string) => r.problems.some((p) => p.startsWith(prefix));
  const count = (f: (r: CaseResult) => boolean) => results.filter(f).length;
  const byKind: Record<string, number> = {};
  for (const r of results) byKind[r.kind] = (byKind[r.kind] ?? 0) + 1;
  const figures: Figures = {
    ...run,
    cases: results.length,
    exit0: count((r) => r.exitCode === 0),
    exit1: count((r) => r.exitCode === 1),
    exit2: count((r) => r.exitCode === 2),
    internalErrors: count(
      (r) => r.internalError || (r.exitCode !== null && ![0, 1, 2].includes(r.exitCode) && !r.hung),
    ),
    hangs: count((r) => r.hung),
    memoryBlowUps: count((r) => has(r, "memory")),
    writesOutside: count((r) => has(r, "written outside")),
    inputsModified: count((r) => has(r, "input modified")),
    tempLeft: count((r) => has(r, "left in the temp")),
    outputAfterFailure: count((r) => has(r, "output written by a failed")),
    wrongMessages: count((r) => has(r, "message")),
    failing: count((r) => r.problems.length > 0),
    maxRssMiB: Math.round(Math.max(0, ...results.map((r) => r.maxRssBytes ?? 0)) / 2 ** 20),
    byKind,
  };
  const rows = [
    ["seed", figures.seed],
    ["cases", figures.cases],
    ["exit 0 / 1 / 2", `${figures.exit0} / ${figures.exit1} / ${figures.exit2}`],
    ["internal errors (exit 3, stack traces)", figures.internalErrors],
    ["hangs", figures.hangs],
    ["memory blow-ups", figures.memoryBlowUps],
    ["writes outside the output", figures.writesOutside],
    ["inputs modified", figures.inputsModified],
    ["temp files left", figures.tempLeft],
    ["output after a failure", figures.outputAfterFailure],
    ["misuses not refused as expected", figures.wrongMessages],
    ["largest peak RSS (MiB)", figures.maxRssMiB],
    ["wall time (s)", Math.round(figures.seconds)],
  ];
  const text =
    rows.map(([k, v]) => `${String(k).padEnd(40)} ${v}`).join("\n") +
    `\ncases by kind: ${Object.entries(byKind)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`;
  return { figures, text };
}
