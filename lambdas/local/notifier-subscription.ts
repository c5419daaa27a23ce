/**
 * The notifier on the in-process bus, as the EventBridge rule and Lambda's asynchronous invocation
 * run it in AWS: every event of the manifest's types is handed to the notifier without holding up
 * the bus; a failed invocation (a channel still to be retried) is invoked again with the same
 * event id after a backoff, and after the last retry it is reported as dead-lettered. At most
 * `concurrency` invocations run at once, so a burst of events queues here instead of opening
 * thousands of connections at once.
 */
import type { DomainEvent } from '../core/events.js';
import type { InProcessEventBus } from '../adapters/local/in-process-event-bus.js';

export interface NotifierSubscriptionOptions {
  readonly eventTypes: readonly string[];
  /** Builds the EventBridge-shaped event (a fresh id per published event). */
  readonly toBusEvent: (event: DomainEvent) => Record<string, unknown>;
  readonly invoke: (busEvent: Record<string, unknown>) => Promise<unknown>;
  /** Waits before each retry; Lambda retries an asynchronous invocation twice. */
  readonly retryDelaysMs?: readonly number[];
  readonly concurrency?: number;
  readonly onDeadLetter: (busEvent: Record<string, unknown>, error: unknown) => void;
}

export interface NotifierSubscription {
  /** Resolves when every event handed over so far is finished (sent, or dead-lettered). */
  drain(): Promise<void>;
  /** Stops taking events and waits for those in hand. */
  stop(): Promise<void>;
}

const DEFAULT_RETRY_DELAYS_MS = [2_000, 10_000];

export function subscribeNotifier(
  bus: InProcessEventBus,
  options: NotifierSubscriptionOptions,
): NotifierSubscription {
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const limit = options.concurrency ?? 32;
  const waiting: Record<string, unknown>[] = [];
  const inFlight = new Set<Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  let idle: (() => void)[] = [];
  let running = 0;

  const settleIdle = (): void => {
    if (running === 0 && waiting.length === 0 && timers.size === 0) {
      for (const resolve of idle) resolve();
      idle = [];
    }
  };

  const attempt = async (busEvent: Record<string, unknown>, retry: number): Promise<void> => {
    try {
      await options.invoke(busEvent);
    } catch (error: unknown) {
      const delay = delays[retry];
      if (delay === undefined) {
        options.onDeadLetter(busEvent, error);
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        enqueue(busEvent, retry + 1);
      }, delay);
      timers.add(timer);
    }
  };

  const retries = new WeakMap<Record<string, unknown>, number>();
  const pump = (): void => {
    while (running < limit && waiting.length > 0) {
      const next = waiting.shift();
      if (next === undefined) break;
      running += 1;
      const run = attempt(next, retries.get(next) ?? 0).finally(() => {
        running -= 1;
        inFlight.delete(run);
        pump();
        settleIdle();
      });
      inFlight.add(run);
    }
  };

  function enqueue(busEvent: Record<string, unknown>, retry: number): void {
    retries.set(busEvent, retry);
    waiting.push(busEvent);
    pump();
  }

  const unsubscribes = options.eventTypes.map((type) =>
    bus.subscribe(type, (event) => enqueue(options.toBusEvent(event), 0)),
  );

  const drain = async (): Promise<void> => {
    await bus.drain();
    if (running === 0 && waiting.length === 0 && timers.size === 0) return;
    await new Promise<void>((resolve) => idle.push(resolve));
  };

  return {
    drain,
    stop: async () => {
      for (const unsubscribe of unsubscribes) unsubscribe();
      // Retries still waiting are given up on shutdown, as a stopped process would lose them.
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      waiting.length = 0;
      await Promise.allSettled([...inFlight]);
    },
  };
}
