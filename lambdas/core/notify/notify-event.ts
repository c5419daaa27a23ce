/**
 * The events the notifier routes, how severe each one is, and which condition of which credential
 * it reports (the unit of de-duplication). The three expiry-engine events are defined here; the
 * others come from the engines that publish them. Details carry ids, names and dates, never a value.
 */
import * as z from 'zod';
import { SEVERITIES, type Severity } from '../credentials/findings/finding-rule.js';

/** Events of the expiry engine (their detail schemas are in `lambdas/shared/notify-events.ts`). */
export const EXPIRY_EVENT_TYPES = {
  expiring: 'credential.expiring',
  expired: 'credential.expired',
  rotationOverdue: 'rotation.overdue',
} as const;

/** Every event type a route may name; anything else is refused with 400. */
export const ROUTABLE_EVENT_TYPES = [
  'rotation.failed',
  'rotation.succeeded',
  'rotation.rolled-back',
  EXPIRY_EVENT_TYPES.rotationOverdue,
  EXPIRY_EVENT_TYPES.expiring,
  EXPIRY_EVENT_TYPES.expired,
  'credential.finding.opened',
  'audit.integrity.failed',
  'discovery.run.finished',
  /** An assisted rotation waits for a person to submit the new value, and its reminders. */
  'rotation.awaiting-input',
  'rotation.reminder',
  /** A channel failed for good; reported on the tenant's other channels. */
  'notification.channel.failing',
] as const;
export type RoutableEventType = (typeof ROUTABLE_EVENT_TYPES)[number];

export { SEVERITIES, type Severity };

/** An event as the notifier receives it: EventBridge's `id` identifies a delivery of one fact. */
export interface NotifiableEvent {
  readonly id: string;
  readonly type: string;
  readonly tenant: string;
  readonly time: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

export function isRoutable(type: string): type is RoutableEventType {
  return (ROUTABLE_EVENT_TYPES as readonly string[]).includes(type);
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

/** How bad the event is: findings carry theirs; the others follow from what they report. */
export function severityOf(event: NotifiableEvent): Severity {
  switch (event.type) {
    case 'credential.finding.opened': {
      const parsed = z.enum(SEVERITIES).safeParse(event.detail.severity);
      return parsed.success ? parsed.data : 'medium';
    }
    case 'rotation.failed':
    case 'audit.integrity.failed':
    case 'credential.expired':
    case 'notification.channel.failing':
      return 'critical';
    case 'rotation.overdue':
    case 'rotation.rolled-back':
      return 'high';
    case 'credential.expiring': {
      const days = num(event.detail.daysLeft) ?? 30;
      return days <= 1 ? 'critical' : days <= 7 ? 'high' : 'medium';
    }
    case 'discovery.run.finished':
      return event.detail.status === 'failed' ? 'high' : 'low';
    case 'rotation.awaiting-input':
      return 'medium';
    case 'rotation.reminder': {
      const stage = text(event.detail.stage);
      if (stage === 'overdue') return 'critical';
      const days = num(event.detail.daysLeft);
      return days !== undefined && days <= 1 ? 'high' : stage === '1d' ? 'high' : 'medium';
    }
    default:
      return 'low';
  }
}

/**
 * The condition an event reports, for de-duplication: `key` names the condition of one subject
 * (the same key for every repeat), `state` what it is now (a change of state is news). Events
 * with no lasting condition (a rotation succeeded) answer undefined and are never suppressed.
 */
export interface Condition {
  readonly key: string;
  readonly state: string;
}

export function conditionOf(event: NotifiableEvent): Condition | undefined {
  const credential = text(event.detail.credentialId);
  switch (event.type) {
    case 'credential.expiring':
      // One warning per threshold: 30, then 7, then 1 day before are three states of one condition.
      return credential === undefined
        ? undefined
        : {
            key: `expiry#${credential}`,
            state: `expiring:${String(num(event.detail.threshold))}:${text(event.detail.expiresAt) ?? ''}`,
          };
    case 'credential.expired':
      return credential === undefined
        ? undefined
        : { key: `expiry#${credential}`, state: `expired:${text(event.detail.expiresAt) ?? ''}` };
    case 'rotation.overdue':
      return credential === undefined
        ? undefined
        : { key: `overdue#${credential}`, state: `overdue:${text(event.detail.dueAt) ?? ''}` };
    case 'credential.finding.opened':
      return credential === undefined
        ? undefined
        : { key: `finding#${credential}#${text(event.detail.ruleId) ?? ''}`, state: 'open' };
    case 'rotation.failed':
      return credential === undefined
        ? undefined
        : {
            key: `rotation-failed#${credential}`,
            state: `${text(event.detail.step) ?? ''}:${
              text(event.detail.reasonCode) ??
              failureReasonCode(text(event.detail.reason), text(event.detail.step))
            }`,
          };
    case 'rotation.awaiting-input':
    case 'rotation.reminder':
      // One notice per rotation and reminder stage (30d, 7d, 1d, overdue): a redelivered or
      // repeated reminder of the same stage is not news.
      return credential === undefined
        ? undefined
        : {
            key: `assisted#${credential}`,
            state: `${text(event.detail.rotationId) ?? ''}:${text(event.detail.stage) ?? 'opened'}`,
          };
    case 'audit.integrity.failed':
      return {
        key: 'audit-integrity',
        state: `${String(num(event.detail.seq))}:${text(event.detail.reason) ?? ''}`,
      };
    default:
      return undefined;
  }
}

/**
 * A stable code for a rotation failure's reason, so one failure repeating is one condition even
 * when its text varies (a port, a duration, a request id). The engine writes reasons as
 * `<step>: <Code>: <message>` (`describeFailure`): the code is kept, the message dropped. A reason
 * with no code keeps its words without numbers, quotes or addresses.
 */
export function failureReasonCode(reason: string | undefined, step: string | undefined): string {
  if (reason === undefined) return 'unknown';
  let rest = reason.trim();
  if (step !== undefined && rest.startsWith(`${step}:`)) rest = rest.slice(step.length + 1).trim();
  const code = /^([A-Za-z][A-Za-z0-9_.-]{1,63})(?::|$)/.exec(rest)?.[1];
  if (code !== undefined) return code;
  return (
    rest
      .toLowerCase()
      .replace(/(["'`]).*?\1/g, ' ')
      .replace(/\b[a-z]+:\/\/\S+/g, ' ')
      .replace(/[0-9a-f]{8,}|[\d.:]+/g, ' ')
      .replace(/[^a-z_ -]+/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 64) || 'unknown'
  );
}

/** The credential an event is about, if any. */
export function credentialIdOf(event: NotifiableEvent): string | undefined {
  return text(event.detail.credentialId);
}
