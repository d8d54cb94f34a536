import type { ProgressParams } from "../../protocol/worker.js";

const WIDTH = 24;

/** One terminal line for a progress notification: a bar when the total is known, else the step and losses. */
export function progressLine(p: ProgressParams): string {
  const parts: string[] = [p.phase];
  if (p.totalSteps > 0) {
    const done = Math.min(1, p.step / p.totalSteps);
    const filled = Math.round(done * WIDTH);
    parts.push(`[${"#".repeat(filled)}${".".repeat(WIDTH - filled)}] ${p.step}/${p.totalSteps}`);
  } else if (p.step > 0) {
    parts.push(`step ${p.step}`);
  }
  if (p.trainLoss !== undefined) parts.push(`loss ${p.trainLoss.toFixed(4)}`);
  if (p.validationLoss !== undefined) parts.push(`val ${p.validationLoss.toFixed(4)}`);
  if (p.message) parts.push(p.message);
  return parts.join("  ");
}
