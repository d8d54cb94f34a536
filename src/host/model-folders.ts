/** The folders whose Explorer context menu offers "Merge Models in Folder": those holding a model at any depth. */
import { dirname, sep } from "node:path";

/** Every folder from each file's own folder up to (and including) the workspace folder that holds it. */
export function modelFolders(files: readonly string[], roots: readonly string[]): string[] {
  const folders = new Set<string>();
  for (const file of files) {
    const root = roots.find((r) => file.startsWith(r.endsWith(sep) ? r : r + sep));
    for (let dir = dirname(file); root !== undefined && dir.length >= root.length; dir = dirname(dir)) {
      if (folders.has(dir)) break;
      folders.add(dir);
      if (dir === root) break;
    }
  }
  return [...folders];
}
