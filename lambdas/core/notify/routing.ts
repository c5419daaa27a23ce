/**
 * Routing: which events reach which channels. A route names event types, a minimum severity and
 * optionally credential tags, owner or path prefix, and sends to listed channels (or all of them)
 * and, if asked, to the credential's owner by email. Each rule is a small named function; an event
 * goes to the union of the targets of every route it matches.
 */
import * as z from 'zod';
import { ValidationError } from '../errors.js';
import { severityRank } from '../credentials/findings/finding-rule.js';
import {
  type NotifiableEvent,
  ROUTABLE_EVENT_TYPES,
  SEVERITIES,
  type Severity,
  severityOf,
} from './notify-event.js';

/** What routing may know about the credential an event is about (from the inventory). */
export interface NotificationSubject {
  readonly credentialId: string;
  readonly name: string;
  readonly type: string;
  readonly owner: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  /** Secret path or parameter name, when the credential has one. */
  readonly path: string | undefined;
}

const RouteInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(128),
  eventTypes: z.array(z.enum(ROUTABLE_EVENT_TYPES)).min(1),
  minSeverity: z.enum(SEVERITIES).default('low'),
  match: z
    .strictObject({
      tags: z.record(z.string().min(1).max(128), z.string().max(256)).optional(),
      owner: z.string().min(1).max(256).optional(),
      pathPrefix: z.string().min(1).max(1024).optional(),
    })
    .default({}),
  /** Channel ids, or `all` for every channel of the tenant. */
  channels: z.union([z.literal('all'), z.array(z.string().min(1).max(64)).max(50)]),
  notifyOwner: z.boolean().default(false),
  enabled: z.boolean().default(true),
});
export type RouteInput = z.output<typeof RouteInputSchema>;

export interface Route extends RouteInput {
  readonly id: string;
}

export function parseRouteInput(raw: unknown): RouteInput {
  const result = RouteInputSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field =
      issue === undefined || issue.path.length === 0 ? '(body)' : issue.path.map(String).join('.');
    throw new ValidationError(`Invalid route: ${field} ${issue?.message ?? 'is invalid'}`, {
      details: { field },
    });
  }
  return result.data;
}

/**
 * Day-one routes, used while a tenant has none of its own: what nobody wants to miss goes
 * everywhere at once; expiry and overdue warnings go everywhere and to the owner.
 */
export const DEFAULT_ROUTES: readonly Route[] = [
  {
    id: 'default-critical',
    name: 'Rotation failures, critical findings and audit integrity failures',
    eventTypes: [
      'rotation.failed',
      'credential.finding.opened',
      'audit.integrity.failed',
      'notification.channel.failing',
    ],
    minSeverity: 'critical',
    match: {},
    channels: 'all',
    notifyOwner: true,
    enabled: true,
  },
  {
    id: 'default-expiry',
    name: 'Expiry warnings, overdue rotations and assisted-rotation reminders',
    eventTypes: [
      'credential.expiring',
      'credential.expired',
      'rotation.overdue',
      'rotation.awaiting-input',
      'rotation.reminder',
    ],
    minSeverity: 'low',
    match: {},
    channels: 'all',
    notifyOwner: true,
    enabled: true,
  },
];

export function matchesEventType(route: Route, event: NotifiableEvent): boolean {
  return (route.eventTypes as readonly string[]).includes(event.type);
}

export function meetsMinimumSeverity(route: Route, severity: Severity): boolean {
  return severityRank(severity) >= severityRank(route.minSeverity);
}

/** Every tag the route names must be on the credential with that value. */
export function matchesTags(route: Route, subject: NotificationSubject | undefined): boolean {
  const tags = route.match.tags;
  if (tags === undefined || Object.keys(tags).length === 0) return true;
  if (subject === undefined) return false;
  return Object.entries(tags).every(([key, value]) => subject.tags[key] === value);
}

export function matchesOwner(route: Route, subject: NotificationSubject | undefined): boolean {
  if (route.match.owner === undefined) return true;
  return subject?.owner?.toLowerCase() === route.match.owner.toLowerCase();
}

export function matchesPathPrefix(route: Route, subject: NotificationSubject | undefined): boolean {
  if (route.match.pathPrefix === undefined) return true;
  return subject?.path?.startsWith(route.match.pathPrefix) === true;
}

export function routeMatches(
  route: Route,
  event: NotifiableEvent,
  subject: NotificationSubject | undefined,
): boolean {
  return (
    route.enabled &&
    matchesEventType(route, event) &&
    meetsMinimumSeverity(route, severityOf(event)) &&
    matchesTags(route, subject) &&
    matchesOwner(route, subject) &&
    matchesPathPrefix(route, subject)
  );
}

/** An owner is notified directly only when the owner field is an email address. */
export function ownerEmail(subject: NotificationSubject | undefined): string | undefined {
  const owner = subject?.owner;
  return owner !== undefined && z.email().safeParse(owner).success ? owner.toLowerCase() : undefined;
}

export interface RoutingDecision {
  /** Channel ids to deliver to, each once, in a stable order. */
  readonly channelIds: readonly string[];
  /** The owner's address when a matching route asks for it. */
  readonly ownerEmail: string | undefined;
  /**
   * Further direct addresses when a matching route notifies the owner: the contacts an
   * assisted rotation's notice names (the owner, and the second contact once it is overdue).
   */
  readonly contactEmails: readonly string[];
}

/** The email addresses among an event's `contacts` (assisted-rotation notices). */
function contactEmailsOf(event: NotifiableEvent): string[] {
  const contacts = event.detail.contacts;
  if (!Array.isArray(contacts)) return [];
  return contacts
    .filter(
      (contact): contact is string => typeof contact === 'string' && z.email().safeParse(contact).success,
    )
    .map((contact) => contact.toLowerCase());
}

/** The targets of an event: the union over the routes it matches (the defaults when none are set). */
export function routeEvent(
  event: NotifiableEvent,
  subject: NotificationSubject | undefined,
  routes: readonly Route[],
  channelIds: readonly string[],
): RoutingDecision {
  const effective = routes.length === 0 ? DEFAULT_ROUTES : routes;
  const targets = new Set<string>();
  const contacts = new Set<string>();
  let owner: string | undefined;
  for (const route of effective) {
    if (!routeMatches(route, event, subject)) continue;
    const listed =
      route.channels === 'all' ? channelIds : route.channels.filter((id) => channelIds.includes(id));
    for (const id of listed) targets.add(id);
    if (route.notifyOwner) {
      owner ??= ownerEmail(subject);
      for (const contact of contactEmailsOf(event)) contacts.add(contact);
    }
  }
  if (owner !== undefined) contacts.delete(owner);
  return { channelIds: [...targets].sort(), ownerEmail: owner, contactEmails: [...contacts].sort() };
}
