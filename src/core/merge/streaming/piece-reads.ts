import type { SafetensorsReader } from "../../formats/safetensors/index.js";
import { BYTES_PER_ELEMENT, type TensorInfo } from "../../tensor.js";
import type { ObserveRead } from "./types.js";

/** One piece of one tensor: `length` elements from element `offset`. */
export interface PieceJob {
  info: TensorInfo;
  offset: number;
  length: number;
}

/** Every input's raw bytes of one piece; `release` hands the memory back once the piece is merged. */
export interface ReadPiece {
  raw: Uint8Array[];
  release: () => void;
}

interface Slot {
  raw: Uint8Array[];
  /** Settles when the slot's memory is free again: its piece merged and every observer done with its bytes. */
  free: Promise<void>;
}

const ignore = (): void => undefined;

/**
 * Reads the pieces of a merge ahead of their use, in a planned order, into a few reused buffer slots of shared
 * memory: while one piece is combined, the next ones are being read (fs reads run on libuv's threads), and each
 * read is reported to `observe` in the plan's order (so a hashing thread sees each file front to back). A piece
 * asked for out of the plan's order is read on demand; the result is the same, only slower.
 */
export class PieceReads {
  private readonly slots: Slot[];
  private readonly ahead = new Map<number, Promise<ReadPiece>>();
  private readonly position = new Map<string, number>();
  private next = 0;
  private slotTurn = 0;
  private observed: Promise<void> = Promise.resolve();

  constructor(
    private readonly readers: readonly SafetensorsReader[],
    private readonly plan: readonly PieceJob[],
    depth: number,
    private readonly observe?: ObserveRead,
    /** Where the read buffers come from (shared memory, so the observer may look at them on another thread). */
    private readonly allocate: (bytes: number) => Uint8Array = (bytes) => new Uint8Array(new SharedArrayBuffer(bytes)),
  ) {
    this.slots = Array.from({ length: Math.max(1, depth) }, () => ({
      raw: readers.map(() => new Uint8Array(0)),
      free: Promise.resolve(),
    }));
    plan.forEach((job, k) => this.position.set(`${job.info.name}@${job.offset}`, k));
  }

  /** The bytes of `job` from every input, and reads of the pieces planned after it started. */
  read(job: PieceJob): Promise<ReadPiece> {
    const k = this.position.get(`${job.info.name}@${job.offset}`);
    if (k === undefined || this.plan[k]!.length !== job.length) return this.load(job);
    let piece = this.ahead.get(k);
    this.ahead.delete(k);
    piece ??= this.load(job);
    this.next = Math.max(this.next, k + 1);
    for (let j = this.next; j < k + this.slots.length && j < this.plan.length; j++) {
      if (!this.ahead.has(j)) {
        const ahead = this.load(this.plan[j]!);
        ahead.catch(ignore);
        this.ahead.set(j, ahead);
      }
    }
    return piece;
  }

  private async load(job: PieceJob): Promise<ReadPiece> {
    const slot = this.slots[this.slotTurn++ % this.slots.length]!;
    let release!: () => void;
    const merged = new Promise<void>((resolve) => (release = resolve));
    let observersDone!: () => void;
    const observers = new Promise<void>((resolve) => (observersDone = resolve));
    const previous = slot.free;
    slot.free = Promise.all([merged, observers]).then(ignore);
    // The observer hears of pieces in the order they were asked for, whatever order the reads finish in.
    const previousTurn = this.observed;
    let reported!: () => void;
    this.observed = new Promise<void>((resolve) => (reported = resolve));
    let raw: Uint8Array[];
    try {
      await previous;
      const width = BYTES_PER_ELEMENT[job.info.dtype];
      const bytes = job.length * width;
      raw = await Promise.all(
        this.readers.map((reader, i) => {
          if (slot.raw[i]!.length < bytes) slot.raw[i] = this.allocate(bytes);
          return reader.readByteRange(job.info.name, job.offset * width, bytes, slot.raw[i]);
        }),
      );
    } catch (error) {
      void previousTurn.then(reported);
      observersDone();
      release();
      throw error;
    }
    void previousTurn.then(() => {
      const acks = this.observe ? this.tell(this.observe, job, raw) : [];
      reported();
      void Promise.allSettled(acks).then(observersDone);
    });
    return { raw, release };
  }

  private tell(observe: ObserveRead, job: PieceJob, raw: Uint8Array[]): Array<Promise<void> | void> {
    const width = BYTES_PER_ELEMENT[job.info.dtype];
    return this.readers.map((reader, i) => {
      const { shard, entry } = reader.location(job.info.name);
      return observe(shard.file, shard.dataStart + entry.begin + job.offset * width, raw[i]!);
    });
  }

  /** Waits for every read started ahead, so the files can be closed. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.ahead.values()]);
    for (const piece of this.ahead.values()) piece.then((p) => p.release(), ignore);
    this.ahead.clear();
    await this.observed;
  }
}
