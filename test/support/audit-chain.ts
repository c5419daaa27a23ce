/**
 * Test helpers for the audit chain: an in-memory `AuditChainStore` with the same conditional-put
 * semantics as the DynamoDB one, a generator of events, and in-memory chains with signed digests.
 */
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import {
  type ChainEntry,
  eventSortKey,
  expandChainEntry,
  expiryOf,
  formatSeq,
  nextChainEntry,
  storedChainEntry,
} from '../../lambdas/core/audit/audit-chain.js';
import {
  type AuditDigest,
  DIGEST_FORMAT,
  DIGEST_FORMAT_1,
  digestHash,
  type DigestSigner,
  publicKeyFingerprint,
  signDigest,
} from '../../lambdas/core/audit/audit-digest.js';
import type { AuditAction, AuditEvent } from '../../lambdas/core/audit/audit-event.js';
import type {
  AuditChainStore,
  ChainedMarker,
  RecordedAuditEvent,
  RecordedEventStatus,
  SeqRange,
} from '../../lambdas/core/audit/audit-store.js';

const ACTIONS: readonly AuditAction[] = ['secret.read', 'secret.write', 'policy.read', 'secret.list'];

/** An event of `tenant` at `time` (default: one per second from 2025-03-01). */
export function auditEvent(tenant: string, n: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    eventId: randomUUID(),
    tenant,
    time: new Date(Date.UTC(2025, 2, 1) + n * 1000).toISOString(),
    actor: { kind: 'user', id: `user-${n % 7}`, sourceIp: '203.0.113.7', userAgent: 'vitest' },
    action: ACTIONS[n % ACTIONS.length] ?? 'secret.read',
    target: { path: `prod/app-${n % 13}/password`, version: (n % 5) + 1 },
    outcome: n % 11 === 0 ? 'denied' : 'allowed',
    requestId: `req-${n}`,
    ...overrides,
  };
}

export function recorded(event: AuditEvent, retentionDays = 365): RecordedAuditEvent {
  return { event, expiresAt: expiryOf(event.time, retentionDays) };
}

/** An Ed25519 signer held in memory. */
export function ed25519Signer(): DigestSigner & { readonly publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    algorithm: 'ED25519',
    publicKey,
    sign: async (message) => sign(null, message, privateKey),
    publicKeyPem: async () => pem,
  };
}

/**
 * A chain of `count` entries built in memory, with a digest after every `digestEvery` entries:
 * in format 2 (each naming its predecessor's `digestHash`, as `AuditDigestService` writes them)
 * but for the first `legacyDigests`, in format 1 (as digests signed before format 2 are stored).
 */
export async function buildChain(options: {
  tenant: string;
  count: number;
  digestEvery: number;
  signer: DigestSigner;
  retentionDays?: number;
  legacyDigests?: number;
}): Promise<{ entries: ChainEntry[]; digests: AuditDigest[] }> {
  const entries: ChainEntry[] = [];
  const digests: AuditDigest[] = [];
  const fingerprint = publicKeyFingerprint(await options.signer.publicKeyPem());
  let head: ChainEntry | undefined;
  for (let n = 1; n <= options.count; n += 1) {
    const event = auditEvent(options.tenant, n);
    head = nextChainEntry(head, event, expiryOf(event.time, options.retentionDays ?? 365));
    entries.push(head);
    if (n % options.digestEvery === 0) {
      const previous = digests.at(-1);
      const fields = {
        tenant: options.tenant,
        fromSeq: previous === undefined ? 1 : previous.toSeq + 1,
        toSeq: head.seq,
        headHash: head.hash,
        prevSignature: previous?.signature ?? '',
        prevExpiresAt: previous?.expiresAt ?? 0,
        expiresAt: head.expiresAt,
        createdAt: head.event.time,
        reconciledThrough: head.event.time,
        algorithm: options.signer.algorithm,
        keyFingerprint: fingerprint,
      };
      digests.push(
        await signDigest(
          digests.length < (options.legacyDigests ?? 0)
            ? { format: DIGEST_FORMAT_1, ...fields }
            : {
                format: DIGEST_FORMAT,
                ...fields,
                prevDigestHash: previous === undefined ? '' : digestHash(previous),
              },
          options.signer,
        ),
      );
    }
  }
  return { entries, digests };
}

/**
 * The entries as stores and exports held them before format 2 (fields at the top, no stored
 * bytes): plain records, which readers must still verify.
 */
export function asRecords(entries: readonly ChainEntry[]): Record<string, unknown>[] {
  return entries.map(
    ({ body: _body, ...entry }) => structuredClone(entry) as unknown as Record<string, unknown>,
  );
}

/** The entries as stores and exports hold them now (format 2, with the hashed bytes). */
export function asStoredRecords(entries: readonly ChainEntry[]): Record<string, unknown>[] {
  return entries.map((entry) => ({ ...storedChainEntry(entry) }));
}

/** `AuditChainStore` in memory, with the conditional-put semantics of the DynamoDB adapter. */
export class MemoryAuditChainStore implements AuditChainStore {
  readonly chains = new Map<string, Map<string, Record<string, unknown>>>();
  readonly markers = new Map<string, Map<string, number>>();
  readonly digestItems = new Map<string, Map<string, Record<string, unknown>>>();
  readonly events = new Map<string, RecordedAuditEvent[]>();
  appendCalls = 0;

  record(recordedEvent: RecordedAuditEvent): void {
    const list = this.events.get(recordedEvent.event.tenant) ?? [];
    list.push(recordedEvent);
    this.events.set(recordedEvent.event.tenant, list);
  }

  private chainOf(tenant: string): Map<string, Record<string, unknown>> {
    let chain = this.chains.get(tenant);
    if (chain === undefined) {
      chain = new Map();
      this.chains.set(tenant, chain);
    }
    return chain;
  }

  private sorted(tenant: string): Record<string, unknown>[] {
    return [...this.chainOf(tenant).entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, entry]) => entry);
  }

  async head(tenant: string): Promise<ChainEntry | undefined> {
    const head = this.sorted(tenant).at(-1);
    return head === undefined ? undefined : (expandChainEntry(head) as unknown as ChainEntry);
  }

  async append(entry: ChainEntry): Promise<boolean> {
    this.appendCalls += 1;
    const chain = this.chainOf(entry.event.tenant);
    const key = formatSeq(entry.seq);
    if (chain.has(key)) return false;
    chain.set(key, { ...storedChainEntry(entry) });
    return true;
  }

  async markChained(tenant: string, eventSortKey: string, seq: number): Promise<void> {
    const markers = this.markers.get(tenant) ?? new Map<string, number>();
    if (!markers.has(eventSortKey)) markers.set(eventSortKey, seq);
    this.markers.set(tenant, markers);
  }

  async chainedSeqs(tenant: string, keys: readonly string[]): Promise<ReadonlyMap<string, number>> {
    const markers = this.markers.get(tenant) ?? new Map<string, number>();
    return new Map(keys.flatMap((key) => (markers.has(key) ? [[key, markers.get(key) ?? 0] as const] : [])));
  }

  async *entries(tenant: string, range: SeqRange = {}): AsyncIterable<Record<string, unknown>> {
    for (const entry of this.sorted(tenant)) {
      const seq = entry.seq as number;
      if (range.fromSeq !== undefined && seq < range.fromSeq) continue;
      if (range.toSeq !== undefined && seq > range.toSeq) continue;
      yield entry;
    }
  }

  async recordedEventStatus(
    tenant: string,
    events: readonly unknown[],
  ): Promise<ReadonlyMap<string, RecordedEventStatus>> {
    const recordedEvents = new Map(
      (this.events.get(tenant) ?? []).map(({ event }) => [eventSortKey(event), event] as const),
    );
    const statuses = new Map<string, RecordedEventStatus>();
    for (const event of events as AuditEvent[]) {
      const recordedEvent = recordedEvents.get(eventSortKey(event));
      statuses.set(
        eventSortKey(event),
        recordedEvent === undefined
          ? 'absent'
          : JSON.stringify(recordedEvent) === JSON.stringify(event)
            ? 'same'
            : 'differs',
      );
    }
    return statuses;
  }

  async *chainedMarkersSince(tenant: string, fromSortKey: string): AsyncIterable<ChainedMarker> {
    const markers = [...(this.markers.get(tenant) ?? new Map<string, number>()).entries()].sort(([a], [b]) =>
      a < b ? -1 : 1,
    );
    for (const [eventSortKey, seq] of markers) {
      if (eventSortKey >= fromSortKey) yield { eventSortKey, seq, expiresAt: Number.MAX_SAFE_INTEGER };
    }
  }

  async entryAt(tenant: string, seq: number): Promise<Record<string, unknown> | undefined> {
    return this.chainOf(tenant).get(formatSeq(seq));
  }

  async *recordedEvents(
    tenant: string,
    from: string,
    to: string,
  ): AsyncIterable<readonly RecordedAuditEvent[]> {
    const list = (this.events.get(tenant) ?? [])
      .filter(({ event }) => event.time >= from && event.time < to)
      .sort((a, b) => (eventSortKey(a.event) < eventSortKey(b.event) ? -1 : 1));
    for (let i = 0; i < list.length; i += 25) yield list.slice(i, i + 25);
  }

  async *digests(tenant: string): AsyncIterable<Record<string, unknown>> {
    const digests = this.digestItems.get(tenant) ?? new Map();
    for (const [, digest] of [...digests.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) yield digest;
  }

  async latestDigest(tenant: string): Promise<AuditDigest | undefined> {
    let latest: AuditDigest | undefined;
    for await (const digest of this.digests(tenant)) latest = digest as AuditDigest;
    return latest;
  }

  async putDigest(digest: AuditDigest): Promise<boolean> {
    const digests = this.digestItems.get(digest.tenant) ?? new Map<string, Record<string, unknown>>();
    this.digestItems.set(digest.tenant, digests);
    const key = formatSeq(digest.fromSeq);
    if (digests.has(key)) return false;
    digests.set(key, { ...digest });
    return true;
  }

  async *tenants(): AsyncIterable<string> {
    yield* new Set([...this.events.keys(), ...this.chains.keys()]);
  }
}
