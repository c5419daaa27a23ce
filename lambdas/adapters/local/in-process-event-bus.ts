/**
 * The local runtime's event bus: the `EventPublisher` behind `npm start`, in place of
 * EventBridge. `publish` resolves once the events are queued; listeners run afterwards, on
 * their own turn of the event loop, one event at a time in publish order, so a slow or failing
 * listener never fails or delays the publisher (as with EventBridge, delivery is asynchronous).
 * A listener's failure is reported to `onListenerError` and does not stop other listeners.
 */
import type { DomainEvent, EventPublisher } from '../../core/events.js';

export type EventListener = (event: DomainEvent) => Promise<void> | void;

export interface InProcessEventBusOptions {
  readonly onListenerError?: (error: unknown, event: DomainEvent) => void;
}

export class InProcessEventBus implements EventPublisher {
  private readonly listeners = new Map<string, Set<EventListener>>();
  private tail: Promise<void> = Promise.resolve();
  private readonly onListenerError: (error: unknown, event: DomainEvent) => void;

  constructor(options: InProcessEventBusOptions = {}) {
    this.onListenerError =
      options.onListenerError ??
      ((error, event) => {
        // The type and error name only: an event's detail stays out of logs.
        const name = error instanceof Error ? error.name : 'UnknownError';
        process.emitWarning(`Event listener for ${event.type} failed: ${name}`, 'VaultPilotEventBus');
      });
  }

  /** Calls `listener` for every event of `type` (`*`: every event). Returns an unsubscribe function. */
  subscribe(type: string, listener: EventListener): () => void {
    let set = this.listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  publish(events: readonly DomainEvent[]): Promise<void> {
    const copies = events.map((event) => structuredClone(event));
    this.tail = this.tail.then(async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      for (const event of copies) await this.deliver(event);
    });
    return Promise.resolve();
  }

  /** Resolves when every event published so far has been delivered (tests, shutdown). */
  drain(): Promise<void> {
    return this.tail;
  }

  private async deliver(event: DomainEvent): Promise<void> {
    const listeners = [...(this.listeners.get(event.type) ?? []), ...(this.listeners.get('*') ?? [])];
    for (const listener of listeners) {
      try {
        await listener(event);
      } catch (error: unknown) {
        this.onListenerError(error, event);
      }
    }
  }
}

/** The bus of this process: the local runtime's handlers publish to it and its engines subscribe. */
export const localEventBus = new InProcessEventBus();
