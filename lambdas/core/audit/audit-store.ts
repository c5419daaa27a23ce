/**
 * The ports the audit chain needs from storage (the audit table in DynamoDB; an in-memory store in
 * tests). Every write is a single-item conditional put: no updates, no deletes, no transactions.
 */
import type { ChainEntry } from './audit-chain.js';
import type { AuditDigest } from './audit-digest.js';
import type { AuditAction, AuditEvent, AuditOutcome } from './audit-event.js';

/** A durably recorded event, with the expiry its tenant's retention gave it when recorded. */
export interface RecordedAuditEvent {
  readonly event: AuditEvent;
  readonly expiresAt: number;
}

export type RecordedEventStatus = 'same' | 'differs' | 'absent';

/** "The event with this sort key is chained at `seq`." */
export interface ChainedMarker {
  readonly eventSortKey: string;
  readonly seq: number;
  readonly expiresAt: number;
}

export interface SeqRange {
  readonly fromSeq?: number | undefined;
  readonly toSeq?: number | undefined;
}

export interface AuditChainStore {
  /** The newest entry of the tenant's chain, read consistently. */
  head(tenant: string): Promise<ChainEntry | undefined>;
  /** Puts `entry` if its `seq` is free; false when another sequencer took that `seq` first. */
  append(entry: ChainEntry): Promise<boolean>;
  /**
   * Records that the event with this sort key is chained at `seq` (idempotent). Written after
   * the entry and before the next one is appended, so every entry below the head has its marker.
   */
  markChained(tenant: string, eventSortKey: string, seq: number, expiresAt: number): Promise<void>;
  /** The chained seq of each of these event sort keys that has a marker (read consistently). */
  chainedSeqs(tenant: string, eventSortKeys: readonly string[]): Promise<ReadonlyMap<string, number>>;
  /** The stored entries in `seq` order, as stored (unparsed: the verifier judges them). */
  entries(tenant: string, range?: SeqRange): AsyncIterable<Record<string, unknown>>;
  /**
   * How the recorded event items of chained events compare with the chain's copies, by event
   * sort key: `same`, `differs` (a field or an index key was changed) or `absent`. Events that
   * name no time and id are left out. Read consistently.
   */
  recordedEventStatus(
    tenant: string,
    events: readonly unknown[],
  ): Promise<ReadonlyMap<string, RecordedEventStatus>>;
  /** The "chained" markers of events with `sortKey >= fromSortKey` (read consistently). */
  chainedMarkersSince(tenant: string, fromSortKey: string): AsyncIterable<ChainedMarker>;
  /** The stored entry at `seq`, unparsed, if any. */
  entryAt(tenant: string, seq: number): Promise<Record<string, unknown> | undefined>;
  /** The tenant's durably recorded events with `from <= time < to`, oldest first, in pages. */
  recordedEvents(tenant: string, from: string, to: string): AsyncIterable<readonly RecordedAuditEvent[]>;
  /** The stored digests in `fromSeq` order, unparsed. */
  digests(tenant: string): AsyncIterable<Record<string, unknown>>;
  /** The newest valid digest, if any. */
  latestDigest(tenant: string): Promise<AuditDigest | undefined>;
  /** Puts `digest` if no digest starts at its `fromSeq` yet; false when another one did first. */
  putDigest(digest: AuditDigest): Promise<boolean>;
  /** Every tenant that has recorded an audit event (a sparse index, never a scan). */
  tenants(): AsyncIterable<string>;
}

export interface AuditQueryFilter {
  readonly actor?: string | undefined;
  readonly action?: AuditAction | undefined;
  /** A target path, credential id, policy name or HMAC (`hmac-sha256:…`), matched exactly. */
  readonly target?: string | undefined;
  readonly outcome?: AuditOutcome | undefined;
  /** ISO times, inclusive. */
  readonly from?: string | undefined;
  readonly to?: string | undefined;
}

export interface AuditQueryPage {
  readonly limit: number;
  /** Opaque: where the previous page stopped. */
  readonly cursor?: string | undefined;
}

export interface AuditQueryResult {
  /** Newest first. */
  readonly events: readonly AuditEvent[];
  readonly cursor: string | undefined;
}

/** Reads a tenant's recorded events, newest first, through indexes (never a scan). */
export interface AuditEventQuery {
  query(tenant: string, filter: AuditQueryFilter, page: AuditQueryPage): Promise<AuditQueryResult>;
}

/** Per-tenant audit settings. */
export interface AuditSettings {
  readonly retentionDays: number;
}

export interface AuditSettingsStore {
  /** The tenant's settings, or the defaults when it has none. */
  get(tenant: string): Promise<AuditSettings>;
  put(tenant: string, settings: AuditSettings): Promise<void>;
}
