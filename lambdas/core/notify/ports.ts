/** What the notifier needs from the outside world; adapters implement these. */
import type { Channel, ChannelKind, ChannelSecret } from './channel.js';
import type { DeliveryEntry } from './delivery-log.js';
import type { NotificationMessage } from './message.js';
import type { NotifiableEvent } from './notify-event.js';
import type { NotificationSubject, Route } from './routing.js';
import type { AlertHold, ConditionRecord } from './suppression.js';

export interface ChannelStore {
  list(tenant: string): Promise<Channel[]>;
  get(tenant: string, id: string): Promise<Channel | undefined>;
  put(channel: Channel, expectedRevision: number | undefined): Promise<void>;
  delete(tenant: string, id: string): Promise<void>;
  /** Marks the channel failing; true only for the call that changed it (so it is reported once). */
  markFailing(tenant: string, id: string, reason: string, since: string): Promise<boolean>;
}

/** Channels as the notifications API manages them. */
export interface ManagedChannelStore extends ChannelStore {
  /**
   * Puts `channel` back as it was, to take back a change whose other half failed: only if the
   * stored item is still at `ifRevision` (undefined: only if there is none).
   */
  restore(channel: Channel, ifRevision: number | undefined): Promise<void>;
}

export interface RouteStore {
  list(tenant: string): Promise<Route[]>;
}

/** A tenant's routes as one set: every change is one conditional write of the whole set. */
export interface RouteSet {
  readonly routes: Route[];
  /** 0 while the tenant has never stored routes. */
  readonly revision: number;
}

/** Routes as the notifications API manages them. */
export interface ManagedRouteStore extends RouteStore {
  load(tenant: string): Promise<RouteSet>;
  /** Stores `routes` if the set is still at `expectedRevision`; false otherwise. */
  save(tenant: string, routes: readonly Route[], expectedRevision: number): Promise<boolean>;
}

/** Channel secrets, kept in the secret store under `channelSecretPath(id)`. */
export interface ChannelSecrets {
  read(tenant: string, channelId: string): Promise<ChannelSecret | undefined>;
  write(tenant: string, channelId: string, secret: ChannelSecret): Promise<void>;
}

/** Channel secrets as the notifications API manages them: a deleted channel leaves no secret. */
export interface ManagedChannelSecrets extends ChannelSecrets {
  remove(tenant: string, channelId: string): Promise<void>;
}

export interface ConditionStore {
  get(tenant: string, key: string): Promise<ConditionRecord | undefined>;
  /** Records a send; conditional on the record still naming `expectedEventId` (undefined: absent). */
  record(tenant: string, record: ConditionRecord, expectedEventId: string | undefined): Promise<boolean>;
}

export interface AlertHoldStore {
  get(tenant: string, credentialId: string): Promise<AlertHold | undefined>;
  put(tenant: string, hold: AlertHold): Promise<void>;
}

/** Holds as the notifications API manages them. */
export interface ManagedAlertHoldStore extends AlertHoldStore {
  list(tenant: string): Promise<AlertHold[]>;
  /** False when there was no hold. */
  delete(tenant: string, credentialId: string): Promise<boolean>;
}

/** Facts of the credential an event is about (owner, tags, path), from the inventory. */
export interface SubjectLookup {
  subject(tenant: string, credentialId: string): Promise<NotificationSubject | undefined>;
}

/** Where a message goes: a stored channel with its secret, or a credential owner's address. */
export interface DeliveryTarget {
  readonly channel: Channel;
  readonly secret: ChannelSecret | undefined;
}

export interface SendResult {
  /** The provider's id of the message (SES MessageId, SNS MessageId, Slack ts), when it gives one. */
  readonly providerId: string | undefined;
}

/**
 * Sends one message over one kind of channel. Throws `RetryableDeliveryError` or
 * `PermanentDeliveryError` (from `delivery-failure.ts`); errors never carry the secret.
 */
export interface ChannelSender {
  readonly kind: ChannelKind;
  send(target: DeliveryTarget, message: NotificationMessage, event: NotifiableEvent): Promise<SendResult>;
}

export interface Sleeper {
  sleep(ms: number): Promise<void>;
}

export const realSleeper: Sleeper = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Hears of each delivery that reached a final state, its log entry already stored (audit events
 * `notification.sent` / `notification.failed`). Must not throw for a lost audit write alone: the
 * message is out and its log entry says so.
 */
export interface DeliveryOutcomes {
  record(entry: DeliveryEntry): Promise<void>;
}
