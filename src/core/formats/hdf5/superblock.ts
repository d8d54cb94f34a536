/** The 8-byte HDF5 format signature. */
export const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a] as const;

/** How many of a file's first bytes hold its signature and superblock, wherever HDF5 may put them. */
export const SUPERBLOCK_PROBE = 4096;

/** HDF5 looks for its superblock at 0 and then at every power of two from 512 (a "user block" before it). */
function superblockOffsets(limit: number): number[] {
  const offsets = [0];
  for (let o = 512; o + 8 <= limit; o *= 2) offsets.push(o);
  return offsets;
}

function signatureAt(bytes: Uint8Array, offset: number): boolean {
  return HDF5_SIGNATURE.every((b, i) => bytes[offset + i] === b);
}

/** True when `head` (a file's first bytes) holds the HDF5 signature where HDF5 looks for it. */
export function hasHdf5Signature(head: Uint8Array): boolean {
  return hdf5SignatureOffset(head) !== undefined;
}

export function hdf5SignatureOffset(head: Uint8Array): number | undefined {
  return superblockOffsets(head.length).find((o) => signatureAt(head, o));
}

/** An unsigned little-endian integer of `size` bytes (HDF5 addresses and lengths); bytes past the end count as 0. */
export function readUint(bytes: Uint8Array, at: number, size: number): number {
  let value = 0;
  for (let i = size - 1; i >= 0; i--) value = value * 256 + (bytes[at + i] ?? 0);
  return value;
}

export interface Superblock {
  /** Where the signature (and the superblock) starts in the file. */
  at: number;
  version: number;
  offsetSize: number;
  lengthSize: number;
  /** The address every other address is relative to. */
  baseAddress: number;
  /** The end-of-file address the superblock records, relative to the base address. */
  endOfFile: number;
  /**
   * Versions 0 and 1, when it lies within `head`: where the root group's symbol table entry starts (link name
   * offset, object header address, cache type, reserved, 16 bytes of scratch).
   */
  rootEntryAt?: number;
}

/**
 * The superblock whose signature is at `at` in `head` (versions 0 to 3), or undefined when it is cut short or of
 * an unknown version. Version 0/1 fields: sizes at 13-14, a 24-byte fixed part (28 for v1), then the base,
 * free-space, end-of-file and driver addresses and the root entry; version 2/3: sizes at 9-10, addresses from 12.
 */
export function readSuperblock(head: Uint8Array, at: number): Superblock | undefined {
  const version = head[at + 8];
  if (version === 0 || version === 1) {
    const offsetSize = head[at + 13]!;
    const lengthSize = head[at + 14]!;
    const addresses = at + 24 + (version === 1 ? 4 : 0);
    if (addresses + 3 * offsetSize > head.length) return undefined;
    const rootEntryAt = addresses + 4 * offsetSize;
    return {
      at,
      version,
      offsetSize,
      lengthSize,
      baseAddress: readUint(head, addresses, offsetSize),
      endOfFile: readUint(head, addresses + 2 * offsetSize, offsetSize),
      rootEntryAt: rootEntryAt + 2 * offsetSize + 24 <= head.length ? rootEntryAt : undefined,
    };
  }
  if (version === 2 || version === 3) {
    const offsetSize = head[at + 9]!;
    const lengthSize = head[at + 10]!;
    if (at + 12 + 3 * offsetSize > head.length) return undefined;
    return {
      at,
      version,
      offsetSize,
      lengthSize,
      baseAddress: readUint(head, at + 12, offsetSize),
      endOfFile: readUint(head, at + 12 + 2 * offsetSize, offsetSize),
    };
  }
  return undefined;
}

/**
 * The superblock of an "old-style" file (version 0/1, root entry present, 2-, 4- or 8-byte fields): the layout
 * h5py writes by default and Keras 2 and 3 files use, which the byte-level readers and editors here decode.
 * Undefined for any other file.
 */
export function oldStyleSuperblock(head: Uint8Array): (Superblock & { rootEntryAt: number }) | undefined {
  const at = hdf5SignatureOffset(head);
  const superblock = at === undefined ? undefined : readSuperblock(head, at);
  if (!superblock || superblock.version > 1 || superblock.rootEntryAt === undefined) return undefined;
  if (![2, 4, 8].includes(superblock.offsetSize) || ![2, 4, 8].includes(superblock.lengthSize)) return undefined;
  return superblock as Superblock & { rootEntryAt: number };
}
