/**
 * The notifications API's use cases: a tenant's channels (admins manage them; their secrets go to
 * the secret store and come back masked), test messages through the real sender, routing rules
 * (the day-one defaults listed while a tenant has none of its own), the delivery log, and people's
 * acknowledgements and snoozes of a credential's alerts. Every call is audited, fail closed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { audited, lostAuditOutcome, ROLE_DENIAL } from '../audit/audited.js';
import type { AuditAction, AuditOutcome, AuditTarget } from '../audit/audit-event.js';
import type { AuditSink } from '../audit/audit-sink.js';
import { type Caller, callerAuditEvent } from '../audit/caller.js';
import type { CredentialStore } from '../credentials/credential-store.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { Clock } from '../ports.js';
import { principalName, type Role } from '../principal.js';
import {
  type Channel,
  type ChannelSecret,
  type ChannelValidationOptions,
  channelSecretPath,
  parseChannelInput,
  splitChannelInput,
} from './channel.js';
import { classifyFailure } from './delivery-failure.js';
import type { DeliveryEntry, DeliveryLogPage, DeliveryLogPager, DeliveryLogQuery } from './delivery-log.js';
import { buildMessage } from './message.js';
import type { NotifiableEvent } from './notify-event.js';
import type {
  ChannelSender,
  ConditionStore,
  ManagedAlertHoldStore,
  ManagedChannelStore,
  ManagedChannelSecrets,
  ManagedRouteStore,
} from './ports.js';
import { DeliveryRecorder } from './record-delivery.js';
import { DEFAULT_ROUTES, parseRouteInput, type Route } from './routing.js';
import { type AlertHold, parseAlertHoldInput } from './suppression.js';

/** Routes of one tenant, kept in one item (well under DynamoDB's 400 KB). */
const MAX_ROUTES = 100;

/** The event type of a test message; it is never routed, only sent to the channel under test. */
export const TEST_EVENT_TYPE = 'notification.test';

type Access = 'read' | 'manage' | 'holdRead' | 'holdWrite';

/** Who may do what: roles for people, scopes for machine clients (routes.ts declares the same). */
const ACCESS: Readonly<Record<Access, { roles: readonly Role[]; scopes: readonly string[] }>> = {
  read: { roles: ['admin', 'auditor'], scopes: ['vaultpilot/admin', 'vaultpilot/audit'] },
  manage: { roles: ['admin'], scopes: ['vaultpilot/admin'] },
  holdRead: {
    roles: ['admin', 'auditor', 'operator'],
    scopes: ['vaultpilot/admin', 'vaultpilot/audit', 'vaultpilot/write'],
  },
  holdWrite: { roles: ['admin', 'operator'], scopes: ['vaultpilot/admin', 'vaultpilot/write'] },
};

function mayAccess(caller: Caller, access: Access): boolean {
  const { principal } = caller;
  const allowed = ACCESS[access];
  return principal.kind === 'machine'
    ? principal.scopes.some((scope) => allowed.scopes.includes(scope))
    : principal.roles.some((role) => allowed.roles.includes(role));
}

export interface NotificationAdministrationDependencies {
  readonly channels: ManagedChannelStore;
  readonly secrets: ManagedChannelSecrets;
  readonly routes: ManagedRouteStore;
  readonly holds: ManagedAlertHoldStore;
  readonly conditions: Pick<ConditionStore, 'get'>;
  readonly credentials: Pick<CredentialStore, 'get'>;
  readonly log: DeliveryLogPager & ConstructorParameters<typeof DeliveryRecorder>[0]['log'];
  readonly senders: readonly ChannelSender[];
  readonly audit: AuditSink;
  readonly clock: Clock;
}

export interface NotificationAdministrationOptions {
  readonly validation: ChannelValidationOptions;
  /** Where messages link to (the dashboard). */
  readonly dashboardUrl: string;
}

export interface RouteList {
  readonly routes: readonly Route[];
  /** True while the tenant has no routes of its own and the day-one defaults apply. */
  readonly usingDefaults: boolean;
}

export interface TestResult {
  readonly status: 'sent' | 'failed';
  readonly reason: string | undefined;
  readonly eventId: string;
  readonly channel: Channel;
}

/** A channel as an admin may change it: any field of its kind; secrets left out are kept. */
export type ChannelPatch = Readonly<Record<string, unknown>>;

export interface DeliveryLogResult {
  readonly entries: readonly DeliveryEntry[];
  /** Pass it back as `cursor` for the next page; undefined on the last page. */
  readonly cursor: string | undefined;
}

/** The store's position, wrapped so callers treat it as opaque (and cannot mistake it for a time). */
export function encodeCursor(position: string): string {
  return Buffer.from(JSON.stringify({ after: position }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    const after = (parsed as { after?: unknown } | null)?.after;
    if (typeof after === 'string' && after.length > 0 && after.length <= 1024) return after;
  } catch {
    // Falls through to the 400 below.
  }
  throw new ValidationError('Invalid cursor: pass the cursor of the previous page as it was', {
    details: { field: 'cursor' },
  });
}

/** Tries of taking the first write of a two-write change back, and the pause before the next. */
const UNDO_ATTEMPTS = 3;
const UNDO_PAUSE_MS = 100;

/**
 * Runs `write`; when it fails, runs `undo` (the first write taken back) and rethrows the write's
 * failure. The storage that refused the write may refuse the undo too (throttling), so the undo
 * is tried a few times, pausing in between; if it is still refused, the write's failure stands
 * and what is left is garbage no caller reaches (a channel secret without its channel).
 */
export async function writeOrTakeBack(
  write: () => Promise<void>,
  undo: () => Promise<unknown>,
  options: { readonly attempts?: number; readonly pauseMs?: number } = {},
): Promise<void> {
  try {
    await write();
  } catch (error: unknown) {
    const attempts = options.attempts ?? UNDO_ATTEMPTS;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      try {
        await undo();
        break;
      } catch {
        if (attempt < attempts) {
          await new Promise((resolve) => setTimeout(resolve, (options.pauseMs ?? UNDO_PAUSE_MS) * attempt));
        }
      }
    }
    throw error;
  }
}

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(9).toString('base64url')}`;
}

/** The full input a stored channel was made from, for merging a patch onto. */
function inputOf(channel: Channel, secret: ChannelSecret | undefined): Record<string, unknown> {
  const base = { kind: channel.settings.kind, name: channel.name, digest: channel.digest };
  switch (channel.settings.kind) {
    case 'email':
      return { ...base, recipients: [...channel.settings.recipients] };
    case 'sns':
      return { ...base, topicArn: channel.settings.topicArn };
    case 'webhook':
      return secret?.kind === 'webhook' ? { ...base, url: secret.url, signingKey: secret.signingKey } : base;
    case 'slack': {
      const { channelId, apiUrl } = channel.settings;
      const extra = {
        ...(channelId === undefined ? {} : { channelId }),
        ...(apiUrl === undefined ? {} : { apiUrl }),
      };
      if (secret?.kind === 'slack-bot') return { ...base, ...extra, botToken: secret.botToken };
      if (secret?.kind === 'slack-webhook') return { ...base, ...extra, webhookUrl: secret.webhookUrl };
      return { ...base, ...extra };
    }
  }
}

function sameSecret(a: ChannelSecret | undefined, b: ChannelSecret | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** The condition keys a credential's alerts are de-duplicated under (notify-event.ts, conditionOf). */
function conditionKeys(credentialId: string, findingRules: readonly string[]): string[] {
  return [
    `expiry#${credentialId}`,
    `overdue#${credentialId}`,
    `rotation-failed#${credentialId}`,
    ...findingRules.map((rule) => `finding#${credentialId}#${rule}`),
  ];
}

export class NotificationAdministration {
  constructor(
    private readonly deps: NotificationAdministrationDependencies,
    private readonly options: NotificationAdministrationOptions,
  ) {}

  // Channels

  listChannels(caller: Caller): Promise<Channel[]> {
    return this.guard(caller, 'read', 'notification.channel.read', {}, () =>
      this.deps.channels.list(caller.principal.tenant),
    );
  }

  getChannel(caller: Caller, id: string): Promise<Channel> {
    return this.guard(caller, 'read', 'notification.channel.read', this.channelTarget(id), () =>
      this.existingChannel(caller, id),
    );
  }

  createChannel(caller: Caller, raw: unknown): Promise<Channel> {
    const id = newId('ch');
    return this.guard(caller, 'manage', 'notification.channel.write', this.channelTarget(id), async () => {
      const input = parseChannelInput(raw, this.options.validation);
      const { settings, secret, secretHint } = splitChannelInput(input);
      const tenant = caller.principal.tenant;
      // The secret first: a channel never exists without what it needs to send.
      if (secret !== undefined) await this.deps.secrets.write(tenant, id, secret);
      const channel: Channel = {
        id,
        tenant,
        name: input.name,
        settings,
        secretHint,
        hasSecret: secret !== undefined,
        digest: input.digest,
        state: 'active',
        failure: undefined,
        revision: 1,
      };
      await writeOrTakeBack(
        () => this.deps.channels.put(channel, undefined),
        // Nothing half done: no secret stays behind without its channel.
        async () => (secret === undefined ? undefined : this.deps.secrets.remove(tenant, id)),
      );
      return channel;
    });
  }

  /** Merges `patch` onto the channel and checks the whole with the same rules as a new one. */
  updateChannel(
    caller: Caller,
    id: string,
    patch: ChannelPatch,
    expectedRevision?: number,
  ): Promise<Channel> {
    return this.guard(caller, 'manage', 'notification.channel.write', this.channelTarget(id), async () => {
      const current = await this.existingChannel(caller, id);
      if (expectedRevision !== undefined && expectedRevision !== current.revision) {
        throw new ConflictError(`Channel ${id} is at revision ${current.revision}, not ${expectedRevision}`);
      }
      if (patch.kind !== undefined && patch.kind !== current.settings.kind) {
        throw new ValidationError('Invalid channel: kind cannot change; create a new channel', {
          details: { field: 'kind' },
        });
      }
      const tenant = caller.principal.tenant;
      const stored = current.hasSecret ? await this.deps.secrets.read(tenant, id) : undefined;
      const base = inputOf(current, stored);
      // A Slack channel switching between webhook and bot drops the other mode's secret.
      if (patch.webhookUrl !== undefined) delete base.botToken;
      if (patch.botToken !== undefined) {
        delete base.webhookUrl;
      }
      const input = parseChannelInput({ ...base, ...patch }, this.options.validation);
      const { settings, secret, secretHint } = splitChannelInput(input);
      const next: Channel = {
        ...current,
        name: input.name,
        settings,
        secretHint,
        hasSecret: secret !== undefined,
        digest: input.digest,
        // A changed channel is given another chance: the change is usually the fix.
        state: 'active',
        failure: undefined,
        revision: current.revision + 1,
      };
      // The item first: a new secret version cannot be taken back, the item can (put back as it was).
      await this.deps.channels.put(next, current.revision);
      if (secret !== undefined && !sameSecret(secret, stored)) {
        await writeOrTakeBack(
          () => this.deps.secrets.write(tenant, id, secret),
          () => this.deps.channels.restore(current, next.revision),
        );
      }
      return next;
    });
  }

  deleteChannel(caller: Caller, id: string): Promise<void> {
    return this.guard(caller, 'manage', 'notification.channel.delete', this.channelTarget(id), async () => {
      const tenant = caller.principal.tenant;
      const current = await this.deps.channels.get(tenant, id);
      if (current === undefined) {
        // A delete cut short after its commit point may have left the secret: this finishes it.
        await this.deps.secrets.remove(tenant, id);
        throw new NotFoundError(`No channel ${id}`);
      }
      // The channel item is the commit point (one conditional write): once it is gone, nothing
      // routes to the channel or reads its secret. The secret's versions are several items, so
      // their removal cannot be undone half way; if it is cut short, the delete still stands and
      // the next DELETE of this id removes what is left (above).
      await this.deps.channels.delete(tenant, id);
      if (current.hasSecret) {
        try {
          await this.deps.secrets.remove(tenant, id);
        } catch {
          // Left for the next DELETE of this id; the channel is deleted either way.
        }
      }
    });
  }

  /**
   * Sends a test message through the channel's real sender, once, and answers what happened: sent,
   * or failed with the classified reason. The delivery is logged and audited like any other. It
   * does not change the channel's state: a failing channel is made active by changing it (PATCH).
   */
  testChannel(caller: Caller, id: string): Promise<TestResult> {
    return this.guard(caller, 'manage', 'notification.channel.test', this.channelTarget(id), async () => {
      const channel = await this.existingChannel(caller, id);
      const now = this.deps.clock.now();
      const event: NotifiableEvent = {
        id: `test-${randomUUID()}`,
        type: TEST_EVENT_TYPE,
        tenant: channel.tenant,
        time: now.toISOString(),
        detail: { channelId: channel.id, channelName: channel.name, requestedBy: caller.principal.subject },
      };
      const message = buildMessage(event, undefined, this.options.dashboardUrl);
      const sender = this.deps.senders.find((candidate) => candidate.kind === channel.settings.kind);
      let reason: string | undefined;
      try {
        if (sender === undefined) throw new Error(`no_sender_${channel.settings.kind}`);
        const secret = channel.hasSecret ? await this.deps.secrets.read(channel.tenant, id) : undefined;
        await sender.send({ channel, secret }, message, event);
      } catch (error: unknown) {
        reason = sender === undefined ? `no_sender_${channel.settings.kind}` : classifyFailure(error).reason;
      }
      const status = reason === undefined ? 'sent' : 'failed';
      const entry: DeliveryEntry = {
        tenant: channel.tenant,
        eventId: event.id,
        eventTime: event.time,
        channelId: channel.id,
        eventType: event.type,
        channelKind: channel.settings.kind,
        status: 'sending',
        attempts: 0,
        reason: undefined,
        credentialId: undefined,
        updatedAt: event.time,
        leaseUntil: undefined,
        revision: 1,
      };
      const recorder = new DeliveryRecorder(this.deps);
      const logged = await recorder.writeEntry(entry, { status, attempts: 1, reason }, { create: true });
      // The message went out (or failed) and is logged: a lost audit record of that delivery is
      // reported, not answered as 503, which would invite a retry and a second test message. The
      // channel test's own `attempted` event stands, as for any change whose outcome is lost.
      if (logged.recorded) {
        await recorder.auditDelivery(logged.entry).catch(lostAuditOutcome);
      }
      return { status, reason, eventId: event.id, channel };
    });
  }

  // Routes

  listRoutes(caller: Caller): Promise<RouteList> {
    return this.guard(caller, 'read', 'notification.route.read', {}, async () => {
      const { routes } = await this.deps.routes.load(caller.principal.tenant);
      return routes.length === 0
        ? { routes: DEFAULT_ROUTES, usingDefaults: true }
        : { routes, usingDefaults: false };
    });
  }

  getRoute(caller: Caller, id: string): Promise<Route> {
    return this.guard(caller, 'read', 'notification.route.read', this.routeTarget(id), async () => {
      const route = (await this.effectiveRoutes(caller.principal.tenant)).routes.find(
        (candidate) => candidate.id === id,
      );
      if (route === undefined) throw new NotFoundError(`No route ${id}`);
      return route;
    });
  }

  createRoute(caller: Caller, raw: unknown): Promise<Route> {
    const id = newId('rt');
    return this.guard(caller, 'manage', 'notification.route.write', this.routeTarget(id), () =>
      this.storeRoute(caller, id, raw),
    );
  }

  /** Creates or replaces the route `id` (a default's id keeps that default, changed). */
  putRoute(caller: Caller, id: string, raw: unknown): Promise<Route> {
    return this.guard(caller, 'manage', 'notification.route.write', this.routeTarget(id), () =>
      this.storeRoute(caller, id, raw),
    );
  }

  deleteRoute(caller: Caller, id: string): Promise<void> {
    return this.guard(caller, 'manage', 'notification.route.delete', this.routeTarget(id), async () => {
      const tenant = caller.principal.tenant;
      const { routes, revision } = await this.effectiveRoutes(tenant);
      if (!routes.some((route) => route.id === id)) throw new NotFoundError(`No route ${id}`);
      await this.saveRoutes(
        tenant,
        routes.filter((route) => route.id !== id),
        revision,
      );
    });
  }

  // The delivery log

  /** A page of the log, newest event first; `cursor` is the previous page's, opaque to callers. */
  deliveries(
    caller: Caller,
    query: Omit<DeliveryLogQuery, 'after'> & { readonly cursor?: string | undefined },
  ): Promise<DeliveryLogResult> {
    return this.guard(caller, 'read', 'notification.log.read', {}, async () => {
      const { cursor, ...rest } = query;
      if (rest.from !== undefined && rest.to !== undefined && rest.from > rest.to) {
        throw new ValidationError('Invalid query: from must not be after to', { details: { field: 'from' } });
      }
      const page: DeliveryLogPage = await this.deps.log.page(caller.principal.tenant, {
        ...rest,
        after: cursor === undefined ? undefined : decodeCursor(cursor),
      });
      return { entries: page.entries, cursor: page.next === undefined ? undefined : encodeCursor(page.next) };
    });
  }

  // Acknowledgements and snoozes

  listHolds(caller: Caller): Promise<AlertHold[]> {
    return this.guard(caller, 'holdRead', 'notification.hold.read', {}, () =>
      this.deps.holds.list(caller.principal.tenant),
    );
  }

  getHold(caller: Caller, credentialId: string): Promise<AlertHold> {
    return this.guard(caller, 'holdRead', 'notification.hold.read', { credentialId }, async () => {
      const hold = await this.deps.holds.get(caller.principal.tenant, credentialId);
      if (hold === undefined) throw new NotFoundError(`The alerts of ${credentialId} are not held`);
      return hold;
    });
  }

  /**
   * Acknowledges a credential's alerts (held until one of its conditions changes) or snoozes them
   * until a date. The credential must exist in the caller's tenant.
   */
  putHold(caller: Caller, credentialId: string, raw: unknown): Promise<AlertHold> {
    return this.guard(caller, 'holdWrite', 'notification.hold.write', { credentialId }, async () => {
      const tenant = caller.principal.tenant;
      const now = this.deps.clock.now();
      const input = parseAlertHoldInput(raw, now);
      const credential = await this.deps.credentials.get(tenant, credentialId);
      if (credential === undefined) throw new NotFoundError(`No credential ${credentialId}`);
      const conditions: Record<string, string> = {};
      if (input.kind === 'acknowledged') {
        const keys = conditionKeys(
          credentialId,
          credential.findings.map((finding) => finding.ruleId),
        );
        const records = await Promise.all(keys.map((key) => this.deps.conditions.get(tenant, key)));
        for (const record of records) if (record !== undefined) conditions[record.key] = record.state;
      }
      const hold: AlertHold = {
        credentialId,
        kind: input.kind,
        until: input.kind === 'snoozed' ? new Date(input.until).toISOString() : undefined,
        conditions,
        by: principalName(caller.principal),
        at: now.toISOString(),
        note: input.note,
      };
      await this.deps.holds.put(tenant, hold);
      return hold;
    });
  }

  deleteHold(caller: Caller, credentialId: string): Promise<void> {
    return this.guard(caller, 'holdWrite', 'notification.hold.delete', { credentialId }, async () => {
      if (!(await this.deps.holds.delete(caller.principal.tenant, credentialId))) {
        throw new NotFoundError(`The alerts of ${credentialId} are not held`);
      }
    });
  }

  // Helpers

  private async existingChannel(caller: Caller, id: string): Promise<Channel> {
    const channel = await this.deps.channels.get(caller.principal.tenant, id);
    if (channel === undefined) throw new NotFoundError(`No channel ${id}`);
    return channel;
  }

  /**
   * The routes in effect and the set's revision: the day-one defaults while the tenant has none
   * of its own (routing.ts). A change stores the whole set, defaults included, in one write, so
   * adding or changing one route never silently drops the defaults.
   */
  private async effectiveRoutes(tenant: string): Promise<{ routes: Route[]; revision: number }> {
    const stored = await this.deps.routes.load(tenant);
    return stored.routes.length === 0 ? { routes: [...DEFAULT_ROUTES], revision: stored.revision } : stored;
  }

  private async saveRoutes(tenant: string, routes: readonly Route[], revision: number): Promise<void> {
    if (!(await this.deps.routes.save(tenant, routes, revision))) {
      throw new ConflictError('The routes changed meanwhile; read them again and retry');
    }
  }

  private async storeRoute(caller: Caller, id: string, raw: unknown): Promise<Route> {
    const tenant = caller.principal.tenant;
    const input = parseRouteInput(raw);
    if (input.channels !== 'all') {
      const known = new Set((await this.deps.channels.list(tenant)).map((channel) => channel.id));
      const unknown = input.channels.findIndex((channelId) => !known.has(channelId));
      if (unknown >= 0) {
        throw new ValidationError(`Invalid route: channels.${unknown} is not a channel of this tenant`, {
          details: { field: `channels.${unknown}` },
        });
      }
    }
    const { routes, revision } = await this.effectiveRoutes(tenant);
    if (routes.length >= MAX_ROUTES && !routes.some((route) => route.id === id)) {
      throw new ValidationError(`A tenant has at most ${MAX_ROUTES} routes`, { details: { field: 'name' } });
    }
    const route: Route = { id, ...input };
    const next = routes.some((candidate) => candidate.id === id)
      ? routes.map((candidate) => (candidate.id === id ? route : candidate))
      : [...routes, route];
    await this.saveRoutes(tenant, next, revision);
    return route;
  }

  private channelTarget(id: string): AuditTarget {
    return { path: channelSecretPath(id) };
  }

  private routeTarget(id: string): AuditTarget {
    return { path: `vaultpilot/notify/routes/${id}` };
  }

  private guard<T>(
    caller: Caller,
    access: Access,
    action: AuditAction,
    target: AuditTarget,
    run: () => Promise<T>,
  ): Promise<T> {
    return audited({
      denial: mayAccess(caller, access) ? undefined : ROLE_DENIAL,
      changes: access === 'manage' || access === 'holdWrite',
      run,
      record: (outcome, reason) => this.record(caller, action, target, outcome, reason),
    });
  }

  private record(
    caller: Caller,
    action: AuditAction,
    target: AuditTarget,
    outcome: AuditOutcome,
    reason?: string,
  ): Promise<void> {
    return this.deps.audit.record(
      callerAuditEvent(caller, this.deps.clock, { action, target, outcome, reason }),
    );
  }
}
