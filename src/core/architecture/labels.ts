/**
 * The shortest trailing part of each path that tells it apart from the others ("model1/model.json" rather than
 * a full path, since many models are all called model.json). A path given twice keeps its full text.
 */
export function shortLabels(paths: readonly string[]): string[] {
  const parts = paths.map((p) => p.split(/[\\/]+/).filter((s) => s.length > 0));
  const distinct = [...new Set(paths)];
  const partsOf = new Map(distinct.map((p) => [p, p.split(/[\\/]+/).filter((s) => s.length > 0)]));
  const depth = Math.max(0, ...[...partsOf.values()].map((p) => p.length));
  // tails[n-1]: how many distinct paths end in each n-part tail.
  const tails: Map<string, number>[] = [];
  for (let n = 1; n <= depth; n++) {
    const counts = new Map<string, number>();
    for (const own of partsOf.values()) {
      const tail = own.slice(-n).join("/");
      counts.set(tail, (counts.get(tail) ?? 0) + 1);
    }
    tails.push(counts);
  }
  return paths.map((path, i) => {
    const own = parts[i]!;
    for (let n = 1; n <= own.length; n++) {
      const tail = own.slice(-n).join("/");
      if (tails[n - 1]!.get(tail) === 1) return tail;
    }
    return path;
  });
}
