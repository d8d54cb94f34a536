/** The linear assignment problem: the pairing of rows with columns of a square matrix of largest total. */
import { munkres } from "munkres";

/**
 * `assignment[j]` is the column given to row j so that Σ_j score[j][assignment[j]] is largest. `score` is
 * n×n, row-major. Solved exactly by the Munkres algorithm (the `munkres` package), on negated scores.
 */
export function maximiseAssignment(score: Float64Array, n: number): number[] {
  const cost: Float64Array[] = [];
  for (let j = 0; j < n; j++) cost.push(Float64Array.from(score.subarray(j * n, (j + 1) * n), (v) => -v));
  const assignment = new Array<number>(n).fill(-1);
  for (const [row, column] of munkres(cost)) assignment[row] = column;
  return assignment;
}

/** The total score of an assignment. */
export function assignmentScore(score: Float64Array, n: number, assignment: readonly number[]): number {
  let total = 0;
  for (let j = 0; j < n; j++) total += score[j * n + assignment[j]!]!;
  return total;
}
