import { relative } from "node:path";

/** A path relative to the working directory, or absolute, whichever is shorter. */
export function shortName(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.length < path.length ? rel : path;
}
