/**
 * The events VaultPilot publishes (DESIGN.md, Events): their names, what they mean and the zod
 * schema of their detail. In AWS they reach the EventBridge bus with `source` = `EVENT_SOURCE`,
 * `detail-type` = the event type and `detail` = `{ tenant, time, ...detail }`, so the notifier
 * and users' own rules can match on them; locally the in-process bus delivers the same shape.
 */
import type * as z from 'zod';
import type { DomainEvent, EventPublisher } from '../core/events.js';
import { AUDIT_EVENT_DEFINITIONS } from './audit-events.js';
import { INTEGRITY_EVENT_DEFINITIONS } from './integrity-events.js';
import { INVENTORY_EVENT_DEFINITIONS } from './inventory-events.js';
import { NOTIFY_EVENT_DEFINITIONS } from './notify-events.js';
import { ROTATION_EVENT_DEFINITIONS } from './rotation-events.js';

export const EVENT_SOURCE = 'vaultpilot';

export interface EventDefinition {
  readonly description: string;
  readonly detail: z.ZodType<Readonly<Record<string, unknown>>>;
}

/** Every event type. Engines add theirs here; `parseDomainEvent` refuses any other type. */
export const EVENT_DEFINITIONS: Readonly<Record<string, EventDefinition>> = {
  ...INVENTORY_EVENT_DEFINITIONS,
  ...AUDIT_EVENT_DEFINITIONS,
  ...ROTATION_EVENT_DEFINITIONS,
  ...INTEGRITY_EVENT_DEFINITIONS,
  ...NOTIFY_EVENT_DEFINITIONS,
};

/** The `detail` EventBridge carries: tenant and time first, then the event's own fields. */
export function eventBridgeDetail(event: DomainEvent): Record<string, unknown> {
  return { tenant: event.tenant, time: event.time, ...event.detail };
}

/** Checks an event against its definition; throws naming the type and fields, never values. */
export function parseDomainEvent(
  event: DomainEvent,
  definitions: Readonly<Record<string, EventDefinition>> = EVENT_DEFINITIONS,
): DomainEvent {
  const definition = Object.hasOwn(definitions, event.type) ? definitions[event.type] : undefined;
  if (definition === undefined) throw new Error(`Unknown event type ${JSON.stringify(event.type)}`);
  const result = definition.detail.safeParse(event.detail);
  if (!result.success) {
    const fields = result.error.issues.map((issue) => `${issue.path.join('.') || '(detail)'} ${issue.code}`);
    throw new Error(`Invalid ${event.type} event: ${fields.join('; ')}`);
  }
  return { ...event, detail: result.data };
}

/** A publisher that checks every event against its definition before the bus sees any of them. */
export function validatingPublisher(
  inner: EventPublisher,
  definitions: Readonly<Record<string, EventDefinition>> = EVENT_DEFINITIONS,
): EventPublisher {
  return {
    publish: async (events) => {
      const checked = events.map((event) => parseDomainEvent(event, definitions));
      await inner.publish(checked);
    },
  };
}
