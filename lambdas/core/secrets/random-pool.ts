/**
 * Random bytes for the envelope's IVs and the local keyring's data keys, drawn from the system
 * CSPRNG (`randomFillSync`, the same source as `randomBytes`) a block at a time. A draw of a few
 * bytes costs about as much as a draw of a few kilobytes (a system call each: ~2 µs here, as
 * long as the AES-GCM of a 1 KiB value), and a seal needs two draws; taking them from one block
 * is what Node's own `randomUUID` does with its entropy cache.
 *
 * Bytes are handed out once: each taken range is copied out and zeroized in the block, so what
 * stays in memory is only what has not been handed out yet. Were a process ever restored from a
 * snapshot more than once, its copies could hand out the same bytes; for IVs that is harmless
 * here, since every seal encrypts under a data key of its own (KMS `GenerateDataKey` in AWS), and
 * only the local keyring takes data keys from the pool.
 */
import { randomFillSync } from 'node:crypto';

/** 4 KiB: 93 seals' worth of draws (a 12-byte IV plus a 32-byte key and its 12-byte IV). */
const BLOCK_BYTES = 4096;

export class RandomPool {
  private readonly block: Buffer;
  private offset: number;

  constructor(private readonly blockBytes: number = BLOCK_BYTES) {
    if (!Number.isInteger(blockBytes) || blockBytes < 1) {
      throw new RangeError(`RandomPool needs a block of at least 1 byte, got ${blockBytes}`);
    }
    this.block = Buffer.alloc(blockBytes);
    // Empty until the first draw: nothing random is held before it is needed.
    this.offset = blockBytes;
  }

  /** `size` fresh random bytes, owned by the caller. */
  take(size: number): Buffer {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`Cannot take ${size} random bytes`);
    const out = Buffer.allocUnsafe(size);
    if (size > this.blockBytes) return randomFillSync(out);
    if (this.offset + size > this.blockBytes) {
      randomFillSync(this.block);
      this.offset = 0;
    }
    const end = this.offset + size;
    this.block.copy(out, 0, this.offset, end);
    this.block.fill(0, this.offset, end);
    this.offset = end;
    return out;
  }
}

/** The process's pool (synchronous use only, so one is enough). */
export const randomPool = new RandomPool();
