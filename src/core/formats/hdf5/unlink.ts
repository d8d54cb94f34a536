import { open as openFile, type FileHandle } from "node:fs/promises";
import { SUPERBLOCK_PROBE, oldStyleSuperblock, readUint } from "./superblock.js";

/**
 * Removes one link from the root group of an HDF5 file, in place, by editing the group's symbol table.
 *
 * h5wasm exposes no H5Ldelete, and rebuilding a file with h5wasm cannot reproduce h5py's string types (it has
 * no NULLPAD fixed-length strings), so dropping a group (Keras' optimizer state) is done here at the byte level.
 * It handles the "old-style" groups that h5py writes by default (superblock v0/v1, a v1 B-tree of symbol-table
 * nodes and a local heap), which is what Keras 2 and Keras 3 files use. The unlinked objects stay in the file as
 * unreachable bytes (as after h5py's `del`, until h5repack); callers zero their data first.
 * Returns false, changing nothing, when the layout is not that one or removing the entry would empty a node.
 */
export async function unlinkRootChild(path: string, name: string): Promise<boolean> {
  const handle = await openFile(path, "r+");
  try {
    const reader = await FileReader.create(handle);
    if (!reader) return false;
    const table = await reader.rootSymbolTable();
    if (!table) return false;
    const heap = await reader.localHeapData(table.heap);
    if (!heap) return false;
    const nodes = await reader.symbolNodes(table.btree, 0);
    if (!nodes) return false;
    for (const node of nodes) {
      const entries = await reader.read(node + 8, reader.symbolCount(node) * reader.entrySize);
      const count = reader.symbolCount(node);
      for (let i = 0; i < count; i++) {
        const nameOffset = readUint(entries, i * reader.entrySize, reader.offsetSize);
        if (heapString(heap, nameOffset) !== name) continue;
        if (count === 1) return false;
        const shifted = new Uint8Array(count * reader.entrySize);
        shifted.set(entries.subarray(0, i * reader.entrySize), 0);
        shifted.set(entries.subarray((i + 1) * reader.entrySize), i * reader.entrySize);
        await reader.write(node + 8, shifted);
        const countBytes = new Uint8Array([(count - 1) & 0xff, (count - 1) >> 8]);
        await reader.write(node + 6, countBytes);
        return true;
      }
    }
    return false;
  } finally {
    await handle.close();
  }
}

function heapString(heap: Uint8Array, offset: number): string | undefined {
  if (offset >= heap.length) return undefined;
  let end = offset;
  while (end < heap.length && heap[end] !== 0) end++;
  return new TextDecoder().decode(heap.subarray(offset, end));
}

const MAX_BTREE_DEPTH = 32;

class FileReader {
  symbolCounts = new Map<number, number>();

  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    readonly head: Uint8Array,
    /** Where the root group's symbol table entry starts in `head`. */
    readonly rootEntryAt: number,
    readonly offsetSize: number,
    readonly lengthSize: number,
    readonly baseAddress: number,
  ) {}

  static async create(handle: FileHandle): Promise<FileReader | undefined> {
    const { size } = await handle.stat();
    const head = new Uint8Array(Math.min(SUPERBLOCK_PROBE, size));
    await handle.read(head, 0, head.length, 0);
    const superblock = oldStyleSuperblock(head);
    if (!superblock) return undefined;
    const { rootEntryAt, offsetSize, lengthSize, baseAddress } = superblock;
    return new FileReader(handle, size, head, rootEntryAt, offsetSize, lengthSize, baseAddress);
  }

  get entrySize(): number {
    return 2 * this.offsetSize + 8 + 16;
  }

  async read(address: number, length: number): Promise<Uint8Array> {
    if (address < 0 || length < 0 || address + length > this.size)
      throw new RangeError("HDF5 structure out of the file");
    const out = new Uint8Array(length);
    await this.handle.read(out, 0, length, address);
    return out;
  }

  async write(address: number, bytes: Uint8Array): Promise<void> {
    await this.handle.write(bytes, 0, bytes.length, address);
  }

  /** B-tree and heap addresses of the root group, from the superblock's cached root entry or its object header. */
  async rootSymbolTable(): Promise<{ btree: number; heap: number } | undefined> {
    const entry = this.head.subarray(this.rootEntryAt, this.rootEntryAt + this.entrySize);
    if (entry.length < this.entrySize) return undefined;
    const O = this.offsetSize;
    const cacheType = readUint(entry, 2 * O, 4);
    if (cacheType === 1) {
      return {
        btree: this.baseAddress + readUint(entry, 2 * O + 8, O),
        heap: this.baseAddress + readUint(entry, 3 * O + 8, O),
      };
    }
    return this.symbolTableMessage(this.baseAddress + readUint(entry, O, O));
  }

  /** Finds the Symbol Table message (type 0x11) in a version 1 object header. */
  private async symbolTableMessage(header: number): Promise<{ btree: number; heap: number } | undefined> {
    const prefix = await this.read(header, 16);
    if (prefix[0] !== 1) return undefined;
    const messages = readUint(prefix, 2, 2);
    const headerSize = readUint(prefix, 8, 4);
    const body = await this.read(header + 16, headerSize);
    let at = 0;
    for (let i = 0; i < messages && at + 8 <= body.length; i++) {
      const type = readUint(body, at, 2);
      const size = readUint(body, at + 2, 2);
      if (type === 0x11) {
        return {
          btree: this.baseAddress + readUint(body, at + 8, this.offsetSize),
          heap: this.baseAddress + readUint(body, at + 8 + this.offsetSize, this.offsetSize),
        };
      }
      at += 8 + size;
    }
    return undefined;
  }

  async localHeapData(address: number): Promise<Uint8Array | undefined> {
    const L = this.lengthSize;
    const header = await this.read(address, 8 + 2 * L + this.offsetSize);
    if (new TextDecoder().decode(header.subarray(0, 4)) !== "HEAP") return undefined;
    const size = readUint(header, 8, L);
    const data = this.baseAddress + readUint(header, 8 + 2 * L, this.offsetSize);
    return this.read(data, size);
  }

  symbolCount(node: number): number {
    return this.symbolCounts.get(node) ?? 0;
  }

  /** Addresses of every symbol-table node ("SNOD") under a group B-tree node. */
  async symbolNodes(address: number, depth: number): Promise<number[] | undefined> {
    if (depth > MAX_BTREE_DEPTH) return undefined;
    const O = this.offsetSize;
    const L = this.lengthSize;
    const header = await this.read(address, 8 + 2 * O);
    if (new TextDecoder().decode(header.subarray(0, 4)) !== "TREE" || header[4] !== 0) return undefined;
    const level = header[5]!;
    const used = readUint(header, 6, 2);
    const body = await this.read(address + 8 + 2 * O, used * (L + O) + L);
    const nodes: number[] = [];
    for (let i = 0; i < used; i++) {
      const child = this.baseAddress + readUint(body, L + i * (L + O), O);
      if (level > 0) {
        const below = await this.symbolNodes(child, depth + 1);
        if (!below) return undefined;
        nodes.push(...below);
      } else {
        const snod = await this.read(child, 8);
        if (new TextDecoder().decode(snod.subarray(0, 4)) !== "SNOD") return undefined;
        this.symbolCounts.set(child, readUint(snod, 6, 2));
        nodes.push(child);
      }
    }
    return nodes;
  }
}
