/**
 * The per-tenant hash chain of audit events (DESIGN.md, Audit; ADR 0004). Entry `seq` (1, 2, …,
 * gap-free) holds one audit event and
 *
 *   hash = hex(SHA-256( bytes(prevHash) ‖ UTF-8(canonicalJson({ event, expiresAt, prevExpiresAt, seq })) ))
 *
 * where `prevHash` is the previous entry's hash (64 zeros before the first) and canonicalJson is
 * RFC 8785 (lambdas/core/audit/canonical-json.ts). Binding `seq` makes a moved entry fail on its
 * own; binding the expiries makes an early deletion by TTL detectable, and `prevExpiresAt` tells a
 * verifier whether the entries before a gap may legitimately have expired.
 *
 * Stored form (ADR 0004, "Stored bytes"): an entry keeps the exact bytes that were hashed after
 * `prevHash` as the string `body` (format 2: `{format: 2, seq, prevHash, hash, body, expiresAt}`;
 * `seq` and `expiresAt` are copies the table's key and TTL need, checked against the body). A
 * verifier hashes `prevHash ‖ body` and parses the body once, as CloudTrail digests commit to log
 * files. Entries written before format 2 (`{seq, prevHash, hash, expiresAt, prevExpiresAt,
 * event}`) are read as they are, their bytes recomputed by canonicalization: no migration.
 */
import { hash } from 'node:crypto';
import type { AuditEvent } from './audit-event.js';
import { canonicalJson } from './canonical-json.js';

/** The `prevHash` of entry 1. */
export const GENESIS_HASH = '0'.repeat(64);

/** Sequence numbers are stored zero-padded to this many digits, so they sort as strings. */
export const SEQ_DIGITS = 12;
export const MAX_SEQ = 10 ** SEQ_DIGITS - 1;

export interface ChainEntry {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
  /** Epoch seconds after which DynamoDB TTL may remove the entry; never smaller than the previous entry's. */
  readonly expiresAt: number;
  /** The previous entry's `expiresAt` (0 before entry 1). */
  readonly prevExpiresAt: number;
  readonly event: AuditEvent;
  /** The bytes hashed after `prevHash`, when this entry was built or read in format 2. */
  readonly body?: string;
}

/** The stored form that keeps the hashed bytes. */
export const CHAIN_ENTRY_FORMAT = 2;

export interface StoredChainEntry {
  readonly format: typeof CHAIN_ENTRY_FORMAT;
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
  /** Exactly the UTF-8 text hashed after `prevHash`: canonical JSON of {event, expiresAt, prevExpiresAt, seq}. */
  readonly body: string;
  readonly expiresAt: number;
}

/** An entry as it is stored from now on. */
export function storedChainEntry(entry: ChainEntry): StoredChainEntry {
  return {
    format: CHAIN_ENTRY_FORMAT,
    seq: entry.seq,
    prevHash: entry.prevHash,
    hash: entry.hash,
    body: entry.body ?? chainEntryPayload(entry),
    expiresAt: entry.expiresAt,
  };
}

/**
 * A stored entry of either form with its fields at the top (`{seq, prevHash, hash, expiresAt,
 * prevExpiresAt, event}`), for readers other than the verifier (lists, CSV, tail checks). A
 * format-2 entry whose body does not parse is returned as stored; the verifier reports it.
 */
export function expandChainEntry(stored: Readonly<Record<string, unknown>>): Record<string, unknown> {
  if (stored.format !== CHAIN_ENTRY_FORMAT || typeof stored.body !== 'string') return { ...stored };
  let body: unknown;
  try {
    body = JSON.parse(stored.body);
  } catch {
    return { ...stored };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ...stored };
  const { event, expiresAt, prevExpiresAt, seq } = body as Record<string, unknown>;
  return { seq, prevHash: stored.prevHash, hash: stored.hash, expiresAt, prevExpiresAt, event };
}

/** The fields of an entry the hash covers, with `prevHash` as the chaining input. */
export interface ChainEntryContent {
  readonly seq: number;
  readonly prevHash: string;
  readonly expiresAt: number;
  readonly prevExpiresAt: number;
  readonly event: unknown;
}

/** The byte each pair of lowercase hex digits stands for, by `(code of first << 7) | code of second`; -1 otherwise. */
const HEX_PAIRS = new Int16Array(128 * 128).fill(-1);
for (let high = 0; high < 16; high += 1) {
  for (let low = 0; low < 16; low += 1) {
    HEX_PAIRS[('0123456789abcdef'.charCodeAt(high) << 7) | '0123456789abcdef'.charCodeAt(low)] =
      (high << 4) | low;
  }
}

/** Where `isHash` decodes into: the format check is the decoding loop, so there is one of each. */
const HASH_CHECK = Buffer.alloc(32);

/** 64 lowercase hex digits (a loop: a verifier asks this of every entry, and the regex costs more). */
export function isHash(value: unknown): value is string {
  return typeof value === 'string' && writeHashBytes(value, HASH_CHECK);
}

/** Writes the 32 bytes a hash stands for at the start of `target`; false if it is not a hash. */
function writeHashBytes(value: string, target: Buffer): boolean {
  if (value.length !== 64) return false;
  let bits = 0;
  for (let index = 0; index < 32; index += 1) {
    const high = value.charCodeAt(2 * index);
    const low = value.charCodeAt(2 * index + 1);
    // Both characters at once: one lookup per byte.
    const byte = (high | low) < 128 ? (HEX_PAIRS[(high << 7) | low] ?? -1) : -1;
    bits |= byte;
    target[index] = byte;
  }
  return bits >= 0;
}

/** The bytes an entry's hash is taken over, after `prevHash`. */
export function chainEntryPayload(content: ChainEntryContent): string {
  return canonicalJson({
    event: content.event,
    expiresAt: content.expiresAt,
    prevExpiresAt: content.prevExpiresAt,
    seq: content.seq,
  });
}

/** The hash of an entry with this content; throws if `prevHash` is not 64 hex digits. */
export function chainEntryHash(content: ChainEntryContent): string {
  const hash = hashOfStoredBytes(content.prevHash, chainEntryPayload(content));
  if (hash === undefined) throw new RangeError('prevHash must be 64 lowercase hex digits');
  return hash;
}

/** Bodies up to this size (in UTF-8, at most 3 bytes per UTF-16 unit) use the reused buffer. */
const SCRATCH_BYTES = 16_384;
/** How many views of the reused buffer, one per length, are kept. */
const MAX_VIEWS = 1_024;

function viewOf(bytes: Buffer): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * `bytes(prevHash) ‖ UTF-8(body)` assembled in a reused buffer and hashed in one native call: a
 * verifier hashes every entry, and a fresh Hash object with two updates per entry costs more than
 * the digest of a few hundred bytes. The verifier also reads a body's frame from these bytes.
 * Synchronous use only: an instance is reloaded for every entry.
 */
export class StoredBytes {
  /** `bytes(prevHash) ‖ UTF-8(body)` at `[0, length)` after `load`. */
  bytes: Buffer;
  /** A view of `bytes`, for reading several bytes at once. */
  view: DataView;
  length = 0;
  /** `prevHash` was 64 lowercase hex digits (otherwise its 32 bytes are meaningless). */
  prevHashIsHash = false;
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  private readonly scratchView = viewOf(this.scratch);
  private readonly views = new Map<number, Buffer>();

  constructor() {
    this.bytes = this.scratch;
    this.view = this.scratchView;
  }

  load(prevHash: string, body: string): void {
    // A larger body gets a buffer of its own, so the reused one stays small.
    const fits = 32 + body.length * 3 <= SCRATCH_BYTES;
    const bytes = fits ? this.scratch : Buffer.allocUnsafe(32 + Buffer.byteLength(body, 'utf8'));
    this.prevHashIsHash = writeHashBytes(prevHash, bytes);
    this.length = 32 + bytes.write(body, 32, 'utf8');
    this.bytes = bytes;
    this.view = fits ? this.scratchView : viewOf(bytes);
  }

  /** `hex(SHA-256(bytes[0..length)))`. */
  digest(): string {
    return hash('sha256', this.assembled(), 'hex');
  }

  /**
   * `bytes[0..length)`. Views of the reused buffer are kept by length, a bounded number of them:
   * bodies come in few lengths, and a view per entry costs as much as a tenth of its hash.
   */
  private assembled(): Buffer {
    if (this.bytes !== this.scratch) return this.bytes;
    let view = this.views.get(this.length);
    if (view === undefined) {
      view = this.scratch.subarray(0, this.length);
      if (this.views.size < MAX_VIEWS) this.views.set(this.length, view);
    }
    return view;
  }
}

const storedBytes = new StoredBytes();

/**
 * `hex(SHA-256(bytes(prevHash) ‖ UTF-8(body)))`, the hash rule of every entry, or undefined when
 * `prevHash` is not a hash (64 lowercase hex digits): the format check and the decoding are one loop.
 */
export function hashOfStoredBytes(prevHash: string, body: string): string | undefined {
  storedBytes.load(prevHash, body);
  return storedBytes.prevHashIsHash ? storedBytes.digest() : undefined;
}

/**
 * The entry that appends `event` after `head` (or starts the chain). Its expiry is the later of
 * the event's own and the head's, so entries expire oldest first even after a retention change.
 */
export function nextChainEntry(
  head: ChainEntry | undefined,
  event: AuditEvent,
  eventExpiresAt: number,
): ChainEntry {
  const seq = (head?.seq ?? 0) + 1;
  if (seq > MAX_SEQ) throw new RangeError('The audit chain is full');
  const prevHash = head?.hash ?? GENESIS_HASH;
  if (!isHash(prevHash)) throw new RangeError('prevHash must be 64 lowercase hex digits');
  const prevExpiresAt = head?.expiresAt ?? 0;
  const expiresAt = Math.max(eventExpiresAt, prevExpiresAt);
  const content = { seq, prevHash, expiresAt, prevExpiresAt, event };
  // The body is canonicalized once, hashed, and kept: it is what gets stored.
  const body = chainEntryPayload(content);
  const hash = hashOfStoredBytes(prevHash, body);
  if (hash === undefined) throw new RangeError('prevHash must be 64 lowercase hex digits');
  return { ...content, hash, body };
}

/** `seq` as stored in a sort key. */
export function formatSeq(seq: number): string {
  if (!Number.isSafeInteger(seq) || seq < 0 || seq > MAX_SEQ)
    throw new RangeError(`Invalid sequence number ${seq}`);
  return String(seq).padStart(SEQ_DIGITS, '0');
}

/** The key of an event in its tenant's event partition: time first, so it sorts by time. */
export function eventSortKey(event: Pick<AuditEvent, 'time' | 'eventId'>): string {
  return `${event.time}#${event.eventId}`;
}

const SECONDS_PER_DAY = 86_400;

/** When an event recorded at `time` expires under a retention of `retentionDays` (epoch seconds). */
export function expiryOf(time: string, retentionDays: number): number {
  return Math.floor(Date.parse(time) / 1000) + retentionDays * SECONDS_PER_DAY;
}

/**
 * How long a request may take from stamping its event's time to its durable write. Younger
 * events may still be arriving: catch-up leaves them to the sequencers, and the checks of a
 * chain's end look this far back for its newest events.
 */
export const RECORDING_GRACE_MS = 5 * 60_000;
