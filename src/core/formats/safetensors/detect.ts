const OPEN_BRACE = 0x7b;
const INDEX_SUFFIX = ".safetensors.index.json";

/** A single safetensors file: a little-endian u64 header length (far below 2^48 in practice), then '{'. */
export function looksLikeSafetensorsFile(head: Uint8Array): boolean {
  return head.length >= 10 && head[6] === 0 && head[7] === 0 && head[8] === OPEN_BRACE;
}

/** A shard index: a JSON object with a "weight_map" (or a file named *.safetensors.index.json holding an object). */
export function looksLikeShardIndex(path: string, head: Uint8Array): boolean {
  const text = new TextDecoder("latin1").decode(head).trimStart();
  if (!text.startsWith("{")) return false;
  return text.includes('"weight_map"') || path.toLowerCase().endsWith(INDEX_SUFFIX);
}

export function isIndexTarget(path: string): boolean {
  return path.toLowerCase().endsWith(INDEX_SUFFIX);
}

export function indexBaseName(indexFileName: string): string {
  return indexFileName.slice(0, indexFileName.length - INDEX_SUFFIX.length);
}
