/**
 * Contracts of the credential inventory API (JSON, camelCase). Shapes are checked here; the
 * values (types, statuses, dates, filters) are checked again by the domain, which answers 400
 * with the issues. The enumerations repeat the domain's (contracts import only zod, because the
 * dashboard bundles them); a unit test keeps the two lists equal.
 */
import * as z from 'zod';

export const CREDENTIAL_TYPE_VALUES = [
  'aws-iam-access-key',
  'secretsmanager-secret',
  'ssm-parameter',
  'postgres-password',
  'ses-smtp',
  'github-token',
  'api-token',
  'vault-secret',
  'webhook-token',
  'github-app-token',
  'github-pat',
  'secrets-manager-secret',
] as const;
export const CREDENTIAL_STATUS_VALUES = [
  'healthy',
  'expiring',
  'overdue',
  'unused',
  'rotating',
  'failed',
  'gone',
] as const;
export const SEVERITY_VALUES = ['critical', 'high', 'medium', 'low'] as const;

const Instant = z
  .string()
  .max(40)
  .describe('ISO-8601 date (2027-01-31, midnight UTC) or date-time with a zone; any year 0001-9999');
const Tags = z.record(z.string().min(1).max(128), z.string().max(256)).describe('At most 50 tags');

export const CredentialReference = z
  .object({
    arn: z.string().optional(),
    account: z.string().optional(),
    region: z.string().optional(),
    keyId: z.string().optional(),
    userName: z.string().optional(),
    path: z.string().optional(),
    location: z.string().optional(),
  })
  .strict()
  .meta({ id: 'CredentialReference', description: 'Where the credential lives (never its value)' });

export const Finding = z
  .object({
    ruleId: z.string(),
    severity: z.enum(SEVERITY_VALUES),
    title: z.string(),
    remediation: z.string(),
    since: z.string(),
  })
  .meta({ id: 'Finding' });

export const CredentialChange = z
  .object({
    at: z.string(),
    actor: z.object({ kind: z.enum(['user', 'machine', 'system']), id: z.string() }),
    action: z.string(),
    changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })),
    findingsOpened: z.array(z.string()),
    findingsResolved: z.array(z.string()),
  })
  .meta({ id: 'CredentialChange' });

export const Credential = z
  .object({
    id: z.string(),
    type: z.enum(CREDENTIAL_TYPE_VALUES),
    source: z.enum(['discovered', 'managed']),
    name: z.string(),
    description: z.string().optional(),
    reference: CredentialReference,
    owner: z.string().optional(),
    tags: z.record(z.string(), z.string()),
    sourceTags: z.record(z.string(), z.string()),
    createdAt: z.string().optional(),
    lastRotatedAt: z.string().optional(),
    lastUsedAt: z.string().optional(),
    usageTracked: z.boolean().describe('When true, a missing lastUsedAt means never used'),
    expiresAt: z.string().optional(),
    rotationPolicy: z.string().optional(),
    rotationState: z.enum(['rotating', 'failed']).optional(),
    status: z.enum(CREDENTIAL_STATUS_VALUES),
    findings: z.array(Finding),
    facts: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    registeredAt: z.string(),
    updatedAt: z.string(),
    goneAt: z.string().optional(),
    revision: z.number().int(),
    rotation: z
      .object({
        secretPath: z.string(),
        settings: z.record(z.string(), z.unknown()),
        policy: z.record(z.string(), z.unknown()).optional(),
        dueAt: z.string().optional(),
      })
      .optional()
      .describe('How VaultPilot rotates it: secret path, type settings, inline policy, next due time'),
  })
  .meta({ id: 'Credential' });

export const CredentialListResponse = z
  .object({
    data: z.object({
      credentials: z.array(Credential),
      total: z.number().int().describe('Credentials matching the filters, on all pages'),
      nextCursor: z.string().optional(),
    }),
  })
  .meta({ id: 'CredentialListResponse' });

export const CredentialResponse = z
  .object({ data: Credential.extend({ history: z.array(CredentialChange).optional() }) })
  .meta({ id: 'CredentialResponse' });

export const ListCredentialsQuery = z
  .object({
    type: z
      .string()
      .max(400)
      .optional()
      .describe(`Comma-separated: ${CREDENTIAL_TYPE_VALUES.join(', ')}`),
    status: z
      .string()
      .max(200)
      .optional()
      .describe(`Comma-separated: ${CREDENTIAL_STATUS_VALUES.join(', ')}`),
    severity: z
      .string()
      .max(100)
      .optional()
      .describe(`Credentials with a finding of one of these severities: ${SEVERITY_VALUES.join(', ')}`),
    finding: z.string().max(1000).optional().describe('Credentials with a finding of one of these rule ids'),
    source: z.string().max(40).optional().describe('discovered, managed'),
    owner: z.string().max(200).optional(),
    tag: z.string().max(400).optional().describe('key or key=value'),
    account: z.string().max(12).optional().describe('AWS account id'),
    q: z.string().max(200).optional().describe('Text in name, id, description, owner, reference or tags'),
    sort: z
      .string()
      .max(20)
      .optional()
      .describe(
        'name (default), type, status, severity, createdAt, lastUsedAt, lastRotatedAt, expiresAt, updatedAt; prefix - for descending',
      ),
    limit: z.string().max(4).optional().describe('1-500, default 50'),
    cursor: z.string().max(2000).optional(),
  })
  .strict()
  .meta({ id: 'ListCredentialsQuery' });

export const RegisterCredentialRequest = z
  .object({
    type: z.enum(CREDENTIAL_TYPE_VALUES),
    name: z.string().min(1).max(256),
    description: z.string().max(1024).optional(),
    owner: z.string().min(1).max(256).optional(),
    tags: Tags.optional(),
    reference: CredentialReference.optional(),
    createdAt: Instant.optional(),
    lastRotatedAt: Instant.optional(),
    lastUsedAt: Instant.optional(),
    expiresAt: Instant.optional(),
    rotationPolicy: z
      .union([z.string().min(1).max(128), z.record(z.string(), z.unknown())])
      .optional()
      .describe('A rotation policy name, or an inline policy (intervalDays, window, deactivateAfterDays, …)'),
    secretPath: z
      .string()
      .min(1)
      .max(512)
      .optional()
      .describe('Secret-store path of the current value (rotated types)'),
    generator: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('vault-secret, postgres-password: length, classes, exclude, field or fields'),
    connection: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('postgres-password: host, port, database, username, tls'),
    strategy: z.enum(['single-user', 'alternating-users']).optional().describe('postgres-password'),
    managingSecretPath: z
      .string()
      .min(1)
      .max(512)
      .optional()
      .describe('postgres-password: secret with the username and password of the managing role'),
    userName: z.string().min(1).max(128).optional().describe('aws-iam-access-key: the IAM user'),
    secretsManagerCopy: z
      .boolean()
      .optional()
      .describe(
        'aws-iam-access-key: also keep the current key in the Secrets Manager secret <prefix><userName>, readable only by that user (default false)',
      ),
    smtp: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        'ses-smtp (with userName): regions (each gets its own SMTP password; default the deployment region) and endpoint (host[:port], {region} replaced; a host under .amazonaws.com)',
      ),
    webhook: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        "webhook-token: url (the owner's HTTPS receiver), signingSecretPath (secret-store path of the HMAC key, field signingKey), timeoutSeconds, rotateDaysBeforeExpiry (1-365: rotate a token that many days before the expiry its receiver named); see docs/webhook-rotation.md",
      ),
    github: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        'github-app-token: appId, installationId, privateKeySecretPath (secret-store path of the App private key, field privateKey), baseUrl (GitHub Enterprise Server API, default https://api.github.com); github-pat: baseUrl only',
      ),
    assisted: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        'github-pat (assisted rotation): reminderDays (days before expiresAt a reminder goes to the owner, default [30, 7, 1]; the largest opens the rotation), secondContact (also told once overdue)',
      ),
    secretsManager: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        'secrets-manager-secret: secretId (ARN or name of the adopted secret), field (JSON key of the generated value, default password), region',
      ),
  })
  .strict()
  .meta({ id: 'RegisterCredentialRequest', description: 'A managed credential: its facts, never its value' });

/** The registration's fields: an update takes the same rotation fields, or null to remove one. */
const registered = RegisterCredentialRequest.shape;

/** A registration field as an update takes it: the same schema and description, or null. */
function patchable<T extends z.ZodType>(field: z.ZodOptional<T>) {
  const schema = field.unwrap().nullable().optional();
  return field.description === undefined ? schema : schema.describe(field.description);
}

export const UpdateCredentialRequest = z
  .object({
    name: z.string().min(1).max(256).optional(),
    description: z.string().max(1024).nullable().optional(),
    owner: z.string().min(1).max(256).nullable().optional(),
    tags: Tags.optional(),
    rotationPolicy: registered.rotationPolicy
      .unwrap()
      .nullable()
      .optional()
      .describe('A rotation policy name, or an inline policy; null drops either (the tenant defaults apply)'),
    expiresAt: Instant.nullable().optional(),
    lastRotatedAt: Instant.optional(),
    lastUsedAt: Instant.optional(),
    reference: CredentialReference.optional(),
    secretPath: registered.secretPath,
    generator: patchable(registered.generator),
    connection: patchable(registered.connection),
    strategy: patchable(registered.strategy),
    managingSecretPath: patchable(registered.managingSecretPath),
    userName: patchable(registered.userName),
    secretsManagerCopy: patchable(registered.secretsManagerCopy),
    smtp: patchable(registered.smtp),
    webhook: patchable(registered.webhook),
    github: patchable(registered.github),
    assisted: patchable(registered.assisted),
    secretsManager: patchable(registered.secretsManager),
    revision: z.number().int().min(1).optional().describe('Check-and-set: the revision last read'),
  })
  .strict()
  .meta({
    id: 'UpdateCredentialRequest',
    description:
      'null clears a field; an absent one is kept. Rotation settings (generator, connection, strategy, ' +
      'managingSecretPath, userName, secretsManagerCopy, smtp, webhook, github) replace the stored ones whole, the others are kept, and the result ' +
      'is checked as at registration; a credential without rotation gets it with secretPath. secretPath ' +
      'and settings cannot change while a rotation runs (409). Discovered credentials accept only owner, ' +
      'tags, a rotationPolicy name and description.',
  });

export const UnregisterCredentialQuery = z
  .object({ revision: z.coerce.number().int().min(1).optional() })
  .strict()
  .meta({ id: 'UnregisterCredentialQuery' });
