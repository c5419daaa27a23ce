/**
 * What a notification says, once, for every channel: what happened, which credential, its owner,
 * when, what to do next and a link to the dashboard page. Built only from the event's detail and
 * the inventory's facts (names, ids, dates), which never hold a secret value.
 */
import type { NotifiableEvent, Severity } from './notify-event.js';
import { severityOf } from './notify-event.js';
import type { NotificationSubject } from './routing.js';

export interface MessageFact {
  readonly label: string;
  readonly value: string;
}

export interface NotificationMessage {
  readonly eventId: string;
  readonly eventType: string;
  readonly tenant: string;
  readonly severity: Severity;
  /** One line: what happened (email subject, Slack header, SNS subject). */
  readonly title: string;
  /** One or two sentences. */
  readonly summary: string;
  readonly facts: readonly MessageFact[];
  readonly nextSteps: readonly string[];
  readonly link: string;
  readonly time: string;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

function dayPhrase(days: number): string {
  if (days <= 0) return 'today';
  return days === 1 ? 'in 1 day' : `in ${days} days`;
}

/** Dates in messages: `2026-12-07 14:00 UTC`, the same for every reader. */
export function humanTime(iso: string | undefined): string {
  if (iso === undefined || Number.isNaN(Date.parse(iso))) return 'unknown';
  return `${new Date(iso).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

interface Wording {
  readonly title: string;
  readonly summary: string;
  readonly nextSteps: readonly string[];
  readonly page: string;
}

function wording(event: NotifiableEvent, name: string, credentialId: string | undefined): Wording {
  const d = event.detail;
  const credentialPage =
    credentialId === undefined ? '/credentials' : `/credentials/${encodeURIComponent(credentialId)}`;
  switch (event.type) {
    case 'rotation.failed':
      return {
        title: `Rotation failed: ${name}`,
        summary:
          d.rolledBack === true
            ? `The rotation of ${name} failed at step ${str(d.step) ?? 'unknown'} and was rolled back: the current credential is still in use and still works.`
            : `The rotation of ${name} failed at step ${str(d.step) ?? 'unknown'}.`,
        nextSteps: [
          'Open the credential in VaultPilot and read the failed step and its reason.',
          'Fix the cause (permissions, connectivity, the target system), then choose "Rotate now".',
        ],
        page: credentialPage,
      };
    case 'rotation.succeeded':
      return {
        title: `Rotated: ${name}`,
        summary: `${name} was rotated; the new value is current.`,
        nextSteps: [
          'Nothing to do. If something broke, "Roll back" on the credential page restores the previous value.',
        ],
        page: credentialPage,
      };
    case 'rotation.rolled-back':
      return {
        title: `Rotation rolled back: ${name}`,
        summary: `A rotation of ${name} was rolled back on request; the previous value is current again.`,
        nextSteps: ['Find out why the new value was rolled back before rotating again.'],
        page: credentialPage,
      };
    case 'rotation.overdue':
      return {
        title: `Rotation overdue: ${name}`,
        summary: `${name} was due for rotation on ${humanTime(str(d.dueAt))} and has not been rotated (${num(d.overdueDays) ?? 0} days late).`,
        nextSteps: [
          'Check the rotation policy and the last rotation attempt.',
          'Choose "Rotate now" on the credential page.',
        ],
        page: credentialPage,
      };
    case 'credential.expiring': {
      const days = num(d.daysLeft) ?? 0;
      return {
        title: `${name} expires ${dayPhrase(days)}`,
        summary: `${name} expires on ${humanTime(str(d.expiresAt))} (${dayPhrase(days)}).`,
        nextSteps: [
          'Issue a new credential at its provider and store it in VaultPilot ("Write new version"), or rotate it.',
          'Update the expiry date on the credential page once it is replaced.',
        ],
        page: credentialPage,
      };
    }
    case 'credential.expired':
      return {
        title: `Expired: ${name}`,
        summary: `${name} expired on ${humanTime(str(d.expiresAt))}. Anything still using it will fail.`,
        nextSteps: [
          'Replace it now at its provider and store the new value in VaultPilot.',
          'Then set its new expiry date.',
        ],
        page: credentialPage,
      };
    case 'credential.finding.opened':
      return {
        title: `${capitalize(str(d.severity) ?? 'new')} finding: ${str(d.title) ?? 'credential hygiene'} (${name})`,
        summary: `${str(d.title) ?? 'A finding'} now holds for ${name}.`,
        nextSteps: ['Open the credential to see the finding and the recommended fix.'],
        page: credentialPage,
      };
    case 'audit.integrity.failed':
      return {
        title: 'Audit log integrity check failed',
        summary: `The audit chain is not intact at sequence ${num(d.seq) ?? '?'} (${str(d.reason) ?? 'unknown reason'}). No digest was signed.`,
        nextSteps: [
          'Run "Verify chain" on the Audit page and treat this as a security incident until explained.',
        ],
        page: '/audit',
      };
    case 'discovery.run.finished':
      return {
        title: `Discovery run ${str(d.status) ?? 'finished'}`,
        summary: `Discovery run ${str(d.runId) ?? ''} ended with status ${str(d.status) ?? 'unknown'}.`,
        nextSteps: ['Open the Discovery page to see which sources failed and why.'],
        page: '/discovery',
      };
    case 'rotation.awaiting-input':
    case 'rotation.reminder': {
      const overdue = str(d.stage) === 'overdue';
      const submit = `POST /rotations/${str(d.rotationId) ?? '{rotationId}'}/submit`;
      const days = num(d.daysLeft);
      const when =
        days === undefined
          ? ''
          : days < 0
            ? ` (${-days} day${days === -1 ? '' : 's'} ago)`
            : ` (${dayPhrase(days)})`;
      const expiry =
        str(d.expiresAt) === undefined
          ? ''
          : ` It ${days !== undefined && days < 0 ? 'expired' : 'expires'} on ${humanTime(str(d.expiresAt))}${when}.`;
      return {
        title: overdue
          ? `Overdue: a new value for ${name} is still missing`
          : event.type === 'rotation.reminder'
            ? `Reminder: ${name} needs a new value`
            : `New value needed: ${name}`,
        summary:
          `${name} has no rotation API, so a person issues its replacement and gives it to VaultPilot.${expiry}` +
          (d.escalated === true
            ? ' This notice also goes to the second contact because the rotation is overdue.'
            : ''),
        nextSteps: [
          'Issue a new token or key at its provider (for a GitHub fine-grained token: Settings, Developer settings, Personal access tokens).',
          `Submit it to VaultPilot (${submit}, body {"value": {...}}); VaultPilot checks it, makes it current and finishes the rotation.`,
          'Revoke the old one at the provider once the rotation has finished.',
        ],
        page: credentialPage,
      };
    }
    case 'notification.channel.failing':
      return {
        title: `Notification channel failing: ${str(d.channelName) ?? 'a channel'}`,
        summary: `VaultPilot stopped sending to the ${str(d.channelKind) ?? ''} channel "${str(d.channelName) ?? ''}": ${str(d.reason) ?? 'it refused our messages'}.`,
        nextSteps: [
          'Fix the channel in Settings (a revoked webhook or token, an unverified address), then send a test message.',
        ],
        page: '/settings/notifications',
      };
    case 'notification.test':
      return {
        title: `Test message for ${str(d.channelName) ?? 'a channel'}`,
        summary: `This is a test message from VaultPilot: the channel "${str(d.channelName) ?? ''}" works.`,
        nextSteps: ['Nothing to do. Alerts routed to this channel will arrive like this one.'],
        page: '/settings/notifications',
      };
    default:
      return {
        title: `VaultPilot: ${event.type}`,
        summary: `Event ${event.type}.`,
        nextSteps: [],
        page: '/',
      };
  }
}

function capitalize(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1);
}

/** The facts of an event, worded for people. */
export function buildMessage(
  event: NotifiableEvent,
  subject: NotificationSubject | undefined,
  dashboardUrl: string,
): NotificationMessage {
  const credentialId = str(event.detail.credentialId);
  const name = subject?.name ?? str(event.detail.credentialName) ?? credentialId ?? 'credential';
  const words = wording(event, name, credentialId);
  const facts: MessageFact[] = [];
  if (credentialId !== undefined) {
    facts.push({ label: 'Credential', value: name });
    facts.push({ label: 'Type', value: subject?.type ?? str(event.detail.credentialType) ?? 'unknown' });
    facts.push({
      label: 'Owner',
      value: subject?.owner ?? str(event.detail.owner) ?? 'nobody (set an owner)',
    });
    if (subject?.path !== undefined) facts.push({ label: 'Path', value: subject.path });
    facts.push({ label: 'Id', value: credentialId });
  }
  // Rotation failures say why: the engine's reason is an error code or message, never a value.
  const reason = str(event.detail.reason);
  if (event.type === 'rotation.failed' && reason !== undefined)
    facts.push({ label: 'Reason', value: reason });
  facts.push({ label: 'When', value: humanTime(event.time) });
  facts.push({ label: 'Severity', value: severityOf(event) });
  return {
    eventId: event.id,
    eventType: event.type,
    tenant: event.tenant,
    severity: severityOf(event),
    title: words.title,
    summary: words.summary,
    facts,
    nextSteps: words.nextSteps,
    link: `${dashboardUrl.replace(/\/+$/, '')}${words.page}`,
    time: event.time,
  };
}
