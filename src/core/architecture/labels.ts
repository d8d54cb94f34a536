import { sep } from "node:path";

/**
 * The shortest trailing part of each path that tells it apart from the others ("model1/model.json" rather than
 * a full path, since many models are all called model.json). Equal paths keep their full text.
 */
export function shortLabels(paths: readonly string[]): string[] {
  const parts = paths.map((p) => p.split(/[\\/]+/).filter((s) => s.length > 0));
  return paths.map((path, i) => {
    const own = parts[i]!;
    for (let n = 1; n <= own.length; n++) {
      const tail = own.slice(-n).join("/");
      const clash = parts.some((other, j) => j !== i && paths[j] !== path && other.slice(-n).join("/") === tail);
      if (!clash) return tail;
    }
    return path.split(sep).join("/");
  });
}
