/** The 8-byte HDF5 format signature. */
export const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a] as const;

/** HDF5 looks for its superblock at 0 and then at every power of two from 512 (a "user block" before it). */
export function superblockOffsets(limit: number): number[] {
  const offsets = [0];
  for (let o = 512; o + 8 <= limit; o *= 2) offsets.push(o);
  return offsets;
}

function signatureAt(bytes: Uint8Array, offset: number): boolean {
  return HDF5_SIGNATURE.every((b, i) => bytes[offset + i] === b);
}

/** True when `head` (a file's first bytes) holds the HDF5 signature where HDF5 looks for it. */
export function hasHdf5Signature(head: Uint8Array): boolean {
  return superblockOffsets(head.length).some((o) => signatureAt(head, o));
}

export function hdf5SignatureOffset(head: Uint8Array): number | undefined {
  return superblockOffsets(head.length).find((o) => signatureAt(head, o));
}
