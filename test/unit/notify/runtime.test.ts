/**
 * The notifier's runtime rules: the function's event types, the bus event it reads, the local
 * subscription's retries and bound, the stable rotation failure code, and the expiry index's
 * watch of IAM keys by age and of per-credential thresholds.
 */
import { describe, expect, it } from 'vitest';
import { InProcessEventBus } from '../../../lambdas/adapters/local/in-process-event-bus.js';
import { expiryIndexKeys } from '../../../lambdas/adapters/aws/dynamodb-expiry-index.js';
import {
  type ExpiryCandidate,
  expiryEvents,
  parseThresholdsTag,
} from '../../../lambdas/core/notify/expiry.js';
import {
  conditionOf,
  failureReasonCode,
  type NotifiableEvent,
  ROUTABLE_EVENT_TYPES,
} from '../../../lambdas/core/notify/notify-event.js';
import { notifiableEvent } from '../../../lambdas/functions/notifier/handler.js';
import { manifest } from '../../../lambdas/functions/notifier/manifest.js';
import { subscribeNotifier } from '../../../lambdas/local/notifier-subscription.js';
import { BusEventSchema } from '../../../lambdas/shared/engine-handler.js';
import { EVENT_DEFINITIONS } from '../../../lambdas/shared/events.js';
import { credential, DAY, NOW } from '../../support/credentials.js';

describe('notifier function', () => {
  it('listens to every routable event type the engines publish, and to nothing else', () => {
    // Act
    const listened = [...manifest.trigger.eventTypes].sort();

    // Assess
    expect(listened).toEqual(
      ROUTABLE_EVENT_TYPES.filter((type) => type !== 'notification.channel.failing').sort(),
    );
    for (const type of listened) expect(Object.hasOwn(EVENT_DEFINITIONS, type), type).toBe(true);
  });

  it('reads the EventBridge event id, type, tenant and time, and keeps the rest as detail', () => {
    // Prepare
    const input = BusEventSchema.parse({
      version: '0',
      id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
      'detail-type': 'rotation.failed',
      source: 'vaultpilot',
      account: '111122223333',
      time: '2026-12-06T12:00:00Z',
      region: 'eu-west-1',
      resources: [],
      detail: { tenant: 'acme', time: '2026-12-06T11:59:59.000Z', credentialId: 'cr_1', step: 'test' },
    });

    // Act
    const event = notifiableEvent(input);

    // Assess
    expect(event).toEqual({
      id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
      type: 'rotation.failed',
      tenant: 'acme',
      time: '2026-12-06T11:59:59.000Z',
      detail: { credentialId: 'cr_1', step: 'test' },
    });
  });
});

describe('local notifier subscription', () => {
  const domainEvent = (n: number) => ({
    type: 'rotation.failed',
    tenant: 'acme',
    time: NOW.toISOString(),
    detail: { n },
  });

  it('invokes again with the same event id after a failure, and dead-letters after the last retry', async () => {
    // Prepare
    const bus = new InProcessEventBus();
    const seen: string[] = [];
    const deadLetters: string[] = [];
    let id = 0;
    const subscription = subscribeNotifier(bus, {
      eventTypes: ['rotation.failed'],
      toBusEvent: (event) => ({ id: `ev-${(id += 1)}`, 'detail-type': event.type }),
      invoke: (event) => {
        seen.push(String(event.id));
        return Promise.reject(new Error('channel still retrying'));
      },
      retryDelaysMs: [1, 1],
      onDeadLetter: (event) => deadLetters.push(String(event.id)),
    });

    // Act
    await bus.publish([domainEvent(1), { ...domainEvent(2), type: 'rotation.started' }]);
    await subscription.drain();
    await subscription.stop();

    // Assess
    expect(seen).toEqual(['ev-1', 'ev-1', 'ev-1']);
    expect(deadLetters).toEqual(['ev-1']);
  });

  it('runs at most `concurrency` invocations at once, and finishes every event', async () => {
    // Prepare
    const bus = new InProcessEventBus();
    let running = 0;
    let most = 0;
    let done = 0;
    const subscription = subscribeNotifier(bus, {
      eventTypes: ['rotation.failed'],
      toBusEvent: (event) => ({ id: String(event.detail.n) }),
      invoke: async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 2));
        running -= 1;
        done += 1;
      },
      concurrency: 4,
      onDeadLetter: () => undefined,
    });

    // Act
    await bus.publish(Array.from({ length: 40 }, (_, n) => domainEvent(n)));
    await subscription.drain();

    // Assess
    expect(done).toBe(40);
    expect(most).toBe(4);
    await subscription.stop();
  });
});

describe('rotation failure de-duplication', () => {
  const failed = (reason: string): NotifiableEvent => ({
    id: reason,
    type: 'rotation.failed',
    tenant: 'acme',
    time: NOW.toISOString(),
    detail: { credentialId: 'cr_1', step: 'test', reason },
  });

  it('keys one failure repeating with a varying message on its stable code', () => {
    // Act
    const first = conditionOf(
      failed('test: UpstreamUnavailable: connection refused at 10.0.0.7:5432 after 3012 ms'),
    );
    const again = conditionOf(
      failed('test: UpstreamUnavailable: connection refused at 10.0.0.9:5432 after 2987 ms'),
    );
    const other = conditionOf(failed('test: AuthenticationFailed: password authentication failed for "app"'));

    // Assess
    expect(first).toEqual({ key: 'rotation-failed#cr_1', state: 'test:UpstreamUnavailable' });
    expect(again).toEqual(first);
    expect(other?.state).toBe('test:AuthenticationFailed');
  });

  it('drops numbers, quotes and addresses of a reason that has no code', () => {
    expect(
      failureReasonCode('timed out after 3012 ms contacting https://db.internal:5432/x', undefined),
    ).toBe(failureReasonCode('timed out after 15 ms contacting https://db.other:1/y', undefined));
    expect(failureReasonCode(undefined, 'test')).toBe('unknown');
  });
});

describe('expiry watch', () => {
  const candidate = (over: Partial<ExpiryCandidate>): ExpiryCandidate => ({
    tenant: 'acme',
    credentialId: 'cr_000000000000000000000001',
    credentialType: 'aws-iam-access-key',
    credentialName: 'AKIA… of deploy-bot',
    owner: undefined,
    expiresAt: undefined,
    rotationDueAt: undefined,
    expiryThresholds: undefined,
    ...over,
  });

  it('reports an active IAM key older than the tenant maximum age as overdue, and a younger one not', () => {
    // Prepare
    const old = candidate({ ageSince: new Date(NOW.getTime() - 100 * DAY).toISOString() });

    // Act
    const atNinety = expiryEvents(old, NOW, [30, 7, 1], 90);
    const atOneTwenty = expiryEvents(old, NOW, [30, 7, 1], 120);

    // Assess
    expect(atNinety.map((event) => [event.type, event.detail.overdueDays])).toEqual([
      ['rotation.overdue', 10],
    ]);
    expect(atOneTwenty).toEqual([]);
  });

  it('indexes an active IAM user key at its default maximum age, and no inactive or root key', () => {
    // Prepare
    const createdAt = '2026-01-01T00:00:00.000Z';
    const key = (facts: Record<string, string | boolean>) =>
      credential({ type: 'aws-iam-access-key', source: 'discovered', createdAt, facts });

    // Act
    const active = expiryIndexKeys(key({ keyStatus: 'Active' }));
    const inactive = expiryIndexKeys(key({ keyStatus: 'Inactive' }));
    const root = expiryIndexKeys(key({ keyStatus: 'Active', root: true }));

    // Assess
    expect(active.expiryAt).toBe('2026-04-01T00:00:00.000Z');
    expect(active.expiryShard).toMatch(/^expiry#[0-7]$/);
    expect(inactive).toEqual({});
    expect(root).toEqual({});
  });

  it('reads a credential’s own warning days from its tag, and ignores a malformed one', () => {
    expect(parseThresholdsTag('1, 14,3')).toEqual([14, 3, 1]);
    expect(parseThresholdsTag('14,14')).toBeUndefined();
    expect(parseThresholdsTag('soon')).toBeUndefined();
    expect(parseThresholdsTag(undefined)).toBeUndefined();
  });
});
