const CHUNKS = /(\d+)|(\D+)/g;

function chunks(name: string): string[] {
  return name.match(CHUNKS) ?? [];
}

/** Orders names as people do: "layers.2.w" before "layers.10.w" (digit runs compare by value). */
export function compareNatural(a: string, b: string): number {
  const ca = chunks(a);
  const cb = chunks(b);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const x = ca[i]!;
    const y = cb[i]!;
    if (x === y) continue;
    const xDigits = x.charCodeAt(0) >= 48 && x.charCodeAt(0) <= 57;
    const yDigits = y.charCodeAt(0) >= 48 && y.charCodeAt(0) <= 57;
    if (xDigits && yDigits) {
      const byValue = BigInt(x) < BigInt(y) ? -1 : BigInt(x) > BigInt(y) ? 1 : 0;
      if (byValue !== 0) return byValue;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return ca.length - cb.length;
}
