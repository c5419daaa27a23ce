/**
 * An `AuditSink` that chains what it records, in-process: the local runtime's sequencer (in AWS
 * a DynamoDB stream drives the sequencer instead). The durable write comes first and decides the
 * outcome (fail closed): `record` resolves as soon as the event is durable, as in AWS, and the
 * chain append follows right after, off the request path. Chaining runs one at a time per
 * tenant, each run taking every event queued meanwhile in the order their durable writes
 * finished, so the chain stays fork- and gap-free (the sequencer's conditional put on the head
 * guarantees that even against another sequencer) and concurrent requests of a tenant never
 * contend for the chain head. A chaining failure is reported, not thrown: the event is durable,
 * and the digest engine's catch-up chains it later. `settled()` waits for the appends queued
 * before it (reads of the chain made locally, and shutdown, wait on it): a counter per tenant,
 * not a promise per event. (It first waited on a promise per pending event, again and again
 * until none was left: under a steady load that was never, and each local chain reader left a
 * loop behind that grew the heap by gigabytes in a soak, once appends fell behind.)
 *
 * The queue is bounded (`maxQueued` events over every tenant): an event recorded while it is full
 * is durable but not queued, and the digest engine's catch-up chains it (hourly, or on demand),
 * as it does an event whose append failed. So a process whose appends fall behind for good (a
 * throttled chain table under a steady load) keeps a bounded heap rather than growing until it
 * runs out of memory. Each such episode is reported once, when it starts; a drain that takes a
 * batch makes room and ends it.
 */
import type { AuditEvent } from './audit-event.js';
import type { AuditSink } from './audit-sink.js';
import type { AuditSequencer } from './audit-sequencer.js';
import type { RecordedAuditEvent } from './audit-store.js';

/** A sink that also tells the expiry it stored an event with. */
export interface ExpiringAuditSink extends AuditSink {
  recordWithExpiry(event: AuditEvent): Promise<number>;
}

/** A tenant's appends: queued in the order their durable writes finished, chained in that order. */
interface TenantAppends {
  queue: RecordedAuditEvent[];
  /** Events queued so far, and how many of them are chained (or their chaining failed). */
  queued: number;
  done: number;
  running: boolean;
  /** Callers of `settled`, each waiting until `done` reaches what was queued when it asked. */
  waiters: { readonly until: number; readonly resolve: () => void }[];
}

/** How many events wait for their append at most, over every tenant (about 1 KB each). */
export const MAX_QUEUED_APPENDS = 20_000;

export interface ChainingAuditSinkOptions {
  /** The queue's bound, over every tenant; MAX_QUEUED_APPENDS unless set. */
  readonly maxQueued?: number;
  /** Called when the queue is full and a tenant's events start to be left to the catch-up. */
  readonly onLeftToCatchUp?: (tenant: string, queued: number) => void;
}

export class ChainingAuditSink implements AuditSink {
  private readonly tenants = new Map<string, TenantAppends>();
  private readonly maxQueued: number;
  private readonly onLeftToCatchUp: (tenant: string, queued: number) => void;
  /** Events queued and not yet taken by a drain, over every tenant. */
  private waiting = 0;
  /** Whether events were left to the catch-up since a drain last made room (one report each time). */
  private behind = false;

  constructor(
    private readonly sink: ExpiringAuditSink,
    private readonly sequencer: AuditSequencer,
    private readonly onChainingError: (error: unknown, tenant: string) => void,
    options: ChainingAuditSinkOptions = {},
  ) {
    this.maxQueued = options.maxQueued ?? MAX_QUEUED_APPENDS;
    this.onLeftToCatchUp = options.onLeftToCatchUp ?? (() => undefined);
  }

  async record(event: AuditEvent): Promise<void> {
    const expiresAt = await this.sink.recordWithExpiry(event);
    // Durable: the caller may answer now. The append is queued and runs right after.
    if (this.waiting >= this.maxQueued) {
      // Not lost: the catch-up chains it. Reported once per episode (until a drain makes room).
      if (!this.behind) this.onLeftToCatchUp(event.tenant, this.waiting);
      this.behind = true;
      return;
    }
    let appends = this.tenants.get(event.tenant);
    if (appends === undefined) {
      appends = { queue: [], queued: 0, done: 0, running: false, waiters: [] };
      this.tenants.set(event.tenant, appends);
    }
    this.waiting += 1;
    appends.queue.push({ event, expiresAt });
    appends.queued += 1;
    if (!appends.running) void this.drain(event.tenant, appends);
  }

  /**
   * Resolves once every event recorded so far (of `tenant`, or of every tenant) is chained, or
   * its chaining failed and was reported. Events recorded after the call are not waited for: a
   * steady stream of them must not keep a caller waiting (or a waiting caller's memory growing).
   */
  async settled(tenant?: string): Promise<void> {
    const chosen = tenant === undefined ? this.tenants.values() : [this.tenants.get(tenant)];
    const waits: Promise<void>[] = [];
    for (const appends of chosen) {
      if (appends === undefined || appends.done >= appends.queued) continue;
      const until = appends.queued;
      waits.push(new Promise((resolve) => appends.waiters.push({ until, resolve })));
    }
    await Promise.all(waits);
  }

  private async drain(tenant: string, appends: TenantAppends): Promise<void> {
    appends.running = true;
    try {
      while (appends.queue.length > 0) {
        const batch = appends.queue;
        appends.queue = [];
        this.waiting -= batch.length;
        this.behind = false;
        try {
          await this.sequencer.chain(tenant, batch);
        } catch (error: unknown) {
          this.onChainingError(error, tenant);
        } finally {
          appends.done += batch.length;
          const ready = appends.waiters.filter(({ until }) => until <= appends.done);
          appends.waiters = appends.waiters.filter(({ until }) => until > appends.done);
          for (const waiter of ready) waiter.resolve();
        }
      }
    } finally {
      appends.running = false;
      // Drained, so every waiter was resolved: forgotten, so a process that saw many tenants
      // keeps none. (A queue left by a failing error report waits for the next event's drain.)
      if (appends.queue.length === 0 && this.tenants.get(tenant) === appends) this.tenants.delete(tenant);
    }
  }
}
