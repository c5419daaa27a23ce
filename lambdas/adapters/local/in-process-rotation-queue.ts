/**
 * The local runtime's rotation queue, in place of SQS: `send` resolves once the jobs are queued;
 * a consumer (the same worker handler the SQS event source calls in AWS, registered by the local
 * runtime) receives them as SQS-shaped batches of up to ten, one batch at a time, and the jobs it
 * reports as failed come back after a delay, at most `maxReceives` times (then they are dropped
 * and reported, as a dead-letter queue would keep them).
 */
import { randomUUID } from 'node:crypto';
import type { RotationJob, RotationQueue } from '../../core/rotation/rotation-queue.js';

export interface LocalQueueMessage {
  readonly messageId: string;
  readonly body: string;
  readonly receiveCount: number;
}

/** Answers the ids of the messages that failed (SQS's `batchItemFailures`). */
export type LocalQueueConsumer = (messages: readonly LocalQueueMessage[]) => Promise<readonly string[]>;

export interface InProcessRotationQueueOptions {
  readonly batchSize?: number;
  readonly retryDelayMs?: number;
  readonly maxReceives?: number;
  readonly onDropped?: (message: LocalQueueMessage) => void;
}

export class InProcessRotationQueue implements RotationQueue {
  private readonly pending: LocalQueueMessage[] = [];
  private consumer: LocalQueueConsumer | undefined;
  private draining: Promise<void> | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly batchSize: number;
  private readonly retryDelayMs: number;
  private readonly maxReceives: number;
  private readonly onDropped: (message: LocalQueueMessage) => void;
  /** Messages that ran out of receives (the local dead-letter queue). */
  readonly dropped: LocalQueueMessage[] = [];

  constructor(options: InProcessRotationQueueOptions = {}) {
    this.batchSize = options.batchSize ?? 10;
    this.retryDelayMs = options.retryDelayMs ?? 30_000;
    this.maxReceives = options.maxReceives ?? 5;
    this.onDropped = options.onDropped ?? (() => undefined);
  }

  /** Who receives the messages; until one is set, they wait. */
  setConsumer(consumer: LocalQueueConsumer | undefined): void {
    this.consumer = consumer;
    this.kick();
  }

  async send(jobs: readonly RotationJob[]): Promise<void> {
    for (const job of jobs)
      this.pending.push({ messageId: randomUUID(), body: JSON.stringify(job), receiveCount: 0 });
    this.kick();
  }

  /** Resolves when nothing is queued or being delivered (retries waiting on a timer excepted). */
  async drain(): Promise<void> {
    while (this.draining !== undefined) await this.draining;
  }

  /** Stops retry timers and forgets what is queued (the runtime stops). */
  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.pending.length = 0;
    this.consumer = undefined;
  }

  get size(): number {
    return this.pending.length;
  }

  private kick(): void {
    if (this.draining !== undefined || this.consumer === undefined || this.pending.length === 0) return;
    this.draining = this.deliver().finally(() => {
      this.draining = undefined;
      this.kick();
    });
  }

  private async deliver(): Promise<void> {
    while (this.consumer !== undefined && this.pending.length > 0) {
      const batch = this.pending.splice(0, this.batchSize).map((message) => ({
        ...message,
        receiveCount: message.receiveCount + 1,
      }));
      let failed: readonly string[];
      try {
        failed = await this.consumer(batch);
      } catch {
        failed = batch.map((message) => message.messageId);
      }
      for (const message of batch.filter((entry) => failed.includes(entry.messageId))) {
        if (message.receiveCount >= this.maxReceives) {
          this.dropped.push(message);
          this.onDropped(message);
          continue;
        }
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.pending.push(message);
          this.kick();
        }, this.retryDelayMs);
        timer.unref();
        this.timers.add(timer);
      }
    }
  }
}

/** The queue of this process: the local runtime's handlers send to it and its worker consumes it. */
export const localRotationQueue = new InProcessRotationQueue();
