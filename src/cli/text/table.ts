/** A plain-text table: columns padded to their widest cell, a header and a rule under it. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], indent = ""): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: readonly string[]) =>
    indent + cells.map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c]!))).join("  ");
  return [line(headers), indent + widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** 44426 -> "44,426". */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}
