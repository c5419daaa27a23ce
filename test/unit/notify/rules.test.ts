/** The notifier's pure rules: channel validation, routing, de-duplication and holds, expiry, retries. */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../lambdas/core/errors.js';
import { parseChannelInput, splitChannelInput } from '../../../lambdas/core/notify/channel.js';
import {
  classifyFailure,
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  PermanentDeliveryError,
  RetryableDeliveryError,
  retryDelay,
} from '../../../lambdas/core/notify/delivery-failure.js';
import { decideClaim, type DeliveryEntry } from '../../../lambdas/core/notify/delivery-log.js';
import {
  effectiveThresholds,
  expiryEvents,
  expiryStage,
  rotationOverdue,
} from '../../../lambdas/core/notify/expiry.js';
import { buildMessage } from '../../../lambdas/core/notify/message.js';
import { conditionOf, type NotifiableEvent, severityOf } from '../../../lambdas/core/notify/notify-event.js';
import {
  matchesPathPrefix,
  matchesTags,
  parseRouteInput,
  type Route,
  routeEvent,
} from '../../../lambdas/core/notify/routing.js';
import {
  decideDuplicate,
  decideHold,
  parseAlertHoldInput,
} from '../../../lambdas/core/notify/suppression.js';

const NOW = new Date('2026-12-06T12:00:00.000Z');
const CRED = 'cr_0123456789abcdef01234567';

function fieldOf(action: () => unknown): unknown {
  try {
    action();
  } catch (error: unknown) {
    if (error instanceof ValidationError) return error.details?.field;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

const event = (type: string, detail: Record<string, unknown> = {}, id = 'ev-1'): NotifiableEvent => ({
  id,
  type,
  tenant: 't1',
  time: NOW.toISOString(),
  detail: { credentialId: CRED, ...detail },
});

describe('channel validation', () => {
  const local = { allowLoopbackHttp: true };
  const aws = { allowLoopbackHttp: false };

  it('names the field of an invalid address, a non-HTTPS URL and an unknown kind', () => {
    expect(
      fieldOf(() =>
        parseChannelInput({ kind: 'email', name: 'ops', recipients: ['ops@example.com', 'nope'] }, aws),
      ),
    ).toBe('recipients.1');
    expect(
      fieldOf(() =>
        parseChannelInput(
          { kind: 'webhook', name: 'pd', url: 'http://example.com/h', signingKey: 'k'.repeat(32) },
          aws,
        ),
      ),
    ).toBe('url');
    expect(fieldOf(() => parseChannelInput({ kind: 'pager', name: 'x' }, aws))).toBe('kind');
    expect(
      fieldOf(() =>
        parseChannelInput({ kind: 'sns', name: 'x', topicArn: 'arn:aws:sqs:us-east-1:123456789012:q' }, aws),
      ),
    ).toBe('topicArn');
  });

  it('accepts http:// to loopback only when the local flag says so', () => {
    const input = { kind: 'slack', name: 's', webhookUrl: 'http://127.0.0.1:9999/hook' };
    expect(fieldOf(() => parseChannelInput(input, aws))).toBe('webhookUrl');
    expect(parseChannelInput(input, local).kind).toBe('slack');
    expect(fieldOf(() => parseChannelInput({ ...input, webhookUrl: 'http://10.0.0.1/hook' }, local))).toBe(
      'webhookUrl',
    );
  });

  it('requires exactly one of webhook URL and bot token, and a channel id with a token', () => {
    expect(fieldOf(() => parseChannelInput({ kind: 'slack', name: 's' }, aws))).toBe('webhookUrl');
    expect(
      fieldOf(() => parseChannelInput({ kind: 'slack', name: 's', botToken: 'xoxb-1234567890-abc' }, aws)),
    ).toBe('channelId');
  });

  it('keeps secrets out of the settings, with only a masked hint', () => {
    const input = parseChannelInput(
      { kind: 'slack', name: 's', webhookUrl: 'https://hooks.slack.com/services/T0/B0/SECRETPART' },
      aws,
    );
    const split = splitChannelInput(input);
    expect(JSON.stringify(split.settings)).not.toContain('SECRETPART');
    expect(split.secretHint).toBe('https://hooks.slack.com/…');
    expect(split.secret).toEqual({
      kind: 'slack-webhook',
      webhookUrl: 'https://hooks.slack.com/services/T0/B0/SECRETPART',
    });
  });
});

describe('routing', () => {
  const route = (over: Partial<Route>): Route => ({
    ...parseRouteInput({ name: 'r', eventTypes: ['rotation.failed'], channels: 'all' }),
    id: 'r1',
    ...over,
  });
  const subject = {
    credentialId: CRED,
    name: 'db',
    type: 'postgres-password',
    owner: 'Alice@Example.com',
    tags: { team: 'pay' },
    path: 'prod/db',
  };

  it('refuses unknown event types naming the field', () => {
    expect(
      fieldOf(() => parseRouteInput({ name: 'r', eventTypes: ['rotation.exploded'], channels: 'all' })),
    ).toBe('eventTypes.0');
  });

  it('sends rotation failures, critical findings and integrity failures everywhere by default, with the owner', () => {
    const failed = routeEvent(event('rotation.failed'), subject, [], ['a', 'b']);
    expect(failed).toEqual({ channelIds: ['a', 'b'], ownerEmail: 'alice@example.com', contactEmails: [] });
    expect(
      routeEvent(event('credential.finding.opened', { severity: 'critical' }), subject, [], ['a']).channelIds,
    ).toEqual(['a']);
    expect(
      routeEvent(event('credential.finding.opened', { severity: 'high' }), subject, [], ['a']).channelIds,
    ).toEqual([]);
    expect(routeEvent(event('audit.integrity.failed', { seq: 3 }), undefined, [], ['a']).channelIds).toEqual([
      'a',
    ]);
    expect(routeEvent(event('rotation.succeeded'), subject, [], ['a']).channelIds).toEqual([]);
  });

  it('matches tags, path prefix, owner and minimum severity', () => {
    expect(matchesTags(route({ match: { tags: { team: 'pay' } } }), subject)).toBe(true);
    expect(matchesTags(route({ match: { tags: { team: 'web' } } }), subject)).toBe(false);
    expect(matchesPathPrefix(route({ match: { pathPrefix: 'prod/' } }), subject)).toBe(true);
    expect(matchesPathPrefix(route({ match: { pathPrefix: 'dev/' } }), subject)).toBe(false);
    const byOwner = route({ match: { owner: 'alice@example.com' }, channels: ['a'] });
    expect(routeEvent(event('rotation.failed'), subject, [byOwner], ['a', 'b']).channelIds).toEqual(['a']);
    const highOnly = route({ eventTypes: ['credential.expiring'], minSeverity: 'high', channels: ['b'] });
    expect(
      routeEvent(event('credential.expiring', { daysLeft: 30 }), subject, [highOnly], ['a', 'b']).channelIds,
    ).toEqual([]);
    expect(
      routeEvent(event('credential.expiring', { daysLeft: 7 }), subject, [highOnly], ['a', 'b']).channelIds,
    ).toEqual(['b']);
  });

  it('tells the owner of an assisted rotation at each reminder stage, and the second contact once overdue', () => {
    // Prepare: the notices the engine publishes for a github-pat rotation (no value in them).
    const notice = (type: string, stage: string | undefined, contacts: string[], escalated: boolean) =>
      event(type, {
        rotationId: 'rot_0123456789abcdef01234567_0000000000000000a',
        credentialType: 'github-pat',
        ...(stage === undefined ? {} : { stage }),
        daysLeft: stage === 'overdue' ? -2 : 7,
        contacts,
        escalated,
      });
    const opened = notice('rotation.awaiting-input', undefined, ['alice@example.com'], false);
    const week = notice('rotation.reminder', '7d', ['alice@example.com'], false);
    const overdue = notice('rotation.reminder', 'overdue', ['alice@example.com', 'Bob@Example.com'], true);

    // Act
    const [toOpened, toWeek, toOverdue] = [opened, week, overdue].map((notice) =>
      routeEvent(notice, subject, [], ['a']),
    );

    // Assess: default routes reach every channel and the owner; overdue adds the second contact.
    expect(toOpened).toEqual({ channelIds: ['a'], ownerEmail: 'alice@example.com', contactEmails: [] });
    expect(toWeek?.contactEmails).toEqual([]);
    expect(toOverdue).toEqual({
      channelIds: ['a'],
      ownerEmail: 'alice@example.com',
      contactEmails: ['bob@example.com'],
    });
    expect([opened, week, overdue].map(severityOf)).toEqual(['medium', 'medium', 'critical']);
    // Each stage is its own condition: a repeat of a stage is suppressed, the next stage is news.
    expect(conditionOf(week)).toEqual({
      key: `assisted#${CRED}`,
      state: 'rot_0123456789abcdef01234567_0000000000000000a:7d',
    });
    expect(conditionOf(overdue)?.state).not.toBe(conditionOf(week)?.state);
    const message = buildMessage(overdue, { ...subject, name: 'ci-token' }, 'https://vp.example.com');
    expect(message.title).toBe('Overdue: a new value for ci-token is still missing');
    expect(message.nextSteps.join(' ')).toContain(
      '/rotations/rot_0123456789abcdef01234567_0000000000000000a/submit',
    );
    expect(message.summary).toContain('second contact');
  });

  it('never notifies an owner who is not an email address', () => {
    expect(
      routeEvent(event('rotation.failed'), { ...subject, owner: 'team-pay' }, [], ['a']).ownerEmail,
    ).toBeUndefined();
  });
});

describe('de-duplication and holds', () => {
  const condition = { key: `expiry#${CRED}`, state: 'expiring:7:2026-12-12' };
  const sent = { ...condition, eventId: 'ev-0', sentAt: '2026-12-06T00:00:00.000Z' };

  it('sends a condition once per window until it changes', () => {
    expect(decideDuplicate(condition, undefined, 'ev-1', NOW)).toEqual({ send: true, why: 'new' });
    expect(decideDuplicate(condition, sent, 'ev-1', NOW)).toEqual({ send: false, why: 'duplicate' });
    expect(decideDuplicate({ ...condition, state: 'expiring:1:2026-12-12' }, sent, 'ev-1', NOW)).toEqual({
      send: true,
      why: 'changed',
    });
    expect(decideDuplicate(condition, sent, 'ev-1', new Date('2026-12-07T00:00:00.000Z'))).toEqual({
      send: true,
      why: 'window-elapsed',
    });
    expect(decideDuplicate(condition, sent, 'ev-0', NOW)).toEqual({ send: true, why: 'same-event' });
  });

  it('gives each expiry threshold its own state, so 30, 7 and 1 days are each sent', () => {
    const at = (threshold: number) =>
      conditionOf(event('credential.expiring', { threshold, expiresAt: '2026-12-12T00:00:00Z' }));
    expect(at(30)?.key).toBe(at(7)?.key);
    expect(at(30)?.state).not.toBe(at(7)?.state);
  });

  it('silences a snoozed credential until the date and an acknowledged condition until it changes', () => {
    const base = { credentialId: CRED, by: 'alice', at: NOW.toISOString(), note: undefined };
    expect(
      decideHold({ ...base, kind: 'snoozed', until: '2026-12-08T00:00:00Z', conditions: {} }, condition, NOW),
    ).toEqual({ send: false, why: 'snoozed' });
    expect(
      decideHold({ ...base, kind: 'snoozed', until: '2026-12-01T00:00:00Z', conditions: {} }, condition, NOW),
    ).toBeUndefined();
    const ack = {
      ...base,
      kind: 'acknowledged' as const,
      until: undefined,
      conditions: { [condition.key]: condition.state },
    };
    expect(decideHold(ack, condition, NOW)).toEqual({ send: false, why: 'acknowledged' });
    expect(decideHold(ack, { ...condition, state: 'expired:2026-12-12' }, NOW)).toBeUndefined();
  });

  it('refuses a snooze in the past or more than a year ahead', () => {
    expect(fieldOf(() => parseAlertHoldInput({ kind: 'snoozed', until: '2026-01-01T00:00:00Z' }, NOW))).toBe(
      'until',
    );
    expect(fieldOf(() => parseAlertHoldInput({ kind: 'snoozed', until: '2028-01-01T00:00:00Z' }, NOW))).toBe(
      'until',
    );
    expect(parseAlertHoldInput({ kind: 'snoozed', until: '2026-12-20T00:00:00Z' }, NOW).kind).toBe('snoozed');
  });
});

describe('expiry rules', () => {
  const in_ = (days: number, hours = 0) =>
    new Date(NOW.getTime() + days * 86_400_000 + hours * 3_600_000).toISOString();

  it('warns at the smallest crossed threshold, on the day, and after expiry', () => {
    expect(expiryStage(in_(31), NOW, [30, 7, 1])).toBeUndefined();
    expect(expiryStage(in_(30), NOW, [30, 7, 1])).toEqual({ kind: 'expiring', threshold: 30, daysLeft: 30 });
    expect(expiryStage(in_(6), NOW, [30, 7, 1])).toEqual({ kind: 'expiring', threshold: 7, daysLeft: 6 });
    expect(expiryStage(in_(0, 20), NOW, [30, 7, 1])).toEqual({ kind: 'expiring', threshold: 1, daysLeft: 1 });
    expect(expiryStage(in_(0, 6), NOW, [30, 7, 1])).toEqual({ kind: 'expiring', threshold: 0, daysLeft: 0 });
    expect(expiryStage(in_(-2), NOW, [30, 7, 1])?.kind).toBe('expired');
  });

  it('prefers the credential thresholds to the tenant ones to the defaults', () => {
    expect(effectiveThresholds(undefined, undefined)).toEqual([30, 7, 1]);
    expect(effectiveThresholds([14], undefined)).toEqual([14]);
    expect(effectiveThresholds([14], [3])).toEqual([3]);
  });

  it('calls a rotation overdue only after a day of grace', () => {
    expect(rotationOverdue(in_(0, -12), NOW)).toBeUndefined();
    expect(rotationOverdue(in_(-3), NOW)).toEqual({ overdueDays: 3 });
  });

  it('turns a candidate into expiring and overdue events', () => {
    const events = expiryEvents(
      {
        tenant: 't1',
        credentialId: CRED,
        credentialType: 'api-token',
        credentialName: 'stripe',
        owner: undefined,
        expiresAt: in_(7),
        rotationDueAt: in_(-2),
        expiryThresholds: undefined,
      },
      NOW,
      [30, 7, 1],
    );
    expect(events.map((e) => [e.type, e.detail.threshold ?? e.detail.overdueDays])).toEqual([
      ['credential.expiring', 7],
      ['rotation.overdue', 2],
    ]);
  });

  it('grades expiry severity by days left', () => {
    expect(severityOf(event('credential.expiring', { daysLeft: 30 }))).toBe('medium');
    expect(severityOf(event('credential.expiring', { daysLeft: 7 }))).toBe('high');
    expect(severityOf(event('credential.expiring', { daysLeft: 1 }))).toBe('critical');
  });
});

describe('retries and the delivery log rule', () => {
  it('honours Retry-After, backs off with jitter, and stops on permanent failures', () => {
    const slow = classifyFailure(new RetryableDeliveryError('slack_429', 2_000));
    expect(retryDelay(DEFAULT_RETRY_POLICY, 1, slow)).toBe(2_000);
    expect(
      retryDelay(DEFAULT_RETRY_POLICY, 1, classifyFailure(new RetryableDeliveryError('slack_429', 60_000))),
    ).toBeUndefined();
    expect(retryDelay(DEFAULT_RETRY_POLICY, 2, classifyFailure(new Error('x')), () => 0.999)).toBe(399);
    expect(retryDelay(DEFAULT_RETRY_POLICY, 3, classifyFailure(new Error('x')))).toBeUndefined();
    expect(
      retryDelay(DEFAULT_RETRY_POLICY, 1, classifyFailure(new PermanentDeliveryError('slack_no_service'))),
    ).toBeUndefined();
    expect(parseRetryAfter('3', NOW)).toBe(3_000);
    expect(parseRetryAfter(new Date(NOW.getTime() + 5_000).toUTCString(), NOW)).toBe(5_000);
  });

  it('claims a delivery only when nobody sent it, holds it, or gave it up', () => {
    const entry = (status: DeliveryEntry['status'], leaseUntil?: string): DeliveryEntry => ({
      tenant: 't1',
      eventId: 'e',
      eventTime: NOW.toISOString(),
      channelId: 'c',
      eventType: 'rotation.failed',
      channelKind: 'email',
      status,
      attempts: 1,
      reason: undefined,
      credentialId: undefined,
      updatedAt: NOW.toISOString(),
      leaseUntil,
      revision: 2,
    });
    expect(decideClaim(undefined, NOW)).toEqual({ claim: true });
    expect(decideClaim(entry('sent'), NOW)).toEqual({ claim: false, why: 'already-sent' });
    expect(decideClaim(entry('failed'), NOW)).toEqual({ claim: false, why: 'failed-for-good' });
    expect(decideClaim(entry('retrying'), NOW)).toEqual({ claim: true });
    expect(decideClaim(entry('sending', '2026-12-06T12:01:00Z'), NOW)).toEqual({
      claim: false,
      why: 'in-progress',
    });
    expect(decideClaim(entry('sending', '2026-12-06T11:59:00Z'), NOW)).toEqual({ claim: true });
  });
});
