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
import type { KeyObject } from 'node:crypto';
import {
  CHAIN_ENTRY_FORMAT,
  type ChainEntryContent,
  chainEntryHash,
  GENESIS_HASH,
  isHash,
  StoredBytes,
} from './audit-chain.js';
import {
  type AuditDigest,
  AuditDigestSchema,
  DIGEST_FORMAT,
  digestHash,
  verifyDigestSignature,
} from './audit-digest.js';

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
  /**
   * Digests whose content the key authenticates (by their own signature, or through a format-2
   * successor's `prevDigestHash`) and whose place in the digest chain is valid.
   */
  readonly digestsVerified: number;
  /** Digest signatures checked with the key to get there (one per run of linked format-2 digests). */
  readonly digestSignaturesChecked: number;
  /** First and last sequence number found intact (undefined when none). */
  readonly firstSeq: number | undefined;
  readonly lastSeq: number | undefined;
}

/** A result as the API and `--json` show it: no `detail`, absent sequence numbers as null. */
export interface VerificationSummary {
  readonly ok: boolean;
  readonly checked: number;
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  readonly digestsVerified: number;
  readonly firstBad: { readonly seq: number; readonly reason: VerificationReason } | null;
}

export function verificationSummary(result: VerificationResult): VerificationSummary {
  const { firstBad } = result;
  return {
    ok: result.ok,
    checked: result.checked,
    firstSeq: result.firstSeq ?? null,
    lastSeq: result.lastSeq ?? null,
    digestsVerified: result.digestsVerified,
    firstBad: firstBad === null ? null : { seq: firstBad.seq, reason: firstBad.reason },
  };
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

/** `format`, `seq`, `prevHash`, `hash`, `body`, `expiresAt`. */
const STORED_KEY_COUNT = 6;

/** How many enumerable keys a record has (inherited ones too: a polluted prototype fails closed). */
function keyCount(record: Record<string, unknown>): number {
  let count = 0;
  for (const _key in record) count += 1;
  return count;
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
 * A fixed run of bytes the frame must hold, compared eight (or four) bytes at a time through a
 * `DataView` (one wide read costs about what one byte of a buffer does), the last read overlapping
 * the one before so that no byte is compared singly. Eight bytes are compared as a double, which
 * equals another exactly when their bits are equal unless it is NaN (equal to nothing) or ±0
 * (equal to each other): a literal with such a chunk, or shorter than 8 bytes, uses 32-bit words.
 */
class Literal {
  readonly length: number;
  /** Chunks of 8 bytes (as doubles) or of 4 (as 32-bit integers). */
  private readonly wide: boolean;
  /** Where each chunk starts, and what it holds. */
  private readonly offsets: Int32Array;
  private readonly chunks: Float64Array;

  constructor(text: string) {
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length < 4) throw new RangeError('A frame literal has at least 4 bytes');
    this.length = bytes.length;
    const chunksOf = (size: number) => {
      const offsets = Int32Array.from({ length: Math.ceil(bytes.length / size) }, (_, index) =>
        Math.min(index * size, bytes.length - size),
      );
      const read = (offset: number) => (size === 8 ? bytes.readDoubleLE(offset) : bytes.readInt32LE(offset));
      return { offsets, chunks: Float64Array.from(offsets, read) };
    };
    const doubles = bytes.length >= 8 ? chunksOf(8) : undefined;
    this.wide = doubles !== undefined && doubles.chunks.every((chunk) => chunk === chunk && chunk !== 0);
    ({ offsets: this.offsets, chunks: this.chunks } =
      this.wide && doubles !== undefined ? doubles : chunksOf(4));
  }

  /** `view` holds this literal at `at` (the caller keeps `at..at + length` within the view). */
  isAt(view: DataView, at: number): boolean {
    const offsets = this.offsets;
    const chunks = this.chunks;
    for (let index = 0; index < chunks.length; index += 1) {
      const offset = at + (offsets[index] ?? 0);
      const chunk = this.wide ? view.getFloat64(offset, true) : view.getInt32(offset, true);
      if (chunk !== chunks[index]) return false;
    }
    return true;
  }
}

/** How a format-2 body begins: the event, an object, is its first key (canonical order). */
const BODY_HEAD = new Literal('{"event":{');
/** The body's last three keys, after the event, in canonical order; each holds an integer. */
const EXPIRES_AT = new Literal('},"expiresAt":');
const PREV_EXPIRES_AT = new Literal(',"prevExpiresAt":');
const SEQ = new Literal(',"seq":');
const DIGIT_0 = 0x30;
const COMMA = 0x2c;
const CLOSING_BRACE = 0x7d;
/** An event's last member, `time` (`Date#toISOString()`, 24 characters), before its `}`. */
const TIME_MEMBER = ',"time":"';
const TIME_LENGTH = 24;
const TIME_MEMBER_LENGTH = TIME_MEMBER.length + TIME_LENGTH + 1;
const QUOTE = 0x22;
/** Four quotes, four backslashes, and the low bit of each byte of a 32-bit word. */
const QUOTES = 0x22222222;
const BACKSLASHES = 0x5c5c5c5c;
const LOW_BITS = 0x01010101;
const HIGH_BITS = 0x80808080 | 0;

/** Whether a 32-bit word has a zero byte (exact: a carry can only come from a zero byte below). */
function hasZeroByte(word: number): boolean {
  return ((word - LOW_BITS) & ~word & HIGH_BITS) !== 0;
}

/** The 24 bytes from `from` hold no quote or backslash, and a quote follows them. */
function isPlainTime(view: DataView, from: number): boolean {
  for (let at = from; at < from + TIME_LENGTH; at += 4) {
    const word = view.getInt32(at, true);
    if (hasZeroByte(word ^ QUOTES) || hasZeroByte(word ^ BACKSLASHES)) return false;
  }
  return view.getUint8(from + TIME_LENGTH) === QUOTE;
}

/** Two ASCII digits read as a little-endian 16-bit number → their value (0..99), else -1. */
const DIGIT_PAIRS = new Int8Array(0x10000).fill(-1);
for (let tens = 0; tens < 10; tens += 1) {
  for (let ones = 0; ones < 10; ones += 1)
    DIGIT_PAIRS[(DIGIT_0 + tens) | ((DIGIT_0 + ones) << 8)] = tens * 10 + ones;
}

/** More digits than a safe integer has, so any value read fits. */
const MAX_DIGITS = 15;

/**
 * Reads what verification needs from a format-2 body without parsing the event (ADR 0004,
 * "Verification reads the frame"): canonical JSON of `{event, expiresAt, prevExpiresAt, seq}`
 * always starts with `{"event":{` and ends `},"expiresAt":N,"prevExpiresAt":N,"seq":N}`, read
 * here backwards from the end. The event's `tenant` member is the only structural
 * `,"tenant":"…"` whose value can be a tenant (a quote inside a string is escaped, and the one
 * nested `tenant` key the schema allows, in `target.hashed`, holds an HMAC). Every byte is bound
 * by the hash anyway; the frame is where the links and expiries are read from.
 *
 * It reads the body's UTF-8 bytes as they are about to be hashed, not the string: a byte of a
 * buffer costs a fraction of a `charCodeAt`, and the frame is ASCII, so its positions from the
 * end are the same in both.
 */
class BodyFrameReader {
  // What the last successful `read` found: fields rather than a result object, as this runs for
  // every entry and its caller copies what it keeps.
  seq = 0;
  expiresAt = 0;
  prevExpiresAt = 0;
  /** The event's own `tenant` is the verifier's tenant. */
  ofTenant = false;
  private readonly tenantMember: string;
  /** `,"tenant":"<tenant>","time":"`. */
  private readonly tenantThenTime: Literal;
  /** The integer the last `integerBefore` read. */
  private integer = 0;

  constructor(tenant: string) {
    this.tenantMember = `,"tenant":${JSON.stringify(tenant)}`;
    this.tenantThenTime = new Literal(`${this.tenantMember}${TIME_MEMBER}`);
  }

  /**
   * Whether `body`, whose UTF-8 is `bytes[from..to)` (`view` over the same memory), has the frame;
   * if so, its fields are set. Every byte it reads lies in `from..to`.
   */
  read(body: string, bytes: Buffer, view: DataView, from: number, to: number): boolean {
    if (to - from < BODY_HEAD.length || bytes[to - 1] !== CLOSING_BRACE || !BODY_HEAD.isAt(view, from)) {
      return false;
    }
    let at = this.integerBefore(view, from, to - 1) - SEQ.length;
    const seq = this.integer;
    if (at < from || seq === 0 || !SEQ.isAt(view, at)) return false;
    at = this.integerBefore(view, from, at) - PREV_EXPIRES_AT.length;
    const prevExpiresAt = this.integer;
    if (at < from || !PREV_EXPIRES_AT.isAt(view, at)) return false;
    at = this.integerBefore(view, from, at) - EXPIRES_AT.length;
    if (at < from + BODY_HEAD.length || !EXPIRES_AT.isAt(view, at)) return false;
    this.seq = seq;
    this.prevExpiresAt = prevExpiresAt;
    this.expiresAt = this.integer;
    this.ofTenant = this.endsWithTenant(body, view, from, at, to);
    return true;
  }

  /** Whether the event that ends at byte `end` holds the tenant's `tenant` member. */
  private endsWithTenant(body: string, view: DataView, from: number, end: number, to: number): boolean {
    // Today's events end with `tenant` then `time` (always 24 characters): look there first. The
    // time may hold no quote or backslash, so that the member before it is surely the event's.
    const time = end - TIME_MEMBER_LENGTH + TIME_MEMBER.length;
    const member = time - this.tenantThenTime.length;
    if (member >= from && this.tenantThenTime.isAt(view, member) && isPlainTime(view, time)) return true;
    // Else search the string; what follows the event is ASCII, so it is as long as its bytes.
    const endOfEvent = body.length - (to - end);
    const found = body.lastIndexOf(this.tenantMember, endOfEvent);
    const after = found + this.tenantMember.length;
    return found > 0 && (after === endOfEvent || body.charCodeAt(after) === COMMA);
  }

  /**
   * Reads the integer in canonical form (no sign, no leading zero) that ends before `end` (and
   * after `from`) into `integer`, and answers where it starts; -1 when there is none.
   */
  private integerBefore(view: DataView, from: number, end: number): number {
    // One digit past the most a value may have, to tell a longer number from a valid one.
    const limit = Math.max(from, end - MAX_DIGITS - 1);
    let start = end;
    let value = 0;
    let scale = 1;
    // Two digits per read, then the one left over.
    while (start - 2 >= limit) {
      const pair = DIGIT_PAIRS[view.getUint16(start - 2, true)] ?? -1;
      if (pair < 0) break;
      value += pair * scale;
      scale *= 100;
      start -= 2;
    }
    if (start > limit) {
      const digit = view.getUint8(start - 1) - DIGIT_0;
      // Unsigned, so a byte below '0' is out of range too.
      if (digit >>> 0 <= 9) {
        value += digit * scale;
        start -= 1;
      }
    }
    const digits = end - start;
    if (digits === 0 || digits > MAX_DIGITS || (digits > 1 && view.getUint8(start) === DIGIT_0)) return -1;
    this.integer = value;
    return start;
  }
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

/**
 * What the verifier reads of one entry, refilled for each entry: an intact entry is judged from
 * these fields and allocates nothing; a `Candidate` is copied out only for the look-ahead.
 */
class EntryReader implements Candidate {
  seq: number | undefined = undefined;
  prevHash: string | undefined = undefined;
  hash: string | undefined = undefined;
  prevExpiresAt: number | undefined = undefined;
  expiresAt: number | undefined = undefined;
  selfConsistent = false;
  private readonly bodies: BodyFrameReader;
  private readonly stored = new StoredBytes();

  constructor(private readonly tenant: string) {
    this.bodies = new BodyFrameReader(tenant);
  }

  read(raw: unknown): void {
    if (!isRecord(raw)) this.copy(MALFORMED);
    else if (raw.format === CHAIN_ENTRY_FORMAT) this.readStored(raw);
    else this.copy(legacyCandidateOf(raw, this.tenant));
  }

  /** The entry just read, as a value of its own. */
  candidate(): Candidate {
    return {
      seq: this.seq,
      prevHash: this.prevHash,
      hash: this.hash,
      prevExpiresAt: this.prevExpiresAt,
      expiresAt: this.expiresAt,
      selfConsistent: this.selfConsistent,
    };
  }

  private copy(candidate: Candidate): void {
    this.seq = candidate.seq;
    this.prevHash = candidate.prevHash;
    this.hash = candidate.hash;
    this.prevExpiresAt = candidate.prevExpiresAt;
    this.expiresAt = candidate.expiresAt;
    this.selfConsistent = candidate.selfConsistent;
  }

  /**
   * A format-2 entry (the hashed bytes kept as `body`): the hash is taken over `prevHash ‖ body`
   * as stored, and the fields the links need are read from the body's frame, not parsed out of it.
   */
  private readStored(entry: Record<string, unknown>): void {
    const { body, prevHash, hash } = entry;
    const bodies = this.bodies;
    if (typeof body !== 'string' || typeof hash !== 'string' || typeof prevHash !== 'string') {
      this.copy(MALFORMED);
      this.seq = isSeq(entry.seq) ? entry.seq : undefined;
      return;
    }
    const stored = this.stored;
    stored.load(prevHash, body);
    if (!bodies.read(body, stored.bytes, stored.view, 32, stored.length)) {
      this.copy(MALFORMED);
      this.seq = isSeq(entry.seq) ? entry.seq : undefined;
      this.prevHash = stored.prevHashIsHash ? prevHash : undefined;
      return;
    }
    // The six stored keys are all present once these hold (format was checked by the caller), so
    // counting the keys finds an added one.
    const wellFormed =
      bodies.ofTenant &&
      entry.seq === bodies.seq &&
      entry.expiresAt === bodies.expiresAt &&
      keyCount(entry) === STORED_KEY_COUNT;
    // Hashing checks `prevHash`'s format (undefined if it is not a hash); `hash` needs no format
    // check of its own: it must equal the hex digest.
    const selfConsistent = wellFormed && stored.prevHashIsHash && stored.digest() === hash;
    this.seq = bodies.seq;
    this.prevHash = stored.prevHashIsHash ? prevHash : undefined;
    this.hash = selfConsistent || isHash(hash) ? hash : undefined;
    this.expiresAt = bodies.expiresAt;
    this.prevExpiresAt = bodies.prevExpiresAt;
    this.selfConsistent = selfConsistent;
  }
}

interface DigestCheck {
  readonly valid: AuditDigest[];
  readonly problem: VerificationProblem | undefined;
  /** How many digest signatures were checked with the key (the others were vouched for). */
  readonly signaturesChecked: number;
}

function earlier(a: VerificationProblem | undefined, b: VerificationProblem | undefined) {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return b.seq < a.seq ? b : a;
}

/**
 * The digests whose content the key authenticates, and how many signatures that took. A digest
 * is authentic when its own signature verifies, or when an authentic format-2 digest that
 * directly follows it (`fromSeq` = its `toSeq + 1`) names its `digestHash` in `prevDigestHash`.
 *
 * Why the second way is exact, not an approximation (ADR 0004, "Digests"): an authentic digest
 * was signed by the key holder, so its `prevDigestHash` is what the signer wrote, and the signer
 * (`AuditDigestService`) writes a non-empty one only for a predecessor whose signature it had just
 * verified with this same key. `digestHash` covers every field of the record and the signature as
 * stored, so a record with that hash is (but for a SHA-256 collision) byte for byte that verified
 * one, and checking its signature again would answer true. Every digest counted as verified thus
 * has content authenticated by the key, directly or through a chain of hashes from a signature
 * that verified; the answer for each digest is the one checking its own signature would give.
 *
 * Walked from the newest digest down, so that every digest that could vouch for one is judged
 * before it: a run of linked format-2 digests costs one signature check, its newest.
 */
function authenticate(
  digests: readonly AuditDigest[],
  publicKey: KeyObject | undefined,
): { readonly authentic: ReadonlySet<AuditDigest>; readonly signaturesChecked: number } {
  const authentic = new Set<AuditDigest>();
  if (publicKey === undefined) return { authentic, signaturesChecked: 0 };
  // The `prevDigestHash` of each authentic format-2 digest, by its `fromSeq`.
  const vouchedFor = new Map<number, Set<string>>();
  let signaturesChecked = 0;
  for (const digest of [...digests].sort((a, b) => b.fromSeq - a.fromSeq)) {
    const hashes = vouchedFor.get(digest.toSeq + 1);
    let ok = hashes !== undefined && hashes.has(digestHash(digest));
    if (!ok) {
      // No successor vouches for it (none, format 1, or a link that does not match: altered
      // content or another record in its place): its own signature decides, and words the problem.
      signaturesChecked += 1;
      ok = verifyDigestSignature(digest, publicKey);
    }
    if (!ok) continue;
    authentic.add(digest);
    if (digest.format === DIGEST_FORMAT && digest.prevDigestHash !== '') {
      const set = vouchedFor.get(digest.fromSeq) ?? new Set<string>();
      set.add(digest.prevDigestHash);
      vouchedFor.set(digest.fromSeq, set);
    }
  }
  return { authentic, signaturesChecked };
}

/** Checks every digest on its own and as a chain; returns the good ones and the first problem. */
function checkDigests(options: ChainVerifierOptions): DigestCheck {
  let problem: VerificationProblem | undefined;
  // Each record in the order given: a well-formed digest of this tenant, or its problem.
  const records: (AuditDigest | VerificationProblem)[] = [];
  for (const raw of options.digests) {
    const result = AuditDigestSchema.safeParse(raw);
    const claimedFrom = isRecord(raw) && isSeq(raw.fromSeq) ? raw.fromSeq : 1;
    if (!result.success) {
      records.push({ seq: claimedFrom, reason: 'bad-signature', detail: 'A digest record is malformed' });
      continue;
    }
    const digest = result.data;
    if (digest.tenant !== options.tenant || digest.toSeq < digest.fromSeq) {
      records.push({
        seq: digest.fromSeq,
        reason: 'bad-signature',
        detail: `The digest from seq ${digest.fromSeq} is not one of this tenant's`,
      });
      continue;
    }
    records.push(digest);
  }
  const { authentic, signaturesChecked } = authenticate(
    records.filter((record): record is AuditDigest => 'format' in record),
    options.publicKey,
  );
  const parsed: AuditDigest[] = [];
  for (const record of records) {
    if (!('format' in record)) {
      problem = earlier(problem, record);
    } else if (!authentic.has(record)) {
      problem = earlier(problem, {
        seq: record.fromSeq,
        reason: 'bad-signature',
        detail: `The signature of the digest of seq ${record.fromSeq}..${record.toSeq} does not verify with the public key`,
      });
    } else {
      parsed.push(record);
    }
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
  return { valid, problem, signaturesChecked };
}

/** The first entry that cannot be accepted, waiting for the look-ahead that names its problem. */
interface Rejected {
  readonly entry: Candidate;
  /** The sequence number expected where it stands. */
  readonly seq: number;
  /** The digest ending at `entry.seq` whose head it is not; undefined when it does not fit at all. */
  readonly digest: AuditDigest | undefined;
}

/**
 * Streaming verifier: `push` each entry in stored (or exported) order, then `finish`. Entries
 * pushed after the first problem are ignored.
 *
 * Each entry is judged as it arrives: one that continues the chain (or follows expired entries)
 * is accepted at once. The first that does not is a problem at the expected seq in any case; only
 * which problem (modified, inserted, reordered, missing) depends on what follows, so the entries
 * after it, up to the look-ahead window, are kept and it is named when the window is full or the
 * input ends. A look-ahead kept before every entry would judge them the same (the entries ahead
 * are only read to name a problem), at the price of a copy of each.
 */
export class AuditChainVerifier {
  private readonly window: number;
  private rejected: Rejected | undefined;
  /** The entries after `rejected`, at most `window`. */
  private readonly ahead: Candidate[] = [];
  private readonly digestProblem: VerificationProblem | undefined;
  private readonly digestsByToSeq = new Map<number, AuditDigest>();
  /** The `toSeq` of every valid digest, ascending, and the first not below the last seq accepted. */
  private readonly digestEnds: number[];
  private nextDigestEnd = 0;
  private readonly digestsVerified: number;
  private readonly digestSignaturesChecked: number;
  private readonly latestLiveDigest: AuditDigest | undefined;
  private readonly reader: EntryReader;
  private problem: VerificationProblem | undefined;
  private expectedSeq: number | undefined;
  private expectedPrevHash: string | undefined;
  /**
   * The expiry of the last entry accepted: the next entry's `prevExpiresAt` (every sequencer writes
   * it so), and no more than that of an entry after a gap (expiries never decrease).
   */
  private lastExpiresAt: number | undefined;
  private checked = 0;
  private firstSeq: number | undefined;
  private lastSeq: number | undefined;

  constructor(private readonly options: ChainVerifierOptions) {
    this.window = Math.max(2, options.window ?? DEFAULT_WINDOW);
    this.reader = new EntryReader(options.tenant);
    const digests = checkDigests(options);
    this.digestProblem = digests.problem;
    this.digestsVerified = digests.valid.length;
    this.digestSignaturesChecked = digests.signaturesChecked;
    for (const digest of digests.valid) this.digestsByToSeq.set(digest.toSeq, digest);
    this.digestEnds = [...this.digestsByToSeq.keys()].sort((a, b) => a - b);
    // Truncation is judged against the last digest whose entries cannot all have expired yet.
    this.latestLiveDigest = digests.valid.filter((digest) => digest.expiresAt > options.now).at(-1);
  }

  push(raw: unknown): void {
    if (this.problem !== undefined) return;
    this.reader.read(raw);
    if (this.rejected === undefined) {
      this.judge(this.reader);
      return;
    }
    this.ahead.push(this.reader.candidate());
    if (this.ahead.length >= this.window) this.nameProblem();
  }

  finish(): VerificationResult {
    if (this.problem === undefined && this.rejected !== undefined) this.nameProblem();
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
      digestSignaturesChecked: this.digestSignaturesChecked,
      firstSeq: this.firstSeq,
      lastSeq: this.lastSeq,
    };
  }

  /** Accepts the entry just read, or keeps it as the rejected one. */
  private judge(entry: EntryReader): void {
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
    this.rejected = { entry: entry.candidate(), seq, digest: undefined };
  }

  /**
   * A gap before `entry` is expiry when everything before it has passed its expiry, and that
   * expiry is no earlier than the last accepted entry's (an entry claiming an earlier one was
   * not written after it).
   */
  private mayFollowExpiredEntries(entry: Candidate, expected: number): boolean {
    return (
      entry.seq !== undefined &&
      entry.seq > expected &&
      entry.prevExpiresAt !== undefined &&
      entry.prevExpiresAt <= this.options.now &&
      (this.lastExpiresAt === undefined || entry.prevExpiresAt >= this.lastExpiresAt)
    );
  }

  private fits(entry: Candidate, seq: number): boolean {
    return (
      entry.selfConsistent &&
      entry.seq === seq &&
      (this.expectedPrevHash === undefined || entry.prevHash === this.expectedPrevHash) &&
      (this.lastExpiresAt === undefined || entry.prevExpiresAt === this.lastExpiresAt)
    );
  }

  private accept(entry: EntryReader): void {
    const seq = entry.seq ?? 0;
    const digest = this.digestEndingAt(seq);
    if (digest !== undefined && digest.headHash !== entry.hash) {
      // Not the head the digest signed: edited, or an extra entry if the signed head follows.
      this.rejected = { entry: entry.candidate(), seq, digest };
      return;
    }
    this.checked += 1;
    this.firstSeq ??= seq;
    this.lastSeq = seq;
    this.expectedSeq = seq + 1;
    this.expectedPrevHash = entry.hash;
    this.lastExpiresAt = entry.expiresAt;
  }

  /**
   * The digest that ends at `seq`. Accepted seqs only increase, so a cursor over the digests'
   * ends replaces a lookup per entry.
   */
  private digestEndingAt(seq: number): AuditDigest | undefined {
    const ends = this.digestEnds;
    let next = this.nextDigestEnd;
    while (next < ends.length && (ends[next] ?? 0) < seq) next += 1;
    this.nextDigestEnd = next;
    return ends[next] === seq ? this.digestsByToSeq.get(seq) : undefined;
  }

  /** Names the problem of the rejected entry from the entries after it. */
  private nameProblem(): void {
    const rejected = this.rejected;
    if (rejected === undefined) return;
    const { seq, digest } = rejected;
    if (digest === undefined) {
      this.problem = this.classify(rejected.entry, seq);
      return;
    }
    // The signed head right behind it means this one is an extra entry, not an edited one.
    const signedHeadFollows = this.ahead.some(
      (candidate) => candidate.selfConsistent && candidate.seq === seq && candidate.hash === digest.headHash,
    );
    this.problem = signedHeadFollows
      ? { seq, reason: 'inserted', detail: `An entry that does not belong sits before entry ${seq}` }
      : {
          seq,
          reason: 'modified',
          detail: `Entry ${seq} is not the head the digest of seq ${digest.fromSeq}..${seq} signed`,
        };
  }

  private classify(entry: Candidate, seq: number): VerificationProblem {
    const ahead = this.ahead;
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
        detail: !entry.selfConsistent
          ? `Entry ${seq} does not hash to its recorded hash`
          : this.expectedPrevHash !== undefined && entry.prevHash !== this.expectedPrevHash
            ? `Entry ${seq} does not follow entry ${seq - 1} (its prevHash differs)`
            : `Entry ${seq} does not follow entry ${seq - 1} (its prevExpiresAt is not that entry's expiresAt)`,
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
