/**
 * Verifies a tenant's audit chain against its signed digests and reports the first bad sequence
 * number and why (ADR 0004, "Verification"). Pure: it reads entries as they come (from DynamoDB
 * pages or the lines of an NDJSON export) with a bounded look-ahead, so a chain of any length
 * verifies in constant memory but for the digests, which are few.
 *
 * Reasons, each at the sequence number where the chain stops being intact:
 * - `modified`: the entry that should hold `seq` does not hash to what it says (a field changed),
 *   or the entry at a digest's `toSeq` is not the head the digest signed;
 * - `missing`: `seq` is absent and a later entry follows (deleted), and it cannot have expired;
 * - `inserted`: an extra entry sits where `seq` belongs (or repeats `seq`), the true one follows;
 * - `reordered`: the entry for `seq` appears later, after entries that belong after it;
 * - `truncated`: entries from `seq` on are gone though a digest covers them;
 * - `bad-signature`: a digest from `seq` on is unsigned, forged, altered, out of chain or missing.
 *
 * Entries are read in either stored form (audit-chain.ts): format 2 is verified over its stored
 * bytes, older entries over their canonical JSON, so a chain written across the change verifies.
 *
 * Expiry is not tampering: entries expire oldest first (each `expiresAt` is at least its
 * predecessor's), so a gap is accepted when the entry after it says its predecessor's expiry
 * (`prevExpiresAt`) has passed; the entry then anchors the rest of the chain.
 */
import { createHash, type KeyObject } from 'node:crypto';
import {
  CHAIN_ENTRY_FORMAT,
  type ChainEntryContent,
  chainEntryHash,
  GENESIS_HASH,
  isHash,
} from './audit-chain.js';
import { type AuditDigest, AuditDigestSchema, verifyDigestSignature } from './audit-digest.js';

export const VERIFICATION_REASONS = [
  'modified',
  'missing',
  'inserted',
  'reordered',
  'truncated',
  'bad-signature',
] as const;
export type VerificationReason = (typeof VERIFICATION_REASONS)[number];

export interface VerificationProblem {
  readonly seq: number;
  readonly reason: VerificationReason;
  /** One sentence for people (never an event's content). */
  readonly detail: string;
}

export interface VerificationResult {
  readonly ok: boolean;
  /** Entries found intact before the first problem (all of them when `ok`). */
  readonly checked: number;
  readonly firstBad: VerificationProblem | null;
  /** Digests whose signature and place in the digest chain are valid. */
  readonly digestsVerified: number;
  /** First and last sequence number found intact (undefined when none). */
  readonly firstSeq: number | undefined;
  readonly lastSeq: number | undefined;
}

export interface ChainVerifierOptions {
  readonly tenant: string;
  /** The tenant's digests as stored or exported, in any order; each is checked. */
  readonly digests: readonly unknown[];
  /** The key digests must be signed with; without one, every digest counts as badly signed. */
  readonly publicKey: KeyObject | undefined;
  /** Now, in epoch seconds: what has expired by TTL. */
  readonly now: number;
  /**
   * Where a partial export starts: its first entry is then taken as the anchor (its `prevHash`
   * cannot be checked, only what follows it). Unset for a whole chain.
   */
  readonly anchorSeq?: number;
  /** How far ahead the verifier looks to tell reordering and insertion from modification. */
  readonly window?: number;
}

const ENTRY_KEYS: ReadonlySet<string> = new Set([
  'event',
  'expiresAt',
  'hash',
  'prevExpiresAt',
  'prevHash',
  'seq',
]);

/** Exactly the fields of an entry, no more (an added field is a change too). */
function hasEntryKeys(entry: Record<string, unknown>): boolean {
  const keys = Object.keys(entry);
  return keys.length === ENTRY_KEYS.size && keys.every((key) => ENTRY_KEYS.has(key));
}
const DEFAULT_WINDOW = 64;

interface Candidate {
  /** The sequence number the entry claims, when it claims a valid one. */
  readonly seq: number | undefined;
  readonly prevHash: string | undefined;
  readonly hash: string | undefined;
  readonly prevExpiresAt: number | undefined;
  readonly expiresAt: number | undefined;
  /** Well formed, of this tenant, and its hash is the hash of its content. */
  readonly selfConsistent: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

function isEpoch(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

const STORED_KEYS: ReadonlySet<string> = new Set(['body', 'expiresAt', 'format', 'hash', 'prevHash', 'seq']);
const BODY_KEYS: ReadonlySet<string> = new Set(['event', 'expiresAt', 'prevExpiresAt', 'seq']);

function hasExactly(record: Record<string, unknown>, keys: ReadonlySet<string>): boolean {
  const names = Object.keys(record);
  return names.length === keys.size && names.every((name) => keys.has(name));
}

const MALFORMED: Candidate = {
  seq: undefined,
  prevHash: undefined,
  hash: undefined,
  prevExpiresAt: undefined,
  expiresAt: undefined,
  selfConsistent: false,
};

/**
 * A format-2 entry (the hashed bytes kept as `body`): the hash is taken over `prevHash ‖ body`
 * as stored, the body parsed once, and the hash format checked once.
 */
function storedCandidateOf(entry: Record<string, unknown>, tenant: string): Candidate {
  const { body, prevHash, hash } = entry;
  // `hash` needs no format check of its own: it must equal the hex digest computed below.
  if (typeof body !== 'string' || typeof hash !== 'string' || !isHash(prevHash)) {
    return { ...MALFORMED, seq: isSeq(entry.seq) ? entry.seq : undefined };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const fields = isRecord(parsed) ? parsed : {};
  const seq = isSeq(fields.seq) ? fields.seq : isSeq(entry.seq) ? entry.seq : undefined;
  const expiresAt = isEpoch(fields.expiresAt) ? fields.expiresAt : undefined;
  const prevExpiresAt = isEpoch(fields.prevExpiresAt) ? fields.prevExpiresAt : undefined;
  const event = fields.event;
  const wellFormed =
    hasExactly(entry, STORED_KEYS) &&
    hasExactly(fields, BODY_KEYS) &&
    seq !== undefined &&
    entry.seq === seq &&
    expiresAt !== undefined &&
    entry.expiresAt === expiresAt &&
    prevExpiresAt !== undefined &&
    isRecord(event) &&
    event.tenant === tenant;
  const selfConsistent =
    wellFormed && createHash('sha256').update(prevHash, 'hex').update(body, 'utf8').digest('hex') === hash;
  return {
    seq,
    prevHash,
    hash: selfConsistent ? hash : isHash(hash) ? hash : undefined,
    expiresAt,
    prevExpiresAt,
    selfConsistent,
  };
}

/** An entry written before format 2: its hashed bytes are recomputed by canonicalization. */
function legacyCandidateOf(entry: Record<string, unknown>, tenant: string): Candidate {
  const seq = isSeq(entry.seq) ? entry.seq : undefined;
  const prevHash = isHash(entry.prevHash) ? entry.prevHash : undefined;
  const hash = isHash(entry.hash) ? entry.hash : undefined;
  const expiresAt = isEpoch(entry.expiresAt) ? entry.expiresAt : undefined;
  const prevExpiresAt = isEpoch(entry.prevExpiresAt) ? entry.prevExpiresAt : undefined;
  const event = entry.event;
  const wellFormed =
    hasEntryKeys(entry) &&
    seq !== undefined &&
    prevHash !== undefined &&
    hash !== undefined &&
    expiresAt !== undefined &&
    prevExpiresAt !== undefined &&
    isRecord(event) &&
    event.tenant === tenant;
  let selfConsistent = false;
  if (wellFormed) {
    const content: ChainEntryContent = { seq, prevHash, expiresAt, prevExpiresAt, event };
    try {
      selfConsistent = chainEntryHash(content) === hash;
    } catch {
      // Content canonical JSON cannot encode was not written by a sequencer.
      selfConsistent = false;
    }
  }
  return { seq, prevHash, hash, expiresAt, prevExpiresAt, selfConsistent };
}

function candidateOf(raw: unknown, tenant: string): Candidate {
  if (!isRecord(raw)) return MALFORMED;
  return raw.format === CHAIN_ENTRY_FORMAT ? storedCandidateOf(raw, tenant) : legacyCandidateOf(raw, tenant);
}

interface DigestCheck {
  readonly valid: AuditDigest[];
  readonly problem: VerificationProblem | undefined;
}

function earlier(a: VerificationProblem | undefined, b: VerificationProblem | undefined) {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return b.seq < a.seq ? b : a;
}

/** Checks every digest on its own and as a chain; returns the good ones and the first problem. */
function checkDigests(options: ChainVerifierOptions): DigestCheck {
  let problem: VerificationProblem | undefined;
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
    // A digest whose predecessor may have expired (TTL removes in no particular order) anchors
    // the rest of the digest chain, as does the first digest of a partial export.
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
  return { valid, problem };
}

/**
 * Streaming verifier: `push` each entry in stored (or exported) order, then `finish`. Entries
 * pushed after the first problem are ignored.
 */
export class AuditChainVerifier {
  private readonly window: number;
  private readonly buffer: Candidate[] = [];
  private readonly digestProblem: VerificationProblem | undefined;
  private readonly digestsByToSeq = new Map<number, AuditDigest>();
  private readonly digestsVerified: number;
  private readonly latestLiveDigest: AuditDigest | undefined;
  private problem: VerificationProblem | undefined;
  private expectedSeq: number | undefined;
  private expectedPrevHash: string | undefined;
  private checked = 0;
  private firstSeq: number | undefined;
  private lastSeq: number | undefined;

  constructor(private readonly options: ChainVerifierOptions) {
    this.window = Math.max(2, options.window ?? DEFAULT_WINDOW);
    const digests = checkDigests(options);
    this.digestProblem = digests.problem;
    this.digestsVerified = digests.valid.length;
    for (const digest of digests.valid) this.digestsByToSeq.set(digest.toSeq, digest);
    // Truncation is judged against the last digest whose entries cannot all have expired yet.
    this.latestLiveDigest = digests.valid.filter((digest) => digest.expiresAt > options.now).at(-1);
  }

  push(raw: unknown): void {
    if (this.problem !== undefined) return;
    this.buffer.push(candidateOf(raw, this.options.tenant));
    while (this.buffer.length > this.window && this.problem === undefined) this.step();
  }

  finish(): VerificationResult {
    while (this.buffer.length > 0 && this.problem === undefined) this.step();
    if (this.problem === undefined && this.latestLiveDigest !== undefined) {
      const head = this.latestLiveDigest.toSeq;
      if (this.lastSeq === undefined || this.lastSeq < head) {
        const from = (this.lastSeq ?? (this.options.anchorSeq ?? 1) - 1) + 1;
        this.problem = {
          seq: from,
          reason: 'truncated',
          detail: `Entries from seq ${from} are gone, but a digest covers the chain up to seq ${head}`,
        };
      }
    }
    const firstBad = earlier(this.problem, this.digestProblem) ?? null;
    return {
      ok: firstBad === null,
      checked: this.checked,
      firstBad,
      digestsVerified: this.digestsVerified,
      firstSeq: this.firstSeq,
      lastSeq: this.lastSeq,
    };
  }

  private step(): void {
    const [entry] = this.buffer;
    if (entry === undefined) return;
    if (this.expectedSeq === undefined) {
      // The start: seq 1 after the genesis hash, the anchor of a partial export, or the first
      // entry left after the oldest ones expired.
      const anchor = this.options.anchorSeq;
      if (anchor !== undefined && entry.selfConsistent && entry.seq === anchor) return this.accept(entry);
      if (entry.selfConsistent && entry.seq === 1 && entry.prevHash === GENESIS_HASH)
        return this.accept(entry);
      if (entry.selfConsistent && this.mayFollowExpiredEntries(entry, anchor ?? 1)) return this.accept(entry);
      this.expectedSeq = anchor ?? 1;
      this.expectedPrevHash = anchor === undefined ? GENESIS_HASH : undefined;
    }
    const seq = this.expectedSeq;
    if (this.fits(entry, seq)) return this.accept(entry);
    if (entry.selfConsistent && this.mayFollowExpiredEntries(entry, seq)) return this.accept(entry);
    this.problem = this.classify(entry, seq);
  }

  /** A gap before `entry` is expiry when everything before it has passed its expiry. */
  private mayFollowExpiredEntries(entry: Candidate, expected: number): boolean {
    return (
      entry.seq !== undefined &&
      entry.seq > expected &&
      entry.prevExpiresAt !== undefined &&
      entry.prevExpiresAt <= this.options.now
    );
  }

  private fits(entry: Candidate, seq: number): boolean {
    return (
      entry.selfConsistent &&
      entry.seq === seq &&
      (this.expectedPrevHash === undefined || entry.prevHash === this.expectedPrevHash)
    );
  }

  private accept(entry: Candidate): void {
    this.buffer.shift();
    const seq = entry.seq ?? 0;
    const digest = this.digestsByToSeq.get(seq);
    if (digest !== undefined && digest.headHash !== entry.hash) {
      // The signed head right behind it means this one is an extra entry, not an edited one.
      const signedHeadFollows = this.buffer.some(
        (candidate) =>
          candidate.selfConsistent && candidate.seq === seq && candidate.hash === digest.headHash,
      );
      this.problem = signedHeadFollows
        ? { seq, reason: 'inserted', detail: `An entry that does not belong sits before entry ${seq}` }
        : {
            seq,
            reason: 'modified',
            detail: `Entry ${seq} is not the head the digest of seq ${digest.fromSeq}..${seq} signed`,
          };
      return;
    }
    this.checked += 1;
    this.firstSeq ??= seq;
    this.lastSeq = seq;
    this.expectedSeq = seq + 1;
    this.expectedPrevHash = entry.hash;
  }

  private classify(entry: Candidate, seq: number): VerificationProblem {
    const ahead = this.buffer.slice(1);
    const trueEntry = ahead.find((candidate) => this.fits(candidate, seq));
    const claimed = entry.seq;
    if (trueEntry !== undefined) {
      // The entry for `seq` is further on: this one is out of place (reordered) or extra (inserted).
      const belongsLater =
        entry.selfConsistent &&
        claimed !== undefined &&
        claimed > seq &&
        ahead.some(
          (candidate) =>
            candidate.selfConsistent && candidate.seq === claimed - 1 && candidate.hash === entry.prevHash,
        );
      if (belongsLater) {
        return {
          seq,
          reason: 'reordered',
          detail: `Entry ${seq} comes after entry ${claimed}, which belongs after it`,
        };
      }
      return this.inserted(entry, seq);
    }
    if (claimed === seq) {
      return {
        seq,
        reason: 'modified',
        detail: entry.selfConsistent
          ? `Entry ${seq} does not follow entry ${seq - 1} (its prevHash differs)`
          : `Entry ${seq} does not hash to its recorded hash`,
      };
    }
    if (claimed !== undefined && claimed > seq) {
      return entry.selfConsistent
        ? {
            seq,
            reason: 'missing',
            detail:
              claimed === seq + 1
                ? `Entry ${seq} is missing (entry ${claimed} follows entry ${seq - 1})`
                : `Entries ${seq}..${claimed - 1} are missing`,
          }
        : { seq, reason: 'modified', detail: `Entry ${seq} does not hash to its recorded hash` };
    }
    if (entry.selfConsistent) return this.inserted(entry, seq);
    return { seq, reason: 'modified', detail: `Entry ${seq} does not hash to its recorded hash` };
  }

  private inserted(entry: Candidate, seq: number): VerificationProblem {
    // An extra copy of the entry just verified is reported at the sequence number it repeats.
    const repeated = entry.seq !== undefined && entry.seq === seq - 1;
    return {
      seq: repeated ? seq - 1 : seq,
      reason: 'inserted',
      detail: repeated
        ? `Entry ${seq - 1} appears twice`
        : `An entry that does not belong sits before entry ${seq}`,
    };
  }
}

/** Verifies a whole chain held in memory (tests, small exports). */
export function verifyAuditChain(
  entries: Iterable<unknown>,
  options: ChainVerifierOptions,
): VerificationResult {
  const verifier = new AuditChainVerifier(options);
  for (const entry of entries) verifier.push(entry);
  return verifier.finish();
}
