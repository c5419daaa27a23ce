/**
 * The delivery use case: one event in, one message per target channel out, each channel on its
 * own (one channel's retries or outage never hold up another), each (event, channel) sent at most
 * once (the delivery log), conditions de-duplicated per window, holds respected, and a channel
 * that fails for good marked failing and reported on the others.
 */
import type { Clock } from '../ports.js';
import type { Channel, ChannelSecret } from './channel.js';
import { classifyFailure, DEFAULT_RETRY_POLICY, type RetryPolicy, retryDelay } from './delivery-failure.js';
import {
  type DeliveryEntry,
  type DeliveryKey,
  type DeliveryLogStore,
  type DeliveryStatus,
  decideClaim,
} from './delivery-log.js';
import { buildMessage } from './message.js';
import { conditionOf, credentialIdOf, isRoutable, type NotifiableEvent } from './notify-event.js';
import type {
  AlertHoldStore,
  ChannelSecrets,
  ChannelSender,
  ChannelStore,
  ConditionStore,
  DeliveryOutcomes,
  RouteStore,
  Sleeper,
  SubjectLookup,
} from './ports.js';
import { type Route, routeEvent } from './routing.js';
import {
  decideDuplicate,
  decideHold,
  DEFAULT_DEDUP_WINDOW_HOURS,
  type SuppressionDecision,
} from './suppression.js';

export interface ChannelDelivery {
  readonly channelId: string;
  readonly channelKind: string;
  readonly status: DeliveryStatus | 'already-sent' | 'in-progress';
  readonly attempts: number;
  readonly reason: string | undefined;
}

export interface DeliveryReport {
  readonly eventId: string;
  readonly suppressed: SuppressionDecision | undefined;
  readonly deliveries: readonly ChannelDelivery[];
  /** True when a channel is still to be retried: the caller fails so the bus redelivers the event. */
  readonly incomplete: boolean;
}

export interface NotifierDependencies {
  readonly channels: ChannelStore;
  readonly routes: RouteStore;
  readonly secrets: ChannelSecrets;
  readonly subjects: SubjectLookup;
  readonly conditions: ConditionStore;
  readonly holds: AlertHoldStore;
  readonly log: DeliveryLogStore;
  readonly senders: readonly ChannelSender[];
  readonly clock: Clock;
  readonly sleeper: Sleeper;
  /**
   * Told of every delivery that reached a final state (sent, failed, skipped), after the log
   * entry is stored: where audit events `notification.sent` / `notification.failed` are recorded.
   */
  readonly outcomes?: DeliveryOutcomes;
}

export interface NotifierOptions {
  readonly dashboardUrl: string;
  readonly retry?: RetryPolicy;
  readonly dedupWindowHours?: number;
  /** How long a `sending` entry holds before another delivery may take it over. */
  readonly leaseMs?: number;
  /**
   * How long a warm function reuses a tenant's channels, routes and channel secrets (default 30 s):
   * a burst of events then costs no settings or secret-store reads per event.
   */
  readonly settingsCacheMs?: number;
}

interface TenantSettings {
  readonly channels: Channel[];
  readonly routes: Route[];
  readonly secrets: Map<string, Promise<ChannelSecret | undefined>>;
  readonly until: number;
}

/** The id under which a credential owner's direct email is logged. */
export const OWNER_CHANNEL_ID = 'owner';

export class Notifier {
  private readonly retry: RetryPolicy;
  private readonly settings = new Map<string, Promise<TenantSettings>>();

  constructor(
    private readonly deps: NotifierDependencies,
    private readonly options: NotifierOptions,
  ) {
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
  }

  async deliver(event: NotifiableEvent): Promise<DeliveryReport> {
    if (!isRoutable(event.type))
      return { eventId: event.id, suppressed: undefined, deliveries: [], incomplete: false };
    const now = this.deps.clock.now();
    const credentialId = credentialIdOf(event);
    const [subject, { channels, routes }, hold] = await Promise.all([
      credentialId === undefined ? undefined : this.deps.subjects.subject(event.tenant, credentialId),
      this.tenantSettings(event.tenant),
      credentialId === undefined ? undefined : this.deps.holds.get(event.tenant, credentialId),
    ]);
    const condition = conditionOf(event);
    const held = decideHold(hold, condition, now);
    if (held !== undefined) return { eventId: event.id, suppressed: held, deliveries: [], incomplete: false };
    if (condition !== undefined) {
      const previous = await this.deps.conditions.get(event.tenant, condition.key);
      const decision = decideDuplicate(
        condition,
        previous,
        event.id,
        now,
        this.options.dedupWindowHours ?? DEFAULT_DEDUP_WINDOW_HOURS,
      );
      if (!decision.send)
        return { eventId: event.id, suppressed: decision, deliveries: [], incomplete: false };
      if (decision.why !== 'same-event') {
        const record = {
          key: condition.key,
          state: condition.state,
          eventId: event.id,
          sentAt: now.toISOString(),
        };
        // Two different events racing for one condition: only the winner sends.
        if (!(await this.deps.conditions.record(event.tenant, record, previous?.eventId))) {
          return {
            eventId: event.id,
            suppressed: { send: false, why: 'duplicate' },
            deliveries: [],
            incomplete: false,
          };
        }
      }
    }

    const decision = routeEvent(
      event,
      subject,
      routes,
      channels.map((channel) => channel.id),
    );
    const targets = channels.filter((channel) => decision.channelIds.includes(channel.id));
    // The owner (and the contacts an assisted-rotation notice names) get one direct email.
    const direct = [
      ...(decision.ownerEmail === undefined ? [] : [decision.ownerEmail]),
      ...decision.contactEmails,
    ];
    if (direct.length > 0) targets.push(this.ownerChannel(event.tenant, direct));
    const message = buildMessage(event, subject, this.options.dashboardUrl);

    // Each channel runs on its own; allSettled so one channel's error never cuts another short.
    const settled = await Promise.allSettled(
      targets.map((channel) => this.deliverTo(channel, event, message, channels)),
    );
    const deliveries = settled.map((result, index): ChannelDelivery =>
      result.status === 'fulfilled'
        ? result.value
        : {
            channelId: targets[index]?.id ?? '?',
            channelKind: targets[index]?.settings.kind ?? 'unknown',
            status: 'retrying',
            attempts: 0,
            reason: classifyFailure(result.reason).reason,
          },
    );
    return {
      eventId: event.id,
      suppressed: undefined,
      deliveries,
      incomplete: deliveries.some(
        (delivery) => delivery.status === 'retrying' || delivery.status === 'in-progress',
      ),
    };
  }

  private tenantSettings(tenant: string): Promise<TenantSettings> {
    const now = this.deps.clock.now().getTime();
    const cached = this.settings.get(tenant);
    if (cached !== undefined) {
      return cached.then((value) => (value.until > now ? value : this.loadSettings(tenant, now)));
    }
    return this.loadSettings(tenant, now);
  }

  private loadSettings(tenant: string, now: number): Promise<TenantSettings> {
    const loading = Promise.all([this.deps.channels.list(tenant), this.deps.routes.list(tenant)]).then(
      ([channels, routes]): TenantSettings => ({
        channels,
        routes,
        secrets: new Map(),
        until: now + (this.options.settingsCacheMs ?? 30_000),
      }),
    );
    this.settings.set(tenant, loading);
    // A failed load is not cached.
    loading.catch(() => this.settings.delete(tenant));
    return loading;
  }

  private async channelSecret(channel: Channel): Promise<ChannelSecret | undefined> {
    const settings = await this.tenantSettings(channel.tenant);
    let secret = settings.secrets.get(channel.id);
    if (secret === undefined) {
      secret = this.deps.secrets.read(channel.tenant, channel.id);
      settings.secrets.set(channel.id, secret);
      secret.catch(() => settings.secrets.delete(channel.id));
    }
    return secret;
  }

  private ownerChannel(tenant: string, recipients: readonly string[]): Channel {
    return {
      id: OWNER_CHANNEL_ID,
      tenant,
      name: 'Credential owner',
      settings: { kind: 'email', recipients: [...recipients] },
      secretHint: undefined,
      hasSecret: false,
      digest: false,
      state: 'active',
      failure: undefined,
      revision: 1,
    };
  }

  private async deliverTo(
    channel: Channel,
    event: NotifiableEvent,
    message: ReturnType<typeof buildMessage>,
    allChannels: readonly Channel[],
  ): Promise<ChannelDelivery> {
    const key = { tenant: event.tenant, eventId: event.id, eventTime: event.time, channelId: channel.id };
    const now = this.deps.clock.now();
    // Most deliveries are first deliveries: try to create the entry, and read it only if one exists.
    const fresh = this.entry(key, event, channel, undefined, now);
    if (await this.deps.log.create(fresh)) return this.send(fresh, channel, event, message, allChannels);
    const entry = await this.deps.log.get(key);
    const claim = decideClaim(entry, now);
    if (!claim.claim) {
      // A redelivery after a final outcome: report it again, so an audit record a failed
      // invocation could not write is written now (the audit event's id is the outcome's).
      if (entry !== undefined && (entry.status === 'sent' || entry.status === 'failed')) {
        await this.deps.outcomes?.record(entry);
      }
      return {
        channelId: channel.id,
        channelKind: channel.settings.kind,
        status:
          claim.why === 'already-sent'
            ? 'already-sent'
            : claim.why === 'in-progress'
              ? 'in-progress'
              : (entry?.status ?? 'skipped'),
        attempts: entry?.attempts ?? 0,
        reason: entry?.reason,
      };
    }
    const base = this.entry(key, event, channel, entry, now);
    const won =
      entry === undefined
        ? await this.deps.log.create(base)
        : await this.deps.log.replace(base, entry.revision);
    if (!won)
      return {
        channelId: channel.id,
        channelKind: channel.settings.kind,
        status: 'in-progress',
        attempts: base.attempts,
        reason: undefined,
      };
    return this.send(base, channel, event, message, allChannels);
  }

  private entry(
    key: DeliveryKey,
    event: NotifiableEvent,
    channel: Channel,
    previous: DeliveryEntry | undefined,
    now: Date,
  ): DeliveryEntry {
    return {
      ...key,
      eventType: event.type,
      channelKind: channel.settings.kind,
      status: 'sending',
      attempts: previous?.attempts ?? 0,
      reason: previous?.reason,
      credentialId: credentialIdOf(event),
      updatedAt: now.toISOString(),
      leaseUntil: new Date(now.getTime() + (this.options.leaseMs ?? 60_000)).toISOString(),
      revision: (previous?.revision ?? 0) + 1,
    };
  }

  private async send(
    entry: DeliveryEntry,
    channel: Channel,
    event: NotifiableEvent,
    message: ReturnType<typeof buildMessage>,
    allChannels: readonly Channel[],
  ): Promise<ChannelDelivery> {
    if (channel.state === 'failing') {
      return this.finish(
        entry,
        'skipped',
        entry.attempts,
        `channel_failing:${channel.failure?.reason ?? 'unknown'}`,
      );
    }
    const sender = this.deps.senders.find((candidate) => candidate.kind === channel.settings.kind);
    if (sender === undefined)
      return this.finish(entry, 'failed', entry.attempts, `no_sender_${channel.settings.kind}`);

    let attempts = entry.attempts;
    for (let attempt = 1; ; attempt += 1) {
      attempts += 1;
      try {
        const secret = channel.hasSecret ? await this.channelSecret(channel) : undefined;
        await sender.send({ channel, secret }, message, event);
        return this.finish(entry, 'sent', attempts, undefined);
      } catch (error: unknown) {
        const failure = classifyFailure(error);
        if (failure.kind === 'permanent') {
          const result = await this.finish(entry, 'failed', attempts, failure.reason);
          if (channel.id !== OWNER_CHANNEL_ID)
            await this.reportFailing(channel, failure.reason, event, allChannels);
          return result;
        }
        const wait = retryDelay(this.retry, attempt, failure);
        if (wait === undefined) return this.finish(entry, 'retrying', attempts, failure.reason);
        await this.deps.sleeper.sleep(wait);
      }
    }
  }

  private async finish(
    entry: DeliveryEntry,
    status: DeliveryStatus,
    attempts: number,
    reason: string | undefined,
  ): Promise<ChannelDelivery> {
    const next: DeliveryEntry = {
      ...entry,
      status,
      attempts,
      reason,
      updatedAt: this.deps.clock.now().toISOString(),
      leaseUntil: undefined,
      revision: entry.revision + 1,
    };
    const stored = await this.deps.log.replace(next, entry.revision);
    // Only the delivery whose entry this is reports it (a lost race reports nothing twice).
    if (stored && status !== 'retrying') await this.deps.outcomes?.record(next);
    return { channelId: entry.channelId, channelKind: entry.channelKind, status, attempts, reason };
  }

  /** Marks the channel failing (once) and tells the tenant's other channels. */
  private async reportFailing(
    channel: Channel,
    reason: string,
    cause: NotifiableEvent,
    allChannels: readonly Channel[],
  ): Promise<void> {
    const since = this.deps.clock.now().toISOString();
    const changed = await this.deps.channels.markFailing(channel.tenant, channel.id, reason, since);
    // Later events read the channel's new state.
    this.settings.delete(channel.tenant);
    if (!changed) return;
    const notice: NotifiableEvent = {
      id: `channel-failing-${channel.id}-${since}`,
      type: 'notification.channel.failing',
      tenant: channel.tenant,
      time: since,
      detail: {
        channelId: channel.id,
        channelName: channel.name,
        channelKind: channel.settings.kind,
        reason,
        causeEventId: cause.id,
      },
    };
    const message = buildMessage(notice, undefined, this.options.dashboardUrl);
    const others = allChannels.filter((other) => other.id !== channel.id && other.state === 'active');
    await Promise.allSettled(others.map((other) => this.deliverTo(other, notice, message, [])));
  }
}
