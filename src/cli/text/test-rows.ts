/** Where a report's test rows came from, in words: the user's own file, or drawn from the learning data. */
import type { SplitReport } from "../../protocol/worker.js";
import { shortName } from "./short-name.js";

export function testRowsLines(split: SplitReport, backend: string): string[] {
  const sizes = `learn ${split.learn}, validation ${split.validation}, seed ${split.seed}`;
  if (split.testFrom === "file" && split.testFile !== undefined)
    return [
      `Test rows: ${split.test} from ${shortName(split.testFile)}, your own held-out rows (${sizes}); backend ${backend}`,
    ];
  return [
    `Test split: ${split.test} samples drawn from the learning data (${sizes}); backend ${backend}`,
    ...(split.testNote !== undefined ? [split.testNote] : []),
  ];
}
