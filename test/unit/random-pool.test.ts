/**
 * The random pool behind envelope IVs and local data keys: every draw is fresh bytes the caller
 * owns, what was handed out does not stay in the block, and a new block is drawn when one runs out.
 */
import { describe, expect, it } from 'vitest';
import { RandomPool } from '../../lambdas/core/secrets/random-pool.js';

/** The pool's block, read for the test only (it is private so that nothing else reads it). */
function blockOf(pool: RandomPool): Buffer {
  return (pool as unknown as { block: Buffer }).block;
}

describe('RandomPool', () => {
  it('hands out draws of the asked size that never repeat', () => {
    // Prepare
    const pool = new RandomPool(64);

    // Act
    const draws = Array.from({ length: 200 }, () => pool.take(12).toString('hex'));

    // Assess: 200 draws of 96 bits across many blocks; a repeat would mean reused randomness.
    expect(draws.every((draw) => draw.length === 24)).toBe(true);
    expect(new Set(draws).size).toBe(200);
  });

  it('zeroizes each handed-out range in its block, and the caller owns its copy', () => {
    // Prepare
    const pool = new RandomPool(64);

    // Act
    const first = pool.take(32);
    const copy = Buffer.from(first);
    first.fill(0);
    const second = pool.take(16);

    // Assess: the block keeps only what is not handed out yet (bytes 48..63 of this block).
    const block = blockOf(pool);
    expect(block.subarray(0, 48).equals(Buffer.alloc(48))).toBe(true);
    expect(block.subarray(48).equals(Buffer.alloc(16))).toBe(false);
    expect(copy.equals(Buffer.alloc(32))).toBe(false);
    expect(second.equals(Buffer.alloc(16))).toBe(false);
  });

  it('draws a new block when the rest of the current one is too small', () => {
    // Prepare
    const pool = new RandomPool(32);
    pool.take(24);

    // Act: 8 bytes are left, 12 are asked for
    const draw = pool.take(12);

    // Assess: taken from the start of a fresh block, whose first 12 bytes are now zero
    const block = blockOf(pool);
    expect(draw.equals(Buffer.alloc(12))).toBe(false);
    expect(block.subarray(0, 12).equals(Buffer.alloc(12))).toBe(true);
    expect(block.subarray(12).equals(Buffer.alloc(20))).toBe(false);
  });

  it('serves a draw larger than the block straight from the CSPRNG, leaving the block as it was', () => {
    // Prepare
    const pool = new RandomPool(16);
    pool.take(4);
    const before = Buffer.from(blockOf(pool));

    // Act
    const draw = pool.take(100);

    // Assess
    expect(draw.length).toBe(100);
    expect(draw.equals(Buffer.alloc(100))).toBe(false);
    expect(blockOf(pool).equals(before)).toBe(true);
  });

  it('refuses sizes that are not whole numbers of bytes', () => {
    // Prepare
    const pool = new RandomPool();

    // Act + Assess
    expect(() => pool.take(-1)).toThrow(RangeError);
    expect(() => pool.take(1.5)).toThrow(RangeError);
    expect(() => new RandomPool(0)).toThrow(RangeError);
  });
});
