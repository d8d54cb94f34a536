/**
 * The action a result implies, chosen once (tested in test/webview/next-action.test.ts): save the merge when one beat
 * the best ingredient; when none did, open that ingredient (saving the merge stays, as a secondary action); and
 * "Run again without …" when the run found harmful ingredients.
 */
import type { NextStep } from "../src/protocol/panel.js";

export interface ResultActions {
  primary: "save" | "open-best";
  /** The best ingredient's path, when keeping it is the advice. */
  best?: string;
  /** "Run again without #3 b.keras and #5 e.keras", and the paths to leave out. */
  runWithout?: { label: string; paths: string[]; why: string };
}

export function resultActions(next: NextStep | undefined, label: (path: string) => string): ResultActions {
  const keepBest = next?.kind === "ingredient-wins";
  const harmful = next?.harmful;
  return {
    primary: keepBest ? "open-best" : "save",
    ...(keepBest ? { best: next.best } : {}),
    ...(harmful && harmful.paths.length > 0
      ? {
          runWithout: {
            label: `Run Again without ${harmful.paths.map(label).join(", ")}`,
            paths: harmful.paths,
            why: harmful.why,
          },
        }
      : {}),
  };
}
