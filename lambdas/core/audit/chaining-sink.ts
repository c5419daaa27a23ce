/**
 * An `AuditSink` that chains what it records, in-process: the local runtime's sequencer (in AWS
 * a DynamoDB stream drives the sequencer instead). The durable write comes first and decides the
 * outcome (fail closed): `record` resolves as soon as the event is durable, as in AWS, and the
 * chain append follows right after, off the request path. Chaining runs one at a time per
 * tenant, each run taking every event queued meanwhile in the order their durable writes
 * finished, so the chain stays fork- and gap-free (the sequencer's conditional put on the head
 * guarantees that even against another sequencer) and concurrent requests of a tenant never
 * contend for the chain head. A chaining failure is reported, not thrown: the event is durable,
 * and the digest engine's catch-up chains it later. `settled()` waits for the queued appends
 * (reads of the chain made locally, and shutdown, wait on it).
 */
import type { AuditEvent } from './audit-event.js';
import type { AuditSink } from './audit-sink.js';
import type { AuditSequencer } from './audit-sequencer.js';
import type { RecordedAuditEvent } from './audit-store.js';

/** A sink that also tells the expiry it stored an event with. */
export interface ExpiringAuditSink extends AuditSink {
  recordWithExpiry(event: AuditEvent): Promise<number>;
}

interface Waiter {
  readonly recorded: RecordedAuditEvent;
  readonly done: () => void;
}

export class ChainingAuditSink implements AuditSink {
  private readonly queues = new Map<string, Waiter[]>();
  private readonly running = new Set<string>();
  /** One promise per event not chained yet, by tenant. */
  private readonly pending = new Map<string, Set<Promise<void>>>();

  constructor(
    private readonly sink: ExpiringAuditSink,
    private readonly sequencer: AuditSequencer,
    private readonly onChainingError: (error: unknown, tenant: string) => void,
  ) {}

  async record(event: AuditEvent): Promise<void> {
    const expiresAt = await this.sink.recordWithExpiry(event);
    // Durable: the caller may answer now. The append is queued and runs right after.
    let done: () => void = () => undefined;
    const chained = new Promise<void>((resolve) => (done = resolve));
    const queue = this.queues.get(event.tenant) ?? [];
    queue.push({ recorded: { event, expiresAt }, done });
    this.queues.set(event.tenant, queue);
    const waiting = this.pending.get(event.tenant) ?? new Set<Promise<void>>();
    waiting.add(chained);
    this.pending.set(event.tenant, waiting);
    void chained.then(() => {
      waiting.delete(chained);
      if (waiting.size === 0 && this.pending.get(event.tenant) === waiting) this.pending.delete(event.tenant);
    });
    if (!this.running.has(event.tenant)) void this.drain(event.tenant);
  }

  /**
   * Resolves once every event recorded so far (of `tenant`, or of every tenant) is chained, or
   * its chaining failed and was reported.
   */
  async settled(tenant?: string): Promise<void> {
    const waiting = (): Promise<void>[] =>
      tenant === undefined
        ? [...this.pending.values()].flatMap((set) => [...set])
        : [...(this.pending.get(tenant) ?? [])];
    for (let now = waiting(); now.length > 0; now = waiting()) await Promise.all(now);
  }

  private async drain(tenant: string): Promise<void> {
    this.running.add(tenant);
    try {
      for (let batch = this.take(tenant); batch.length > 0; batch = this.take(tenant)) {
        try {
          await this.sequencer.chain(
            tenant,
            batch.map((waiter) => waiter.recorded),
          );
        } catch (error: unknown) {
          this.onChainingError(error, tenant);
        } finally {
          for (const waiter of batch) waiter.done();
        }
      }
    } finally {
      this.running.delete(tenant);
    }
  }

  private take(tenant: string): Waiter[] {
    const queue = this.queues.get(tenant) ?? [];
    this.queues.delete(tenant);
    return queue;
  }
}
