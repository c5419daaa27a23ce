/**
 * The delivery recorder the notifier calls after each send: the log entry first (what stops a
 * redelivered event from sending twice), then `notification.sent` / `notification.failed` with an
 * id derived from the outcome, so recording it again is the very same audit event. Also: the
 * contract's value lists are the domain's.
 */
import { describe, expect, it } from 'vitest';
import { parseAuditEvent, type AuditEvent } from '../../../lambdas/core/audit/audit-event.js';
import { CHANNEL_KINDS, CHANNEL_STATES } from '../../../lambdas/core/notify/channel.js';
import {
  DELIVERY_STATUSES,
  type DeliveryEntry,
  type DeliveryKey,
  type DeliveryLogStore,
} from '../../../lambdas/core/notify/delivery-log.js';
import { ROUTABLE_EVENT_TYPES, SEVERITIES } from '../../../lambdas/core/notify/notify-event.js';
import {
  deliveryAuditEvent,
  deliveryAuditId,
  DeliveryRecorder,
} from '../../../lambdas/core/notify/record-delivery.js';
import {
  CHANNEL_KIND_VALUES,
  CHANNEL_STATE_VALUES,
  DELIVERY_STATUS_VALUES,
  ROUTABLE_EVENT_TYPE_VALUES,
  SEVERITY_VALUES,
} from '../../../lambdas/shared/contracts/notifications.js';

/** The log's contract (create if absent, replace at a revision) over a Map. */
class MemoryLog implements DeliveryLogStore {
  readonly entries = new Map<string, DeliveryEntry>();
  private key(key: DeliveryKey): string {
    return `${key.tenant}|${key.eventTime}|${key.eventId}|${key.channelId}`;
  }
  get(key: DeliveryKey): Promise<DeliveryEntry | undefined> {
    return Promise.resolve(this.entries.get(this.key(key)));
  }
  create(entry: DeliveryEntry): Promise<boolean> {
    if (this.entries.has(this.key(entry))) return Promise.resolve(false);
    this.entries.set(this.key(entry), entry);
    return Promise.resolve(true);
  }
  replace(entry: DeliveryEntry, expectedRevision: number): Promise<boolean> {
    if (this.entries.get(this.key(entry))?.revision !== expectedRevision) return Promise.resolve(false);
    this.entries.set(this.key(entry), entry);
    return Promise.resolve(true);
  }
  list(): Promise<DeliveryEntry[]> {
    return Promise.resolve([...this.entries.values()]);
  }
}

/** An audit sink that validates every event, and can be made to fail. */
class RecordingSink {
  readonly events: AuditEvent[] = [];
  failing = false;
  record(event: AuditEvent): Promise<void> {
    if (this.failing) return Promise.reject(new Error('audit table unavailable'));
    this.events.push(parseAuditEvent(event));
    return Promise.resolve();
  }
}

const NOW = new Date('2026-12-06T12:00:00.000Z');

function sending(overrides: Partial<DeliveryEntry> = {}): DeliveryEntry {
  return {
    tenant: 'acme',
    eventId: 'evt-1',
    eventTime: '2026-12-06T11:59:00.000Z',
    channelId: 'ch_slack',
    eventType: 'rotation.failed',
    channelKind: 'slack',
    status: 'sending',
    attempts: 0,
    reason: undefined,
    credentialId: 'cr_1',
    updatedAt: '2026-12-06T11:59:00.000Z',
    leaseUntil: '2026-12-06T12:00:30.000Z',
    revision: 1,
    ...overrides,
  };
}

function setup() {
  const log = new MemoryLog();
  const audit = new RecordingSink();
  const recorder = new DeliveryRecorder({ log, audit, clock: { now: () => NOW } });
  return { log, audit, recorder };
}

describe('DeliveryRecorder', () => {
  it('records a sent delivery in the log, then audits notification.sent without any secret', async () => {
    // Prepare
    const { log, audit, recorder } = setup();
    const entry = sending();
    await log.create(entry);

    // Act
    const result = await recorder.record(entry, { status: 'sent', attempts: 1, reason: undefined });

    // Assess
    expect(result.recorded).toBe(true);
    expect(await log.get(entry)).toMatchObject({
      status: 'sent',
      attempts: 1,
      revision: 2,
      leaseUntil: undefined,
    });
    expect(audit.events).toHaveLength(1);
    expect(audit.events[0]).toMatchObject({
      tenant: 'acme',
      action: 'notification.sent',
      outcome: 'allowed',
      actor: { kind: 'system', id: 'notifier' },
      target: { path: 'vaultpilot/notify/channels/ch_slack', credentialId: 'cr_1' },
      time: NOW.toISOString(),
    });
    expect(audit.events[0]?.reason).toBe('rotation.failed evt-1 via slack channel ch_slack');
  });

  it('audits a delivery given up on as notification.failed with its classified reason', async () => {
    // Prepare
    const { log, audit, recorder } = setup();
    const entry = sending({ channelKind: 'email', channelId: 'ch_mail' });
    await log.create(entry);

    // Act
    await recorder.record(entry, { status: 'failed', attempts: 3, reason: 'ses_MessageRejected' });

    // Assess
    expect(audit.events.map((event) => [event.action, event.outcome])).toEqual([
      ['notification.failed', 'failed'],
    ]);
    expect(audit.events[0]?.reason).toContain('ses_MessageRejected');
  });

  it('writes nothing when another delivery changed the entry meanwhile', async () => {
    // Prepare
    const { log, audit, recorder } = setup();
    const entry = sending();
    await log.create({ ...entry, revision: 2, status: 'sent' });

    // Act
    const result = await recorder.record(entry, { status: 'failed', attempts: 1, reason: 'slack_429' });

    // Assess
    expect(result).toMatchObject({ recorded: false, entry: { status: 'sent', revision: 2 } });
    expect(audit.events).toEqual([]);
  });

  it('does not audit retries and skips, which are not outcomes yet', async () => {
    // Prepare
    const { log, audit, recorder } = setup();
    const entry = sending();
    await log.create(entry);

    // Act
    await recorder.record(entry, { status: 'retrying', attempts: 3, reason: 'slack_503' });

    // Assess
    expect((await log.get(entry))?.status).toBe('retrying');
    expect(audit.events).toEqual([]);
  });

  it('keeps the log entry when the audit write fails, and audits the same event again later', async () => {
    // Prepare
    const { log, audit, recorder } = setup();
    const entry = sending();
    await log.create(entry);
    audit.failing = true;

    // Act
    const first = recorder.record(entry, { status: 'sent', attempts: 1, reason: undefined });
    await expect(first).rejects.toThrow('audit table unavailable');
    audit.failing = false;
    const stored = await log.get(entry);
    if (stored === undefined) throw new Error('the entry is gone');
    await recorder.auditDelivery(stored);
    await recorder.auditDelivery(stored);

    // Assess: the send is never repeated (the entry says sent), and both audits are one event.
    expect(stored.status).toBe('sent');
    expect(audit.events).toHaveLength(2);
    expect(audit.events[0]).toEqual(audit.events[1]);
  });

  it('creates the entry of a delivery that had none (a test message)', async () => {
    // Prepare
    const { log, audit, recorder } = setup();
    const entry = sending({ eventType: 'notification.test', credentialId: undefined });

    // Act
    const result = await recorder.record(
      entry,
      { status: 'sent', attempts: 1, reason: undefined },
      { create: true },
    );

    // Assess
    expect(result.recorded).toBe(true);
    expect(await log.get(entry)).toMatchObject({ status: 'sent', revision: 1 });
    expect(audit.events[0]?.target).toEqual({ path: 'vaultpilot/notify/channels/ch_slack' });
  });
});

describe('deliveryAuditId', () => {
  it('is a valid UUID that changes with the outcome and stays for the same one', () => {
    const sent = deliveryAuditEvent({ ...sending(), status: 'sent', attempts: 1 });
    const again = deliveryAuditEvent({ ...sending(), status: 'sent', attempts: 1 });
    const failed = deliveryAuditEvent({ ...sending(), status: 'failed', attempts: 1 });

    expect(sent?.eventId).toBe(again?.eventId);
    expect(sent?.eventId).not.toBe(failed?.eventId);
    expect(deliveryAuditId(['a'])).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(() => parseAuditEvent(sent)).not.toThrow();
  });
});

describe('the notifications contract', () => {
  it('lists exactly the domain values', () => {
    expect([...CHANNEL_KIND_VALUES]).toEqual([...CHANNEL_KINDS]);
    expect([...CHANNEL_STATE_VALUES]).toEqual([...CHANNEL_STATES]);
    expect([...DELIVERY_STATUS_VALUES]).toEqual([...DELIVERY_STATUSES]);
    expect([...SEVERITY_VALUES]).toEqual([...SEVERITIES]);
    expect([...ROUTABLE_EVENT_TYPE_VALUES]).toEqual([...ROUTABLE_EVENT_TYPES]);
  });
});
