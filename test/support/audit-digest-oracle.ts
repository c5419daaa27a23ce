/**
 * The oracle for digest verification: the verifier's digest check as it was before format-2
 * digests (main before `digest-links`), which checks every digest's own signature. Kept here, not
 * in lambdas/, so tests can assert that the verifier that skips the signatures of vouched-for
 * digests reaches exactly the same verdict. Only the record schema is today's (it accepts both
 * formats; the old one knew format 1 only).
 */
import {
  type AuditDigest,
  AuditDigestSchema,
  verifyDigestSignature,
} from '../../lambdas/core/audit/audit-digest.js';
import {
  type ChainVerifierOptions,
  type VerificationProblem,
  type VerificationResult,
  verifyAuditChain,
} from '../../lambdas/core/audit/chain-verifier.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

function earlier(a: VerificationProblem | undefined, b: VerificationProblem | undefined) {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return b.seq < a.seq ? b : a;
}

/** `checkDigests` as it was: every signature checked; the good digests and the first problem. */
export function oracleCheckDigests(options: ChainVerifierOptions): {
  readonly valid: AuditDigest[];
  readonly problem: VerificationProblem | undefined;
  readonly signaturesChecked: number;
} {
  let problem: VerificationProblem | undefined;
  let signaturesChecked = 0;
  const parsed: AuditDigest[] = [];
  for (const raw of options.digests) {
    const result = AuditDigestSchema.safeParse(raw);
    const claimedFrom = isRecord(raw) && isSeq(raw.fromSeq) ? raw.fromSeq : 1;
    if (!result.success) {
      problem = earlier(problem, {
        seq: claimedFrom,
        reason: 'bad-signature',
        detail: 'A digest record is malformed',
      });
      continue;
    }
    const digest = result.data;
    if (digest.tenant !== options.tenant || digest.toSeq < digest.fromSeq) {
      problem = earlier(problem, {
        seq: digest.fromSeq,
        reason: 'bad-signature',
        detail: `The digest from seq ${digest.fromSeq} is not one of this tenant's`,
      });
      continue;
    }
    if (options.publicKey !== undefined) signaturesChecked += 1;
    if (options.publicKey === undefined || !verifyDigestSignature(digest, options.publicKey)) {
      problem = earlier(problem, {
        seq: digest.fromSeq,
        reason: 'bad-signature',
        detail: `The signature of the digest of seq ${digest.fromSeq}..${digest.toSeq} does not verify with the public key`,
      });
      continue;
    }
    parsed.push(digest);
  }
  parsed.sort((a, b) => a.fromSeq - b.fromSeq);
  const valid: AuditDigest[] = [];
  let previous: AuditDigest | undefined;
  for (const digest of parsed) {
    const linked =
      digest.prevExpiresAt <= options.now ||
      (previous === undefined
        ? (digest.fromSeq === 1 && digest.prevSignature === '') ||
          (options.anchorSeq !== undefined && digest.fromSeq <= options.anchorSeq)
        : digest.fromSeq === previous.toSeq + 1 && digest.prevSignature === previous.signature);
    if (!linked) {
      const from = previous === undefined ? (options.anchorSeq ?? 1) : previous.toSeq + 1;
      problem = earlier(problem, {
        seq: Math.min(from, digest.fromSeq),
        reason: 'bad-signature',
        detail:
          previous !== undefined && digest.fromSeq === previous.toSeq + 1
            ? `The digest of seq ${digest.fromSeq}..${digest.toSeq} does not sign its predecessor's signature`
            : `The digest chain is broken before seq ${digest.fromSeq}: a digest is missing or replaced`,
      });
      break;
    }
    valid.push(digest);
    previous = digest;
  }
  return { valid, problem, signaturesChecked };
}

/**
 * What the verifier answered before format 2: the old digest check, composed with the entry checks
 * (unchanged, so run on the digests the old check accepted, which are all authentic and linked)
 * the way `AuditChainVerifier#finish` composes them (an entry problem first on a tie).
 */
export function oracleVerify(
  entries: Iterable<unknown>,
  options: ChainVerifierOptions,
): VerificationResult & { readonly oracleSignaturesChecked: number } {
  const digests = oracleCheckDigests(options);
  const onEntries = verifyAuditChain(entries, { ...options, digests: digests.valid });
  if (onEntries.firstBad !== null && onEntries.firstBad.reason === 'bad-signature') {
    throw new Error('The oracle fed only valid digests, yet a digest was found bad');
  }
  const firstBad = earlier(onEntries.firstBad ?? undefined, digests.problem) ?? null;
  return {
    ...onEntries,
    ok: firstBad === null,
    firstBad,
    digestsVerified: digests.valid.length,
    oracleSignaturesChecked: digests.signaturesChecked,
  };
}
