/**
 * What people may say about a credential: registering a managed one (any type, including ones
 * with no API, such as a vendor token with an expiry date — any date, no cap), and updating
 * owner, tags, expiry and rotation (policy and settings). Validated here, in the domain, so the
 * API, the CLI and tests share one set of rules. Times are accepted as ISO-8601 dates or
 * date-times with a zone and stored in UTC (`Date#toISOString`), so they sort as strings.
 */
import * as z from 'zod';
import { ValidationError } from '../errors.js';
import { CREDENTIAL_TYPES } from './credential.js';

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/** `2027-01-31` (midnight UTC) or a date-time with a zone, as UTC ISO-8601; undefined if invalid. */
export function normalizeInstant(value: string): string | undefined {
  const match = INSTANT.exec(value);
  if (match === null) return undefined;
  const [, year, month, day, time] = match;
  // Date.parse rolls 2027-02-30 over into March; a date that does not exist is refused.
  const calendar = new Date(0);
  calendar.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  if (calendar.getUTCMonth() !== Number(month) - 1 || calendar.getUTCDate() !== Number(day)) return undefined;
  const parsed = Date.parse(time === undefined ? `${value}T00:00:00Z` : value);
  return Number.isNaN(parsed) ? undefined : new Date(parsed).toISOString();
}

/** `2027-01-31` or `2027-01-31T12:00:00Z` / `…+02:00`; any year from 0001 to 9999. Normalized to UTC. */
export const InstantSchema = z
  .string()
  .max(40)
  .transform((value, context) => {
    const normalized = normalizeInstant(value);
    if (normalized === undefined) {
      context.addIssue({
        code: 'custom',
        message: 'expected an ISO-8601 date (2027-01-31) or date-time with a zone (2027-01-31T12:00:00Z)',
      });
      return z.NEVER;
    }
    return normalized;
  });

export const TagsSchema = z
  .record(z.string().min(1).max(128), z.string().max(256))
  .refine((tags) => Object.keys(tags).length <= 50, { message: 'at most 50 tags' });

export const ReferenceSchema = z.strictObject({
  arn: z.string().min(1).max(2048).optional(),
  account: z
    .string()
    .regex(/^\d{12}$/, 'expected a 12-digit AWS account id')
    .optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/, 'expected an AWS region')
    .optional(),
  keyId: z
    .string()
    .regex(/^[A-Z0-9]{16,128}$/, 'expected an access key id')
    .optional(),
  userName: z.string().min(1).max(128).optional(),
  path: z.string().min(1).max(2048).optional(),
  location: z.string().min(1).max(2048).optional(),
});

const Name = z.string().trim().min(1).max(256);
const Description = z.string().max(1024);
const Owner = z.string().trim().min(1).max(256);
const PolicyName = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'expected 1-128 of A-Z a-z 0-9 . _ -');

export const RegisterCredentialSchema = z.strictObject({
  type: z.enum(CREDENTIAL_TYPES),
  name: Name,
  description: Description.optional(),
  owner: Owner.optional(),
  tags: TagsSchema.optional(),
  reference: ReferenceSchema.optional(),
  createdAt: InstantSchema.optional(),
  lastRotatedAt: InstantSchema.optional(),
  lastUsedAt: InstantSchema.optional(),
  expiresAt: InstantSchema.optional(),
  /** A policy's name, or an inline policy (its settings: see `lambdas/core/rotation/policy.ts`). */
  rotationPolicy: PolicyName.or(z.record(z.string(), z.unknown())).optional(),
  /** Rotatable types: where the current value lives in the secret store, and the type's own fields. */
  secretPath: z.string().min(1).max(512).optional(),
  generator: z.record(z.string(), z.unknown()).optional(),
  connection: z.record(z.string(), z.unknown()).optional(),
  strategy: z.string().min(1).max(64).optional(),
  managingSecretPath: z.string().min(1).max(512).optional(),
  userName: z.string().min(1).max(128).optional(),
  secretsManagerCopy: z.boolean().optional(),
  /** ses-smtp: regions and endpoint; webhook-token: the receiver; github-app-token: App and installation. */
  smtp: z.record(z.string(), z.unknown()).optional(),
  webhook: z.record(z.string(), z.unknown()).optional(),
  github: z.record(z.string(), z.unknown()).optional(),
  /** Assisted rotation (github-pat): reminder days before the expiry and the second contact. */
  assisted: z.record(z.string(), z.unknown()).optional(),
  /** secrets-manager-secret: the adopted secret (its ARN or name). */
  secretsManager: z.record(z.string(), z.unknown()).optional(),
});

/** The registration fields the rotation engine reads (checked by the `RotationRegistrar`). */
export const ROTATION_INPUT_FIELDS = [
  'generator',
  'connection',
  'strategy',
  'managingSecretPath',
  'userName',
  'secretsManagerCopy',
  'smtp',
  'webhook',
  'github',
  'assisted',
  'secretsManager',
] as const;
export type RegisterCredentialInput = z.input<typeof RegisterCredentialSchema>;
export type RegisterCredential = z.output<typeof RegisterCredentialSchema>;

/** The registration's fields: an update checks the rotation fields with the same schemas. */
const registered = RegisterCredentialSchema.shape;

/**
 * `null` clears a field; an absent field stays as it is. The rotation settings a patch names
 * replace the stored ones whole (`null` removes one: the rotator's default applies); the others
 * are kept. `rotationPolicy: null` drops the named or inline policy (the tenant's defaults apply).
 */
export const UpdateCredentialSchema = z.strictObject({
  name: Name.optional(),
  description: Description.nullable().optional(),
  owner: Owner.nullable().optional(),
  tags: TagsSchema.optional(),
  rotationPolicy: registered.rotationPolicy.unwrap().nullable().optional(),
  expiresAt: InstantSchema.nullable().optional(),
  lastRotatedAt: InstantSchema.optional(),
  lastUsedAt: InstantSchema.optional(),
  reference: ReferenceSchema.optional(),
  secretPath: registered.secretPath,
  generator: registered.generator.unwrap().nullable().optional(),
  connection: registered.connection.unwrap().nullable().optional(),
  strategy: registered.strategy.unwrap().nullable().optional(),
  managingSecretPath: registered.managingSecretPath.unwrap().nullable().optional(),
  userName: registered.userName.unwrap().nullable().optional(),
  secretsManagerCopy: registered.secretsManagerCopy.unwrap().nullable().optional(),
  smtp: registered.smtp.unwrap().nullable().optional(),
  webhook: registered.webhook.unwrap().nullable().optional(),
  github: registered.github.unwrap().nullable().optional(),
  assisted: registered.assisted.unwrap().nullable().optional(),
  secretsManager: registered.secretsManager.unwrap().nullable().optional(),
  /** Check-and-set: the revision last read. */
  revision: z.number().int().min(1).optional(),
});
export type UpdateCredentialInput = z.input<typeof UpdateCredentialSchema>;
export type UpdateCredential = z.output<typeof UpdateCredentialSchema>;

/** Fields only a managed credential's people may set: for discovered ones the source is the truth. */
export const MANAGED_ONLY_FIELDS = ['name', 'expiresAt', 'lastRotatedAt', 'lastUsedAt', 'reference'] as const;

export function parseInput<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(`Invalid ${what}`, {
    cause: result.error,
    details: { issues: result.error.issues.map(({ code, path, message }) => ({ code, path, message })) },
  });
}
