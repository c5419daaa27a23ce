/**
 * How many Ed25519 verifications the chain verifier makes, counted at `node:crypto`'s `verify`
 * itself (wrapped, still verifying): one for a chain of linked format-2 digests, one per digest
 * for format-1 digests, as before format 2 (ADR 0004, "Digests").
 */
import * as crypto from 'node:crypto';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { verifyAuditChain } from '../../lambdas/core/audit/chain-verifier.js';
import { asStoredRecords, buildChain, ed25519Signer } from '../support/audit-chain.js';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof crypto>();
  return { ...actual, verify: vi.fn(actual.verify) };
});

const TENANT = 'acme';
const N = 25;
const signer = ed25519Signer();
let format2: Awaited<ReturnType<typeof buildChain>>;
let format1: Awaited<ReturnType<typeof buildChain>>;
let mixed: Awaited<ReturnType<typeof buildChain>>;

const build = (legacyDigests: number) =>
  buildChain({ tenant: TENANT, count: N * 4, digestEvery: 4, signer, legacyDigests });

beforeAll(async () => {
  format2 = await build(0);
  format1 = await build(N);
  mixed = await build(10);
});

beforeEach(() => {
  vi.mocked(crypto.verify).mockClear();
});

function verify(chain: typeof format2) {
  return verifyAuditChain(asStoredRecords(chain.entries), {
    tenant: TENANT,
    digests: chain.digests,
    publicKey: signer.publicKey,
    now: 0,
  });
}

describe('digest signature checks', () => {
  it(`makes one Ed25519 check for a chain of ${N} linked format-2 digests`, () => {
    // Act
    const result = verify(format2);

    // Assess
    expect(result).toMatchObject({ ok: true, digestsVerified: N, digestSignaturesChecked: 1 });
    expect(crypto.verify).toHaveBeenCalledTimes(1);
  });

  it(`makes ${N} for ${N} format-1 digests, as before`, () => {
    // Act
    const result = verify(format1);

    // Assess
    expect(result).toMatchObject({ ok: true, digestsVerified: N, digestSignaturesChecked: N });
    expect(crypto.verify).toHaveBeenCalledTimes(N);
  });

  it('makes one per format-1 digest but the last, and one for the format-2 run after them', () => {
    // Act
    const result = verify(mixed);

    // Assess: the newest checks its signature and vouches down to the last format-1 digest.
    expect(result).toMatchObject({ ok: true, digestsVerified: N, digestSignaturesChecked: 10 });
    expect(crypto.verify).toHaveBeenCalledTimes(10);
  });
});
