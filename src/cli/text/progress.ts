import type { ProgressParams } from "../../protocol/worker.js";

const WIDTH = 24;

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0);
}

/** One terminal line for a progress notification: a bar when the total is known, else the step and losses. */
export function progressLine(p: ProgressParams): string {
  const parts: string[] = [p.phase];
  if (p.totalSteps > 0) {
    const done = Math.min(1, p.step / p.totalSteps);
    const filled = Math.round(done * WIDTH);
    const count =
      p.unit === "bytes"
        ? `${megabytes(p.step)}/${megabytes(p.totalSteps)} MB`
        : `${p.step}/${p.totalSteps}${p.unit === "tensors" ? " tensors" : ""}`;
    parts.push(`[${"#".repeat(filled)}${".".repeat(WIDTH - filled)}] ${count}`);
  } else if (p.step > 0) {
    parts.push(`step ${p.step}`);
  }
  if (p.trainLoss !== undefined) parts.push(`loss ${p.trainLoss.toFixed(4)}`);
  if (p.validationLoss !== undefined) parts.push(`val ${p.validationLoss.toFixed(4)}`);
  if (p.message) parts.push(p.message);
  return parts.join("  ");
}
