/**
 * Which unit went where when a model was aligned to a reference: read off the permutations its recipe records
 * (src/core/recipe RecipeAlignment: unit j of the aligned model is unit perm[j] of the original). Alignment moves
 * whole units with their weights and changes no value, so this, not a per-tensor difference, is what changed.
 */
import type { Permutations } from "../align/index.js";

export interface GroupMoves {
  /** The permutation group (the layer whose output units it orders). */
  group: string;
  size: number;
  /** Positions whose unit came from elsewhere: the aligned model's unit `at` is the original's unit `from`. */
  moves: Array<{ at: number; from: number }>;
}

export function unitMoves(permutations: Permutations): GroupMoves[] {
  return Object.entries(permutations)
    .map(([group, perm]) => ({
      group,
      size: perm.length,
      moves: perm.flatMap((from, at) => (from === at ? [] : [{ at, from }])),
    }))
    .sort((a, b) => a.group.localeCompare(b.group));
}

/** A plain-text page: per group, how many units moved and each move. */
export function formatUnitMoves(
  groups: readonly GroupMoves[],
  model: string,
  reference: string,
  method: string,
): string {
  const moved = groups.reduce((s, g) => s + g.moves.length, 0);
  const lines = [
    `Units of ${model} after aligning it to ${reference} (${method} matching)`,
    "",
    "Alignment moves whole units (a unit's incoming and outgoing weights together) and changes no value: the aligned",
    "model computes the same function. Below, \"position 3 ← unit 17\" means the aligned model's unit 3 is the original's unit 17.",
    "",
    moved === 0
      ? "No unit moved: the model already matched the reference."
      : `${moved} unit${moved === 1 ? "" : "s"} moved.`,
  ];
  for (const g of groups.filter((x) => x.moves.length > 0)) {
    lines.push("", `${g.group}: ${g.moves.length} of ${g.size} units moved`);
    const width = String(g.size - 1).length;
    for (const m of g.moves) lines.push(`  position ${String(m.at).padStart(width)} ← unit ${m.from}`);
  }
  return `${lines.join("\n")}\n`;
}
