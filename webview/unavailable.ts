/**
 * The "Not available now" list: methods that cannot run for the same reason, with the same way out, share one line
 * ("DARE, TIES, Model Stock: these state dicts hold weights only … [PyTorch Architecture…]") rather than repeating
 * the reason under each. Pure: tested in test/webview/unavailable.test.ts.
 */
import type { MethodCapability } from "../src/protocol/capability.js";

export interface UnavailableLine {
  /** The methods of the line, in the order they were listed. */
  methods: string[];
  /** Their names: the whole label for a method alone, the short name (before its parenthesis) for several. */
  names: string;
  /** The first capability of the line: its reason and way out stand for all of them. */
  capability: MethodCapability;
}

/** The name before a label's explanation in parentheses: "DARE (drop and rescale …)" → "DARE". */
function shortName(label: string): string {
  const cut = label.indexOf(" (");
  return cut > 0 ? label.slice(0, cut) : label;
}

export function unavailableLines(
  caps: readonly MethodCapability[],
  label: (method: string) => string,
): UnavailableLine[] {
  const lines = new Map<string, MethodCapability[]>();
  for (const cap of caps) {
    const key = `${cap.reason ?? ""}\u0000${cap.wayOut ?? ""}`;
    lines.set(key, [...(lines.get(key) ?? []), cap]);
  }
  return [...lines.values()].map((group) => ({
    methods: group.map((c) => c.method),
    names: group.length === 1 ? label(group[0]!.method) : group.map((c) => shortName(label(c.method))).join(", "),
    capability: group[0]!,
  }));
}
