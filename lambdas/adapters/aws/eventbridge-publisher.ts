/**
 * The `EventPublisher` on an EventBridge bus: `PutEvents` in batches of ten (the API's limit),
 * `source` = `vaultpilot`, `detail-type` = the event type. PutEvents answers 200 even when some
 * entries fail, so the per-entry results are checked; entries that failed for a retryable reason
 * are sent again a few times before the publish fails closed.
 */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { DependencyUnavailableError } from '../../core/errors.js';
import type { DomainEvent, EventPublisher } from '../../core/events.js';

const BATCH = 10;
const ATTEMPTS = 3;
/** EventBridge's limit for one entry (the whole request may be 1 MiB). */
const MAX_ENTRY_BYTES = 256 * 1024;

export interface EventBridgePublisherOptions {
  readonly busName: string;
  readonly source: string;
  /** The EventBridge detail of an event (tenant and time merged with the event's fields). */
  readonly detail: (event: DomainEvent) => Record<string, unknown>;
  /** Waits between attempts; tests pass a no-op. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export class EventBridgePublisher implements EventPublisher {
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly client: EventBridgeClient,
    private readonly options: EventBridgePublisherOptions,
  ) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async publish(events: readonly DomainEvent[]): Promise<void> {
    const entries = events.map((event) => this.entry(event));
    for (let start = 0; start < entries.length; start += BATCH) {
      await this.putBatch(entries.slice(start, start + BATCH));
    }
  }

  private entry(event: DomainEvent): PutEventsRequestEntry {
    const detail = JSON.stringify(this.options.detail(event));
    if (Buffer.byteLength(detail) > MAX_ENTRY_BYTES) {
      throw new RangeError(`Event ${event.type} is larger than EventBridge's 256 KiB entry limit`);
    }
    return {
      EventBusName: this.options.busName,
      Source: this.options.source,
      DetailType: event.type,
      Time: new Date(event.time),
      Detail: detail,
    };
  }

  private async putBatch(batch: readonly PutEventsRequestEntry[]): Promise<void> {
    let pending = batch;
    let lastError = 'unknown';
    for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
      let results;
      try {
        ({ Entries: results } = await this.client.send(new PutEventsCommand({ Entries: [...pending] })));
      } catch (error: unknown) {
        throw new DependencyUnavailableError('The event bus is unavailable; retry shortly', 5, {
          cause: error,
          diagnostic: `EventBridge PutEvents: ${error instanceof Error ? error.name : 'UnknownError'}`,
        });
      }
      // Results are in request order; an entry with an ErrorCode was not accepted.
      const failed = pending.filter((_entry, index) => results?.[index]?.ErrorCode !== undefined);
      if (failed.length === 0) return;
      lastError = results?.find((result) => result.ErrorCode !== undefined)?.ErrorCode ?? 'unknown';
      pending = failed;
      if (attempt < ATTEMPTS) await this.sleep(100 * 2 ** attempt * (0.5 + Math.random()));
    }
    throw new DependencyUnavailableError(
      `The event bus refused ${pending.length} event(s); retry shortly`,
      5,
      {
        diagnostic: `EventBridge PutEvents: ${lastError}`,
      },
    );
  }
}
