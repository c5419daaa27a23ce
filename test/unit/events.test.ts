/**
 * Lifecycle events: the EventBridge publisher against a mocked client (PutEvents response shapes
 * from the EventBridge API reference: per-entry ErrorCode/ErrorMessage, FailedEntryCount), the
 * in-process bus of the local runtime, and the schema check in front of both.
 */
import { EventBridgeClient, InternalException, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventBridgePublisher } from '../../lambdas/adapters/aws/eventbridge-publisher.js';
import { InProcessEventBus } from '../../lambdas/adapters/local/in-process-event-bus.js';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';
import type { DomainEvent } from '../../lambdas/core/events.js';
import { eventBridgeDetail, parseDomainEvent, validatingPublisher } from '../../lambdas/shared/events.js';

const eventBridge = mockClient(EventBridgeClient);

function event(n: number, type = 'test.happened'): DomainEvent {
  return { type, tenant: 'acme', time: '2026-12-02T10:00:00.000Z', detail: { n } };
}

function publisher(): EventBridgePublisher {
  return new EventBridgePublisher(new EventBridgeClient({ region: 'eu-west-1' }), {
    busName: 'vaultpilot-dev',
    source: 'vaultpilot',
    detail: eventBridgeDetail,
    sleep: async () => undefined,
  });
}

describe('EventBridgePublisher', () => {
  beforeEach(() => eventBridge.reset());

  it('sends batches of at most ten entries with source, detail-type, time and detail', async () => {
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }): unknown => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map((_entry, index) => ({ EventId: `id-${index}` })),
    }));
    await publisher().publish(Array.from({ length: 23 }, (_unused, n) => event(n)));
    const calls = eventBridge.commandCalls(PutEventsCommand);
    expect(calls.map((call) => call.args[0].input.Entries?.length)).toEqual([10, 10, 3]);
    const first = calls[0]?.args[0].input.Entries?.[0];
    expect(first).toMatchObject({
      EventBusName: 'vaultpilot-dev',
      Source: 'vaultpilot',
      DetailType: 'test.happened',
    });
    expect(first?.Time?.toISOString()).toBe('2026-12-02T10:00:00.000Z');
    expect(JSON.parse(first?.Detail ?? '{}')).toEqual({
      tenant: 'acme',
      time: '2026-12-02T10:00:00.000Z',
      n: 0,
    });
  });

  it('sends again only the entries EventBridge did not accept', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [{ EventId: 'a' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
      })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'b' }] });
    await publisher().publish([event(1), event(2)]);
    const calls = eventBridge.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(2);
    expect(
      calls[1]?.args[0].input.Entries?.map((entry) => (JSON.parse(entry.Detail ?? '{}') as { n: number }).n),
    ).toEqual([2]);
  });

  it('fails closed when entries keep failing, naming the count and error code only', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'internal' }],
    });
    const failure = publisher().publish([event(1)]);
    await expect(failure).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(failure).rejects.toThrow('The event bus refused 1 event(s); retry shortly');
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(3);
  });

  it('maps a failed call to 503 without the event contents', async () => {
    eventBridge.on(PutEventsCommand).rejects(new InternalException({ message: 'boom', $metadata: {} }));
    const failure = publisher().publish([{ ...event(1), detail: { marker: 'canary-7f3a' } }]);
    await expect(failure).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(failure).rejects.not.toThrow(/canary/);
  });

  it('refuses an event larger than an EventBridge entry before sending anything', async () => {
    await expect(
      publisher().publish([{ ...event(1), detail: { big: 'x'.repeat(300 * 1024) } }]),
    ).rejects.toThrow(/256 KiB/);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });
});

describe('InProcessEventBus', () => {
  it('delivers after publish resolves, in order, to type and wildcard listeners', async () => {
    const bus = new InProcessEventBus();
    const seen: string[] = [];
    bus.subscribe('test.happened', (e) => {
      seen.push(`typed:${String(e.detail.n)}`);
    });
    bus.subscribe('*', (e) => {
      seen.push(`any:${e.type}:${String(e.detail.n)}`);
    });
    await bus.publish([event(1), event(2, 'other.thing')]);
    expect(seen).toEqual([]);
    await bus.drain();
    expect(seen).toEqual(['typed:1', 'any:test.happened:1', 'any:other.thing:2']);
  });

  it('keeps delivering when a listener fails, and reports the failure without the detail', async () => {
    const failures: string[] = [];
    const bus = new InProcessEventBus({
      onListenerError: (error, e) => failures.push(`${e.type}:${String(error)}`),
    });
    const seen: number[] = [];
    bus.subscribe('test.happened', () => {
      throw new Error('listener broke');
    });
    bus.subscribe('test.happened', (e) => {
      seen.push(Number(e.detail.n));
    });
    await bus.publish([event(1), event(2)]);
    await bus.drain();
    expect(seen).toEqual([1, 2]);
    expect(failures).toEqual(['test.happened:Error: listener broke', 'test.happened:Error: listener broke']);
  });

  it('gives listeners a copy, so a listener cannot change what the publisher holds', async () => {
    const bus = new InProcessEventBus();
    const original = event(1);
    bus.subscribe('*', (e) => {
      (e.detail as Record<string, unknown>).n = 99;
    });
    await bus.publish([original]);
    await bus.drain();
    expect(original.detail.n).toBe(1);
  });

  it('stops calling a listener once unsubscribed', async () => {
    const bus = new InProcessEventBus();
    let calls = 0;
    const unsubscribe = bus.subscribe('*', () => {
      calls += 1;
    });
    await bus.publish([event(1)]);
    await bus.drain();
    unsubscribe();
    await bus.publish([event(2)]);
    await bus.drain();
    expect(calls).toBe(1);
  });
});

describe('event definitions', () => {
  const definitions = {
    'test.happened': { description: 'a test event', detail: z.strictObject({ n: z.number() }) },
  };

  it('passes a valid event and refuses an unknown type or a bad detail, naming fields only', async () => {
    expect(parseDomainEvent(event(1), definitions)).toEqual(event(1));
    expect(() => parseDomainEvent(event(1, 'nope'), definitions)).toThrow('Unknown event type "nope"');
    expect(() => parseDomainEvent(event(1, 'toString'), definitions)).toThrow('Unknown event type');
    expect(() =>
      parseDomainEvent({ ...event(1), detail: { n: 1, value: 'canary-value' } }, definitions),
    ).toThrow(/^Invalid test.happened event: \(detail\) unrecognized_keys$/);
  });

  it('checks every event before the inner publisher sees any', async () => {
    const received: DomainEvent[] = [];
    const guarded = validatingPublisher(
      { publish: async (events) => void received.push(...events) },
      definitions,
    );
    await expect(guarded.publish([event(1), event(2, 'nope')])).rejects.toThrow('Unknown event type');
    expect(received).toEqual([]);
    await guarded.publish([event(3)]);
    expect(received).toEqual([event(3)]);
  });
});
