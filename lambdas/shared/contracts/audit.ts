/**
 * Contracts of the audit API (`/audit`, ADR 0004). Query parameters arrive as strings and are
 * checked strictly: an unknown parameter, a malformed time or an out-of-range number is a 400.
 */
import * as z from 'zod';

const TENANT = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** `?tenant=` names the caller's own tenant (or another, which answers 404). */
const tenant = z.string().regex(TENANT, 'A tenant is 1 to 63 lowercase letters, digits or dashes').optional();

const instant = z.iso
  .datetime({ offset: true, error: 'Expected an ISO-8601 date-time, e.g. 2025-03-01T12:00:00Z' })
  .transform((value) => new Date(value).toISOString());

export const AUDIT_OUTCOME_VALUES = ['attempted', 'allowed', 'denied', 'failed'] as const;

export const AuditQuery = z
  .object({
    actor: z.string().min(1).max(256).optional(),
    action: z
      .string()
      .regex(/^[a-z][A-Za-z.]{0,63}$/, 'Expected an audit action such as secret.read')
      .optional(),
    target: z.string().min(1).max(1024).optional(),
    outcome: z.enum(AUDIT_OUTCOME_VALUES).optional(),
    from: instant.optional(),
    to: instant.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z.string().min(1).max(512).optional(),
    tenant,
  })
  .strict()
  .refine((query) => query.from === undefined || query.to === undefined || query.from <= query.to, {
    message: 'from must not be after to',
    path: ['from'],
  })
  .meta({ id: 'AuditQuery' });

const AuditActorView = z.object({
  kind: z.enum(['user', 'machine', 'system']),
  id: z.string().describe("A user's subject, a machine client's id, or the engine's name"),
  name: z
    .string()
    .optional()
    .describe("A user's username when the event was written (for people; id is the identity)"),
  sourceIp: z.string().optional(),
  userAgent: z.string().optional(),
});

const AuditTargetView = z.object({
  path: z.string().optional(),
  version: z.number().int().optional(),
  versions: z.array(z.number().int()).optional(),
  credentialId: z.string().optional(),
  policy: z.string().optional(),
  hashed: z.record(z.string(), z.string()).optional(),
});

export const AuditEventView = z
  .object({
    eventId: z.string(),
    tenant: z.string(),
    time: z.string(),
    actor: AuditActorView,
    action: z.string(),
    target: AuditTargetView,
    outcome: z.enum(AUDIT_OUTCOME_VALUES),
    reason: z.string().optional(),
    requestId: z.string().optional(),
    correlationId: z.string().optional(),
  })
  .meta({ id: 'AuditEvent' });

export const AuditEventsResponse = z
  .object({
    /** Newest first. */
    events: z.array(AuditEventView),
    /** Pass back as `cursor` for the next (older) page; null on the last page. */
    nextCursor: z.string().nullable(),
  })
  .meta({ id: 'AuditEventsResponse' });

export const AuditTenantQuery = z.object({ tenant }).strict().meta({ id: 'AuditTenantQuery' });

export const AuditVerifyResponse = z
  .object({
    ok: z.boolean(),
    /** Entries found intact before the first problem (all of them when `ok`). */
    checked: z.number().int(),
    /** First and last sequence number found intact; null when none is. */
    firstSeq: z.number().int().nullable(),
    lastSeq: z.number().int().nullable(),
    /**
     * Signed digests whose content the key authenticates (their own signature, or a format-2
     * successor's hash of them) and whose place in the digest chain is valid. Entries after the
     * newest digest are hash-linked but not yet signed (digests are made hourly).
     */
    digestsVerified: z.number().int(),
    firstBad: z
      .object({
        seq: z.number().int(),
        reason: z.enum(['modified', 'missing', 'inserted', 'reordered', 'truncated', 'bad-signature']),
      })
      .nullable(),
  })
  .meta({ id: 'AuditVerifyResponse' });

const seq = z.coerce.number().int().min(1).max(999_999_999_999);

export const AuditExportQuery = z
  .object({
    format: z.enum(['ndjson', 'csv']).default('ndjson'),
    fromSeq: seq.optional(),
    toSeq: seq.optional(),
    tenant,
  })
  .strict()
  .refine(
    (query) => query.fromSeq === undefined || query.toSeq === undefined || query.fromSeq <= query.toSeq,
    {
      message: 'fromSeq must not be after toSeq',
      path: ['fromSeq'],
    },
  )
  .meta({ id: 'AuditExportQuery' });

export const AuditExportText = z.string().meta({
  id: 'AuditExport',
  description:
    'NDJSON (application/x-ndjson): a header line with the public key, the chain entries in seq order, each digest after the entry it ends at; or CSV (text/csv), one row per entry',
});

export const AuditPublicKeyText = z.string().meta({
  id: 'AuditPublicKey',
  description: 'The digest signing public key, PEM (SubjectPublicKeyInfo)',
});

export const AuditHashRequest = z
  .object({ value: z.string().min(1).max(4096) })
  .strict()
  .meta({ id: 'AuditHashRequest' });

export const AuditHashResponse = z
  .object({ hmac: z.string().regex(/^hmac-sha256:[0-9a-f]{64}$/) })
  .meta({ id: 'AuditHashResponse' });

export const AuditDigestView = z
  .object({
    format: z.string(),
    tenant: z.string(),
    fromSeq: z.number().int(),
    toSeq: z.number().int(),
    headHash: z.string(),
    prevSignature: z.string(),
    /**
     * Format 2 (`vaultpilot.audit-digest/2`) only: hex SHA-256 of the previous digest's canonical
     * JSON, signature included; empty for the first digest (ADR 0004).
     */
    prevDigestHash: z.string().optional(),
    prevExpiresAt: z.number().int(),
    expiresAt: z.number().int(),
    createdAt: z.string(),
    reconciledThrough: z.string(),
    algorithm: z.enum(['ED25519', 'ECDSA_SHA_256']),
    keyFingerprint: z.string(),
    signature: z.string(),
  })
  .meta({ id: 'AuditDigest' });

export const AuditDigestsResponse = z
  .object({ digests: z.array(AuditDigestView) })
  .meta({ id: 'AuditDigestsResponse' });

export const AuditDigestResponse = z
  .object({
    digest: AuditDigestView.nullable(),
    complete: z.boolean().meta({
      description:
        "False when the run stopped at the function's time limit: digest (if any) covers the part of the chain it checked; call again (or let the hourly digest) sign the rest",
    }),
  })
  .meta({ id: 'AuditDigestResponse' });

export const AuditSettingsBody = z
  .object({ retentionDays: z.number().int().min(1).max(3650) })
  .strict()
  .meta({ id: 'AuditSettings' });
