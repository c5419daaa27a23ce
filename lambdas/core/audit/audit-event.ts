import * as z from 'zod';

import { TENANT_PATTERN } from '../principal.js';

/**
 * One audit event: who did what to which object, and whether it was allowed. An event never
 * carries a secret value: every object in the schema is strict, so a field such as `data` or
 * `value` is refused instead of silently stored, and free text is limited to `reason`.
 */
export const AUDIT_ACTIONS = [
  'secret.read',
  'secret.write',
  'secret.delete',
  'secret.undelete',
  'secret.destroy',
  'secret.metadata.read',
  'secret.metadata.write',
  'secret.list',
  'secret.deleteAll',
  'secret.rewrap',
  'policy.read',
  'policy.write',
  'policy.delete',
  /** A request refused before its use case ran (missing scope, invalid query or body). */
  'api.refused',
  'audit.query',
  'audit.verify',
  'audit.export',
  'audit.hash',
  'audit.digest',
  'audit.digest.list',
  'audit.publicKey.read',
  'audit.settings.read',
  'audit.settings.write',
  'credential.list',
  'credential.read',
  'credential.register',
  'credential.update',
  'credential.unregister',
  'credential.discover',
  'credential.refresh',
  'credential.gone',
  'finding.opened',
  'finding.resolved',
  'discovery.run',
  'discovery.run.request',
  'discovery.run.read',
  'discovery.settings.read',
  'discovery.settings.write',
  'rotation.request',
  'rotation.step',
  'rotation.succeed',
  'rotation.fail',
  'rotation.rollback',
  'rotation.submit',
  'rotation.retire',
  'rotation.read',
  'rotation.list',
  'rotation.policy.read',
  'rotation.policy.write',
  'rotation.policy.delete',
  /** Notification channels, routes and alert holds (target `path` is the channel's secret path). */
  'notification.channel.read',
  'notification.channel.write',
  'notification.channel.delete',
  'notification.channel.test',
  'notification.route.read',
  'notification.route.write',
  'notification.route.delete',
  'notification.log.read',
  'notification.hold.read',
  'notification.hold.write',
  'notification.hold.delete',
  /** A message delivered to a channel, or given up on (the notifier, core/notify/record-delivery.ts). */
  'notification.sent',
  'notification.failed',
  'notification.expiry-check.run',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * `attempted`: a change is about to run (recorded durably before it does; ADR 0004); its outcome
 * follows as `allowed` or `failed` under the same request id and action.
 */
export const AUDIT_OUTCOMES = ['attempted', 'allowed', 'denied', 'failed'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export const ACTOR_KINDS = ['user', 'machine', 'system'] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];

const MAX_IDENTIFIER = 256;
const MAX_VERSIONS = 1_000;

const identifier = z.string().min(1).max(MAX_IDENTIFIER);
const versionNumber = z.number().int().positive();

export const AuditActorSchema = z.strictObject({
  kind: z.enum(ACTOR_KINDS),
  /** The Cognito subject of a user, the client id of a machine client, the engine's name for `system`. */
  id: identifier,
  /**
   * A user's username when the event was written, for people reading the log (`id` is the
   * identity: a username may be reused). Events written before it was recorded have none.
   */
  name: z.string().min(1).max(128).optional(),
  sourceIp: z.string().min(1).max(64).optional(),
  userAgent: z.string().min(1).max(512).optional(),
});

export const AuditTargetSchema = z.strictObject({
  path: z.string().min(1).max(1024).optional(),
  version: versionNumber.optional(),
  versions: z.array(versionNumber).max(MAX_VERSIONS).optional(),
  credentialId: identifier.optional(),
  /** A policy's name, never its rules. */
  policy: identifier.optional(),
  /**
   * Sensitive identifiers, by name, only as the tenant's HMAC (`hmac-sha256:<hex>`, see
   * identifier-hasher.ts); the schema refuses anything else here, so a clear value cannot slip in.
   */
  hashed: z
    .record(
      z.string().regex(/^[a-zA-Z][a-zA-Z0-9]{0,31}$/),
      z.string().regex(/^hmac-sha256:[0-9a-f]{64}$/, 'Expected an HMAC (hmac-sha256:<64 hex digits>)'),
    )
    .refine((hashed) => Object.keys(hashed).length <= 8, 'At most 8 hashed identifiers')
    .optional(),
});

export const AuditEventSchema = z.strictObject({
  eventId: z.uuid(),
  tenant: z.string().regex(TENANT_PATTERN, 'A tenant is 1 to 63 lowercase letters, digits or dashes'),
  // Always `Date#toISOString()`'s form (UTC, milliseconds), so events sort by time as strings.
  time: z.iso.datetime({ precision: 3 }),
  actor: AuditActorSchema,
  action: z.enum(AUDIT_ACTIONS),
  target: AuditTargetSchema,
  outcome: z.enum(AUDIT_OUTCOMES),
  reason: z.string().min(1).max(1024).optional(),
  requestId: identifier.optional(),
  correlationId: identifier.optional(),
});

export type AuditActor = z.infer<typeof AuditActorSchema>;
export type AuditTarget = z.infer<typeof AuditTargetSchema>;
export type AuditEvent = z.infer<typeof AuditEventSchema>;

/**
 * An event the audit sink refuses to store: it breaks the schema, or its id is already taken by a
 * different event. Either is a defect in the caller, so this is not a domain error and the caller
 * answers a generic 500 (the action must not proceed). Its message and details name fields and
 * zod issue codes, never values.
 */
export class AuditEventRejectedError extends Error {
  readonly details: { readonly issues: readonly { code: string; path: string }[] } | undefined;

  constructor(
    message: string,
    options?: { cause?: unknown; issues?: readonly { code: string; path: string }[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuditEventRejectedError';
    this.details = options?.issues === undefined ? undefined : { issues: options.issues };
  }
}

/**
 * Checks a value against `AuditEventSchema` at run time. TypeScript alone cannot keep a `data`
 * field out: an object held in a variable may carry properties its type does not mention.
 */
export function parseAuditEvent(value: unknown): AuditEvent {
  const result = AuditEventSchema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    code: issue.code,
    path: [...issue.path.map(String), ...('keys' in issue ? [issue.keys.join(',')] : [])].join('.'),
  }));
  throw new AuditEventRejectedError(
    `Invalid audit event: ${issues.map(({ code, path }) => `${path || '(event)'} ${code}`).join('; ')}`,
    { cause: result.error, issues },
  );
}
