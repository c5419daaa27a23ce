/**
 * The opt-in daily digest: once a day, every channel that asked for it (`digest: true`) gets one
 * message per tenant: what expires within N days, what has expired, which rotations are overdue,
 * and the open findings by severity. Sent at most once per channel and day (a delivery-log entry
 * keyed `digest-<day>`), so a retried schedule sends nothing twice; a failed send is logged and
 * not retried (tomorrow's digest follows).
 */
import type { Credential } from '../credentials/credential.js';
import type { CredentialStore } from '../credentials/credential-store.js';
import { SEVERITIES, type Severity } from '../credentials/findings/finding-rule.js';
import type { Clock } from '../ports.js';
import type { Channel } from './channel.js';
import { classifyFailure } from './delivery-failure.js';
import type { DeliveryEntry, DeliveryLogStore } from './delivery-log.js';
import { humanTime, type NotificationMessage } from './message.js';
import type { NotifiableEvent } from './notify-event.js';
import type { ChannelSecrets, ChannelSender, ChannelStore } from './ports.js';

const DAY_MS = 86_400_000;
export const DIGEST_EVENT_TYPE = 'notification.digest';
/** Names listed per section; the rest is counted. */
const LISTED = 10;

export interface DigestSummary {
  readonly expiring: readonly { readonly name: string; readonly at: string }[];
  readonly expired: readonly { readonly name: string; readonly at: string }[];
  readonly overdue: readonly { readonly name: string; readonly dueAt: string }[];
  readonly findings: Readonly<Record<Severity, number>>;
}

function expiryOf(credential: Credential): string | undefined {
  const next = credential.facts.nextRotationAt;
  return (
    credential.expiresAt ??
    (credential.type === 'secretsmanager-secret' && typeof next === 'string' ? next : undefined)
  );
}

/** What a tenant's digest says (pure). */
export function summarize(credentials: readonly Credential[], now: Date, withinDays: number): DigestSummary {
  const live = credentials.filter((credential) => credential.status !== 'gone');
  const horizon = now.getTime() + withinDays * DAY_MS;
  const dated = live.flatMap((credential) => {
    const at = expiryOf(credential);
    return at === undefined || Number.isNaN(Date.parse(at)) ? [] : [{ name: credential.name, at }];
  });
  const byDate = <T extends { at: string }>(a: T, b: T): number => a.at.localeCompare(b.at);
  const findings = Object.fromEntries(SEVERITIES.map((severity) => [severity, 0])) as Record<
    Severity,
    number
  >;
  for (const credential of live) for (const finding of credential.findings) findings[finding.severity] += 1;
  return {
    expiring: dated
      .filter(({ at }) => Date.parse(at) > now.getTime() && Date.parse(at) <= horizon)
      .sort(byDate),
    expired: dated.filter(({ at }) => Date.parse(at) <= now.getTime()).sort(byDate),
    overdue: live
      .flatMap((credential) => {
        const dueAt = credential.rotation?.dueAt;
        return dueAt !== undefined && Date.parse(dueAt) < now.getTime()
          ? [{ name: credential.name, dueAt }]
          : [];
      })
      .sort((a, b) => a.dueAt.localeCompare(b.dueAt)),
    findings,
  };
}

function listed(items: readonly { name: string; when: string }[]): string {
  if (items.length === 0) return 'none';
  const shown = items.slice(0, LISTED).map((item) => `${item.name} (${humanTime(item.when)})`);
  return items.length > LISTED ? `${shown.join('; ')}; and ${items.length - LISTED} more` : shown.join('; ');
}

export function digestMessage(
  event: NotifiableEvent,
  summary: DigestSummary,
  withinDays: number,
  dashboardUrl: string,
): NotificationMessage {
  const openFindings = SEVERITIES.map((severity) => `${severity} ${summary.findings[severity]}`).join(', ');
  const urgent = summary.expired.length > 0 || summary.overdue.length > 0 || summary.findings.critical > 0;
  return {
    eventId: event.id,
    eventType: event.type,
    tenant: event.tenant,
    severity: urgent ? 'high' : 'low',
    title: `Daily digest: ${summary.expiring.length} expiring, ${summary.expired.length} expired, ${summary.overdue.length} overdue`,
    summary: `Credentials of ${event.tenant} that expire within ${withinDays} days, have expired or are overdue for rotation, and the open findings.`,
    facts: [
      {
        label: `Expiring within ${withinDays} days`,
        value: listed(summary.expiring.map((e) => ({ name: e.name, when: e.at }))),
      },
      { label: 'Expired', value: listed(summary.expired.map((e) => ({ name: e.name, when: e.at }))) },
      {
        label: 'Rotation overdue',
        value: listed(summary.overdue.map((e) => ({ name: e.name, when: e.dueAt }))),
      },
      { label: 'Open findings', value: openFindings },
      { label: 'When', value: humanTime(event.time) },
    ],
    nextSteps: urgent
      ? ['Open the credentials page, sorted by status, and deal with the expired and overdue ones first.']
      : [],
    link: `${dashboardUrl.replace(/\/+$/, '')}/credentials`,
    time: event.time,
  };
}

export interface DailyDigestDependencies {
  readonly tenants: () => Promise<string[]>;
  readonly credentials: Pick<CredentialStore, 'list'>;
  readonly channels: Pick<ChannelStore, 'list'>;
  readonly secrets: ChannelSecrets;
  readonly senders: readonly ChannelSender[];
  readonly log: DeliveryLogStore;
  readonly clock: Clock;
}

export interface DigestRun {
  readonly tenants: number;
  readonly sent: number;
  readonly failed: number;
  readonly alreadySent: number;
}

export class DailyDigest {
  constructor(
    private readonly deps: DailyDigestDependencies,
    private readonly options: { readonly dashboardUrl: string; readonly withinDays?: number },
  ) {}

  async run(now: Date): Promise<DigestRun> {
    const withinDays = this.options.withinDays ?? 14;
    const day = now.toISOString().slice(0, 10);
    const counts = { tenants: 0, sent: 0, failed: 0, alreadySent: 0 };
    for (const tenant of await this.deps.tenants()) {
      const channels = (await this.deps.channels.list(tenant)).filter(
        (channel) => channel.digest && channel.state === 'active',
      );
      if (channels.length === 0) continue;
      counts.tenants += 1;
      const summary = summarize(await this.deps.credentials.list(tenant), now, withinDays);
      const event: NotifiableEvent = {
        id: `digest-${day}`,
        type: DIGEST_EVENT_TYPE,
        tenant,
        time: now.toISOString(),
        detail: {
          expiring: summary.expiring.length,
          expired: summary.expired.length,
          overdue: summary.overdue.length,
          findings: summary.findings,
        },
      };
      const message = digestMessage(event, summary, withinDays, this.options.dashboardUrl);
      // One channel's failure never stops the others.
      const results = await Promise.all(channels.map((channel) => this.send(channel, event, message, day)));
      for (const result of results) counts[result] += 1;
    }
    return counts;
  }

  private async send(
    channel: Channel,
    event: NotifiableEvent,
    message: NotificationMessage,
    day: string,
  ): Promise<'sent' | 'failed' | 'alreadySent'> {
    const now = this.deps.clock.now().toISOString();
    const entry: DeliveryEntry = {
      tenant: channel.tenant,
      eventId: event.id,
      eventTime: `${day}T00:00:00.000Z`,
      channelId: channel.id,
      eventType: DIGEST_EVENT_TYPE,
      channelKind: channel.settings.kind,
      status: 'sending',
      attempts: 1,
      reason: undefined,
      credentialId: undefined,
      updatedAt: now,
      leaseUntil: undefined,
      revision: 1,
    };
    if (!(await this.deps.log.create(entry))) return 'alreadySent';
    const sender = this.deps.senders.find((candidate) => candidate.kind === channel.settings.kind);
    let reason: string | undefined;
    try {
      if (sender === undefined) throw new Error(`no sender for ${channel.settings.kind}`);
      const secret = channel.hasSecret ? await this.deps.secrets.read(channel.tenant, channel.id) : undefined;
      await sender.send({ channel, secret }, message, event);
    } catch (error: unknown) {
      reason = classifyFailure(error).reason;
    }
    await this.deps.log.replace(
      {
        ...entry,
        status: reason === undefined ? 'sent' : 'failed',
        reason,
        updatedAt: this.deps.clock.now().toISOString(),
        revision: 2,
      },
      1,
    );
    return reason === undefined ? 'sent' : 'failed';
  }
}
