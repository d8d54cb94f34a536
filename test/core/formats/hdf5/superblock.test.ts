import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import {
  HDF5_SIGNATURE,
  hdf5SignatureOffset,
  oldStyleSuperblock,
  readSuperblock,
} from "../../../../src/core/formats/hdf5/superblock.js";

const H5 = "test/fixtures/keras3/mlp_a_legacy.h5";

/** A version 2 superblock with 8-byte fields after `userBlock` bytes: base 0, end of file `eof`. */
function version2(userBlock: number, eof: number): Uint8Array {
  const bytes = new Uint8Array(userBlock + 48);
  bytes.set(HDF5_SIGNATURE, userBlock);
  bytes.set([2, 8, 8, 0], userBlock + 8);
  new DataView(bytes.buffer).setBigUint64(userBlock + 12 + 16, BigInt(eof), true);
  return bytes;
}

describe("hdf5/superblock", () => {
  it("reads the version 0 superblock h5py writes: field sizes, end of file and the root entry", () => {
    const head = readFileSync(H5).subarray(0, 4096);
    const superblock = readSuperblock(head, 0)!;
    assert.equal(superblock.version, 0);
    assert.equal(superblock.offsetSize, 8);
    assert.equal(superblock.lengthSize, 8);
    assert.equal(superblock.baseAddress, 0);
    assert.equal(superblock.endOfFile, statSync(H5).size);
    // Fixed part (24 bytes) and four 8-byte addresses: base, free space, end of file, driver.
    assert.equal(superblock.rootEntryAt, 24 + 4 * 8);
    assert.deepEqual(oldStyleSuperblock(head), superblock);
  });

  it("finds a superblock after a user block, reads versions 2 and 3, and leaves them to h5wasm", () => {
    const head = version2(512, 4242);
    assert.equal(hdf5SignatureOffset(head), 512);
    const superblock = readSuperblock(head, 512)!;
    assert.equal(superblock.version, 2);
    assert.equal(superblock.endOfFile, 4242);
    assert.equal(superblock.rootEntryAt, undefined);
    assert.equal(oldStyleSuperblock(head), undefined);
  });

  it("gives nothing for a superblock cut short or of an unknown version", () => {
    const head = readFileSync(H5).subarray(0, 4096);
    assert.equal(readSuperblock(head.subarray(0, 40), 0), undefined);
    assert.equal(oldStyleSuperblock(head.subarray(0, 80)), undefined, "the root entry is cut off");
    const unknown = head.slice();
    unknown[8] = 7;
    assert.equal(readSuperblock(unknown, 0), undefined);
    assert.equal(hdf5SignatureOffset(new Uint8Array(1024)), undefined);
  });
});
