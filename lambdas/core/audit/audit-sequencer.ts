/**
 * The sequencer: appends durably recorded audit events to their tenant's hash chain (ADR 0004).
 * The request path never waits on the chain head (DESIGN.md, "Mind the hot spot"): events are
 * stored contention-free under their own keys, and the sequencer chains them right after, from a
 * DynamoDB stream in AWS and in-process locally, with a scheduled catch-up for stragglers.
 *
 * Exactly once, even with several sequencers and retries:
 * 1. read the head (consistently) and make sure its event has its "chained" marker;
 * 2. read the markers of the candidate events (consistently) and drop the chained ones;
 * 3. append each remaining event with a conditional put on `seq = head + 1`, then write its marker.
 * Every entry below the head has its marker before anything is appended after it, so a sequencer
 * whose conditional put succeeds saw every chained event. One that loses a put starts over at 1.
 *
 * Step 1 is skipped when this sequencer knows the head already: the entry it appended (or read
 * and marked) last for the tenant. Its marker is written, so the argument above holds for it; if
 * another sequencer has appended since, the known head is stale and the conditional put on
 * `seq = head + 1` fails, which starts over at 1 with a consistent read. That saves a Query and a
 * PutItem per batch, the batch overhead of the in-process appender and of a stream shard.
 */
import { type ChainEntry, eventSortKey, nextChainEntry } from './audit-chain.js';
import type { AuditEvent } from './audit-event.js';
import type { AuditChainStore, RecordedAuditEvent } from './audit-store.js';
import type { DomainEvent, EventPublisher } from '../events.js';
import { DependencyUnavailableError } from '../errors.js';

/** The type of the event published for every chained audit event. */
export const AUDIT_EVENT_CHAINED = 'audit.event.chained';

export interface ChainedAuditEvent {
  readonly event: AuditEvent;
  readonly seq: number;
  /** Whether this run appended it (false: it was chained before, e.g. a retried batch). */
  readonly appended: boolean;
}

/** Tenants whose last known head a sequencer keeps (the oldest is forgotten first). */
const KNOWN_HEADS = 1000;

export interface AuditSequencerOptions {
  /** How many times to start over after losing the head to another sequencer. */
  readonly maxAttempts?: number;
  /** Waits between attempts (jittered); tests pass a no-op. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What the fan-out carries: the facts rules match on, never a value (events hold none anyway). */
export function chainedDomainEvent(chained: ChainedAuditEvent): DomainEvent {
  const { event, seq } = chained;
  return {
    type: AUDIT_EVENT_CHAINED,
    tenant: event.tenant,
    time: event.time,
    detail: {
      seq,
      eventId: event.eventId,
      action: event.action,
      outcome: event.outcome,
      actor: { kind: event.actor.kind, id: event.actor.id },
      target: event.target,
      ...(event.reason === undefined ? {} : { reason: event.reason }),
      ...(event.requestId === undefined ? {} : { requestId: event.requestId }),
      ...(event.correlationId === undefined ? {} : { correlationId: event.correlationId }),
    },
  };
}

export class AuditSequencer {
  private readonly maxAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Per tenant, the head this sequencer appended or read last, its marker written. */
  private readonly knownHeads = new Map<string, ChainEntry>();

  constructor(
    private readonly store: AuditChainStore,
    private readonly publisher: EventPublisher | undefined,
    options: AuditSequencerOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 50;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * Chains the given events of one tenant (those already chained are skipped) and publishes one
   * `audit.event.chained` per event. Resolves with every event's place in the chain.
   */
  async chain(tenant: string, recorded: readonly RecordedAuditEvent[]): Promise<ChainedAuditEvent[]> {
    const candidates = uniqueByKey(recorded.filter(({ event }) => event.tenant === tenant));
    if (candidates.length === 0) return [];
    const chained = await this.append(tenant, candidates);
    if (this.publisher !== undefined && chained.length > 0) {
      // At least once: a failed publish fails the run, and a retry publishes the events again.
      await this.publisher.publish(chained.map(chainedDomainEvent));
    }
    return chained;
  }

  private async append(
    tenant: string,
    candidates: readonly RecordedAuditEvent[],
  ): Promise<ChainedAuditEvent[]> {
    const done = new Map<string, ChainedAuditEvent>();
    for (let attempt = 1; attempt <= this.maxAttempts; attempt += 1) {
      // Taken out, not read: a run that fails or loses a put leaves no head behind to trust.
      const known = this.knownHeads.get(tenant);
      this.knownHeads.delete(tenant);
      let head = attempt === 1 ? known : undefined;
      if (head === undefined) {
        head = await this.store.head(tenant);
        if (head !== undefined) {
          await this.store.markChained(tenant, eventSortKey(head.event), head.seq, head.expiresAt);
        }
      }
      const pending = candidates.filter(({ event }) => !done.has(eventSortKey(event)));
      const keys = pending.map(({ event }) => eventSortKey(event));
      const marked = await this.store.chainedSeqs(tenant, keys);
      const unchained: RecordedAuditEvent[] = [];
      for (const candidate of pending) {
        const key = eventSortKey(candidate.event);
        // The head's marker was just written, so `marked` covers every chained event.
        const seq = marked.get(key);
        if (seq === undefined) unchained.push(candidate);
        else done.set(key, { event: candidate.event, seq, appended: false });
      }
      let lost = false;
      for (const candidate of unchained) {
        const entry: ChainEntry = nextChainEntry(head, candidate.event, candidate.expiresAt);
        if (!(await this.store.append(entry))) {
          lost = true;
          break;
        }
        const key = eventSortKey(candidate.event);
        await this.store.markChained(tenant, key, entry.seq, entry.expiresAt);
        done.set(key, { event: candidate.event, seq: entry.seq, appended: true });
        head = entry;
      }
      if (!lost) {
        if (head !== undefined) this.rememberHead(tenant, head);
        return candidates.map(({ event }) => done.get(eventSortKey(event))).filter(isDefined);
      }
      // Another sequencer appended first: back off a little (jittered), then start over from its head.
      await this.sleep(Math.min(200, 2 ** Math.min(attempt, 7)) * Math.random());
    }
    throw new DependencyUnavailableError(
      `The audit chain of tenant ${tenant} stayed contended for ${this.maxAttempts} attempts`,
      1,
    );
  }

  private rememberHead(tenant: string, head: ChainEntry): void {
    this.knownHeads.set(tenant, head);
    if (this.knownHeads.size > KNOWN_HEADS) {
      const oldest = this.knownHeads.keys().next();
      if (oldest.done !== true) this.knownHeads.delete(oldest.value);
    }
  }
}

function isDefined<T>(value: T | undefined): value is T {
  return value !== undefined;
}

/** One candidate per event, in time order (the order their sort keys give). */
function uniqueByKey(recorded: readonly RecordedAuditEvent[]): RecordedAuditEvent[] {
  const byKey = new Map<string, RecordedAuditEvent>();
  for (const candidate of recorded) byKey.set(eventSortKey(candidate.event), candidate);
  return [...byKey.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, candidate]) => candidate);
}
