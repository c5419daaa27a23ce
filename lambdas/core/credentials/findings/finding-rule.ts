/**
 * The shape of a finding rule (cdk-nag's: one small pure function with a clear name, one file
 * per rule under `rules/`, named after the rule, all listed in `index.ts`), the severities, and
 * the per-tenant thresholds the rules read.
 */
import * as z from 'zod';
import type { Credential, CredentialStatus, CredentialType } from '../credential.js';

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Higher is worse; sorts findings and credentials by severity. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.length - SEVERITIES.indexOf(severity);
}

const days = (description: string, fallback: number) =>
  z.number().int().min(1).max(36_500).default(fallback).describe(description);

/** Per-tenant thresholds, in days. Unset fields take the defaults. */
export const FindingThresholdsSchema = z
  .strictObject({
    accessKeyMaxAgeDays: days('An active access key older than this is overdue for rotation', 90),
    accessKeyUnusedDays: days('An active access key unused this long is reported (first tier)', 45),
    accessKeyLongUnusedDays: days('An active access key unused this long is reported (second tier)', 90),
    secretRotationMaxAgeDays: days('A Secrets Manager secret not rotated this long is overdue', 90),
    secretUnusedDays: days('A Secrets Manager secret not accessed this long is unused', 90),
    parameterMaxAgeDays: days('An SSM SecureString not changed this long is overdue', 90),
    storedSecretMaxAgeDays: days(
      "A secret in VaultPilot's store whose current version is older is overdue",
      90,
    ),
    expiryNoticeDays: days('A credential expiring within this many days gets a notice', 30),
    expiryWarningDays: days('... a warning', 7),
    expiryCriticalDays: days('... an urgent warning', 1),
  })
  .refine((t) => t.accessKeyUnusedDays <= t.accessKeyLongUnusedDays, {
    message: 'accessKeyUnusedDays must not exceed accessKeyLongUnusedDays',
    path: ['accessKeyUnusedDays'],
  })
  .refine((t) => t.expiryCriticalDays <= t.expiryWarningDays && t.expiryWarningDays <= t.expiryNoticeDays, {
    message: 'expiry thresholds must satisfy expiryCriticalDays <= expiryWarningDays <= expiryNoticeDays',
    path: ['expiryWarningDays'],
  });
export type FindingThresholds = z.infer<typeof FindingThresholdsSchema>;

export const DEFAULT_THRESHOLDS: FindingThresholds = FindingThresholdsSchema.parse({});

/** What a rule may read of a credential. */
export type RuleSubject = Pick<
  Credential,
  | 'type'
  | 'source'
  | 'goneAt'
  | 'createdAt'
  | 'lastRotatedAt'
  | 'lastUsedAt'
  | 'usageTracked'
  | 'expiresAt'
  | 'facts'
>;

export interface RuleContext {
  readonly now: Date;
  readonly thresholds: FindingThresholds;
}

export interface FindingRule<Id extends string = string> {
  /** The rule's name; its file under `rules/` carries the same name. */
  readonly id: Id;
  readonly severity: Severity;
  readonly title: string;
  readonly remediation: string;
  readonly appliesTo: readonly CredentialType[] | 'any';
  /** The inventory status a credential with this finding has (unless a worse one applies). */
  readonly implies: Extract<CredentialStatus, 'overdue' | 'expiring' | 'unused'> | undefined;
  /** The threshold the rule reads, if any (shown in the rule catalog). */
  readonly threshold: keyof FindingThresholds | undefined;
  /** The equivalent Prowler check or AWS Config rule. */
  readonly equivalent: string;
  readonly matches: (credential: RuleSubject, context: RuleContext) => boolean;
}

/** A rule as written in its file; `id` keeps its literal type, so the index knows every id. */
export function defineFindingRule<const Id extends string>(rule: FindingRule<Id>): FindingRule<Id> {
  return rule;
}
