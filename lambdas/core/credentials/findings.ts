/**
 * Hygiene findings: small pure rules over one credential, each with an id, a severity, a title
 * and a remediation, matching what Prowler and AWS Config check. Thresholds are per tenant (the
 * defaults are the usual 45/90 days and 30/7/1 days before expiry), and a tenant may switch rules
 * off. A rule reads only the credential's recorded facts and the time, so the same function runs
 * in the discovery engine, on registration and in tests.
 */
import * as z from 'zod';
import type { Credential, CredentialStatus, CredentialType } from './credential.js';

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Higher is worse; sorts findings and credentials by severity. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.length - SEVERITIES.indexOf(severity);
}

export const FINDING_RULE_IDS = [
  'iam-access-key-too-old',
  'iam-access-key-unused',
  'iam-access-key-unused-long',
  'iam-access-key-never-used',
  'iam-user-two-active-keys',
  'iam-root-access-key',
  'secretsmanager-rotation-disabled',
  'secretsmanager-not-rotated',
  'secretsmanager-unused',
  'ssm-parameter-not-changed',
  'stored-secret-not-rotated',
  'credential-expiring-notice',
  'credential-expiring-soon',
  'credential-expiring-imminent',
  'credential-expired',
] as const;
export type FindingRuleId = (typeof FINDING_RULE_IDS)[number];

/** A finding as the inventory keeps it: which rule, how bad, and since when it holds. */
export interface Finding {
  readonly ruleId: FindingRuleId;
  readonly severity: Severity;
  /** ISO-8601 time the finding was first raised (kept while it holds). */
  readonly since: string;
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

export interface FindingRule {
  readonly id: FindingRuleId;
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

const DAY_MS = 86_400_000;

function elapsedDays(since: string | undefined, now: Date): number | undefined {
  if (since === undefined) return undefined;
  const time = Date.parse(since);
  return Number.isNaN(time) ? undefined : (now.getTime() - time) / DAY_MS;
}

/** True when more than `limit` days passed since `since` (an unknown time never qualifies). */
function olderThan(since: string | undefined, limit: number, now: Date): boolean {
  const elapsed = elapsedDays(since, now);
  return elapsed !== undefined && elapsed > limit;
}

function isRootKey(c: RuleSubject): boolean {
  return c.type === 'aws-iam-access-key' && c.facts.root === true;
}

/** An IAM user's access key that is active (inactive keys cannot be used, so they are not judged). */
function isActiveUserKey(c: RuleSubject): boolean {
  return c.type === 'aws-iam-access-key' && !isRootKey(c) && c.facts.keyStatus === 'Active';
}

/** Days without use, counted from the last use or, for a key never used, from its creation. */
function unusedLongerThan(c: RuleSubject, limit: number, now: Date): boolean {
  if (!c.usageTracked) return false;
  return olderThan(c.lastUsedAt ?? c.createdAt, limit, now);
}

function expiresWithin(c: RuleSubject, windowDays: number, now: Date): boolean {
  if (c.expiresAt === undefined) return false;
  const left = (Date.parse(c.expiresAt) - now.getTime()) / DAY_MS;
  return !Number.isNaN(left) && left > 0 && left <= windowDays;
}

function isExpired(c: RuleSubject, now: Date): boolean {
  return c.expiresAt !== undefined && Date.parse(c.expiresAt) <= now.getTime();
}

/** The rules, in the order their findings are listed. */
export const FINDING_RULES: readonly FindingRule[] = [
  {
    id: 'iam-root-access-key',
    severity: 'critical',
    title: 'The account root user has an access key',
    remediation:
      'Delete the root user access keys (IAM console, signed in as root: Security credentials > Access keys) and use IAM roles or users with least privilege instead.',
    appliesTo: ['aws-iam-access-key'],
    implies: undefined,
    threshold: undefined,
    equivalent: 'Prowler iam_no_root_access_key; AWS Config iam-root-access-key-check',
    matches: (c) => isRootKey(c),
  },
  {
    id: 'iam-access-key-too-old',
    severity: 'medium',
    title: 'Active access key older than the maximum age',
    remediation:
      'Rotate the key: create a second key, move every consumer to it, deactivate the old key, then delete it once nothing failed. Prefer IAM roles over long-lived keys.',
    appliesTo: ['aws-iam-access-key'],
    implies: 'overdue',
    threshold: 'accessKeyMaxAgeDays',
    equivalent: 'Prowler iam_rotate_access_key_90_days; AWS Config access-keys-rotated',
    matches: (c, { now, thresholds }) =>
      isActiveUserKey(c) && olderThan(c.createdAt, thresholds.accessKeyMaxAgeDays, now),
  },
  {
    id: 'iam-access-key-unused',
    severity: 'medium',
    title: 'Active access key unused for a long time',
    remediation:
      'Find out whether anything still needs the key (IAM access key last used, CloudTrail); if not, deactivate it and delete it after a waiting period.',
    appliesTo: ['aws-iam-access-key'],
    implies: 'unused',
    threshold: 'accessKeyUnusedDays',
    equivalent: 'Prowler iam_user_accesskey_unused',
    matches: (c, { now, thresholds }) =>
      isActiveUserKey(c) && unusedLongerThan(c, thresholds.accessKeyUnusedDays, now),
  },
  {
    id: 'iam-access-key-unused-long',
    severity: 'high',
    title: 'Active access key unused for a very long time',
    remediation:
      'Deactivate the key now and delete it after a waiting period; a key nobody uses is only a liability.',
    appliesTo: ['aws-iam-access-key'],
    implies: 'unused',
    threshold: 'accessKeyLongUnusedDays',
    equivalent: 'AWS Config iam-user-unused-credentials-check',
    matches: (c, { now, thresholds }) =>
      isActiveUserKey(c) && unusedLongerThan(c, thresholds.accessKeyLongUnusedDays, now),
  },
  {
    id: 'iam-access-key-never-used',
    severity: 'medium',
    title: 'Active access key that has never been used',
    remediation:
      'Delete keys created "just in case" (for example during user setup); create a key only when something needs it.',
    appliesTo: ['aws-iam-access-key'],
    implies: 'unused',
    threshold: undefined,
    equivalent: 'Prowler iam_user_no_setup_initial_access_key',
    matches: (c) => isActiveUserKey(c) && c.usageTracked && c.lastUsedAt === undefined,
  },
  {
    id: 'iam-user-two-active-keys',
    severity: 'medium',
    title: 'The IAM user has two active access keys',
    remediation:
      'Keep one active key per user; two are only normal for the minutes of a rotation. Deactivate the key that is no longer in use.',
    appliesTo: ['aws-iam-access-key'],
    implies: undefined,
    threshold: undefined,
    equivalent: 'Prowler iam_user_two_active_access_key',
    matches: (c) =>
      isActiveUserKey(c) && typeof c.facts.activeKeysOnUser === 'number' && c.facts.activeKeysOnUser > 1,
  },
  {
    id: 'secretsmanager-rotation-disabled',
    severity: 'medium',
    title: 'Secrets Manager secret without automatic rotation',
    remediation:
      'Turn on rotation for the secret (a rotation function or managed rotation), or let VaultPilot rotate it with a rotation policy.',
    appliesTo: ['secretsmanager-secret'],
    implies: undefined,
    threshold: undefined,
    equivalent:
      'Prowler secretsmanager_automatic_rotation_enabled; AWS Config secretsmanager-rotation-enabled-check',
    matches: (c) => c.type === 'secretsmanager-secret' && c.facts.rotationEnabled !== true,
  },
  {
    id: 'secretsmanager-not-rotated',
    severity: 'medium',
    title: 'Secrets Manager secret not rotated within the maximum age',
    remediation:
      'Rotate the secret now and check why scheduled rotation did not happen (rotation function errors, schedule).',
    appliesTo: ['secretsmanager-secret'],
    implies: 'overdue',
    threshold: 'secretRotationMaxAgeDays',
    equivalent: 'AWS Config secretsmanager-secret-periodic-rotation',
    matches: (c, { now, thresholds }) =>
      c.type === 'secretsmanager-secret' &&
      olderThan(c.lastRotatedAt ?? c.createdAt, thresholds.secretRotationMaxAgeDays, now),
  },
  {
    id: 'secretsmanager-unused',
    severity: 'low',
    title: 'Secrets Manager secret not accessed for a long time',
    remediation:
      'Check whether anything still reads the secret (CloudTrail GetSecretValue); if not, schedule its deletion.',
    appliesTo: ['secretsmanager-secret'],
    implies: 'unused',
    threshold: 'secretUnusedDays',
    equivalent: 'AWS Config secretsmanager-secret-unused',
    matches: (c, { now, thresholds }) =>
      c.type === 'secretsmanager-secret' && unusedLongerThan(c, thresholds.secretUnusedDays, now),
  },
  {
    id: 'ssm-parameter-not-changed',
    severity: 'medium',
    title: 'SSM SecureString parameter not changed within the maximum age',
    remediation:
      'Rotate the value the parameter holds and write the new one (PutParameter with Overwrite), or move it to Secrets Manager with rotation.',
    appliesTo: ['ssm-parameter'],
    implies: 'overdue',
    threshold: 'parameterMaxAgeDays',
    equivalent: 'Prowler ssm_parameter_* age checks',
    matches: (c, { now, thresholds }) =>
      c.type === 'ssm-parameter' &&
      olderThan(c.lastRotatedAt ?? c.createdAt, thresholds.parameterMaxAgeDays, now),
  },
  {
    id: 'stored-secret-not-rotated',
    severity: 'medium',
    title: "Secret in VaultPilot's store whose current version is older than the maximum age",
    remediation: 'Rotate the credential the secret holds and write the new value as a new version.',
    appliesTo: ['vault-secret'],
    implies: 'overdue',
    threshold: 'storedSecretMaxAgeDays',
    equivalent: 'secret age (Vault and Infisical secret-rotation reminders)',
    matches: (c, { now, thresholds }) =>
      c.type === 'vault-secret' &&
      olderThan(c.lastRotatedAt ?? c.createdAt, thresholds.storedSecretMaxAgeDays, now),
  },
  {
    id: 'credential-expired',
    severity: 'critical',
    title: 'The credential has expired',
    remediation: 'Issue a new credential, update every consumer, and record the new expiry date.',
    appliesTo: 'any',
    implies: 'overdue',
    threshold: undefined,
    equivalent: 'AWS Config acm-certificate-expiration-check (for credentials)',
    matches: (c, { now }) => isExpired(c, now),
  },
  {
    id: 'credential-expiring-imminent',
    severity: 'high',
    title: 'The credential expires within the urgent window',
    remediation: 'Renew the credential today and roll it out before the expiry.',
    appliesTo: 'any',
    implies: 'expiring',
    threshold: 'expiryCriticalDays',
    equivalent: 'AWS Config acm-certificate-expiration-check',
    matches: (c, { now, thresholds }) => expiresWithin(c, thresholds.expiryCriticalDays, now),
  },
  {
    id: 'credential-expiring-soon',
    severity: 'medium',
    title: 'The credential expires within the warning window',
    remediation: 'Schedule the renewal now and tell the owners of every consumer.',
    appliesTo: 'any',
    implies: 'expiring',
    threshold: 'expiryWarningDays',
    equivalent: 'AWS Config acm-certificate-expiration-check',
    matches: (c, { now, thresholds }) =>
      expiresWithin(c, thresholds.expiryWarningDays, now) &&
      !expiresWithin(c, thresholds.expiryCriticalDays, now),
  },
  {
    id: 'credential-expiring-notice',
    severity: 'low',
    title: 'The credential expires within the notice window',
    remediation: 'Plan the renewal: find out who issues the new credential and where it is used.',
    appliesTo: 'any',
    implies: 'expiring',
    threshold: 'expiryNoticeDays',
    equivalent: 'AWS Config acm-certificate-expiration-check',
    matches: (c, { now, thresholds }) =>
      expiresWithin(c, thresholds.expiryNoticeDays, now) &&
      !expiresWithin(c, thresholds.expiryWarningDays, now),
  },
];

const RULES_BY_ID: ReadonlyMap<string, FindingRule> = new Map(FINDING_RULES.map((rule) => [rule.id, rule]));

export function findingRule(id: string): FindingRule | undefined {
  return RULES_BY_ID.get(id);
}

export function isFindingRuleId(value: string): value is FindingRuleId {
  return RULES_BY_ID.has(value);
}

export interface EvaluationContext extends RuleContext {
  readonly disabledRules?: ReadonlySet<string> | undefined;
}

/**
 * The findings that hold for `credential` now. A finding that already held keeps its `since`; a
 * credential that is gone has none (there is nothing left to fix at its source).
 */
export function evaluateFindings(
  credential: RuleSubject & { readonly findings: readonly Finding[] },
  context: EvaluationContext,
): Finding[] {
  if (credential.goneAt !== undefined) return [];
  const previous = new Map(credential.findings.map((finding) => [finding.ruleId, finding]));
  const since = context.now.toISOString();
  return FINDING_RULES.filter(
    (rule) =>
      context.disabledRules?.has(rule.id) !== true &&
      (rule.appliesTo === 'any' || rule.appliesTo.includes(credential.type)) &&
      rule.matches(credential, context),
  ).map((rule) => ({
    ruleId: rule.id,
    severity: rule.severity,
    since: previous.get(rule.id)?.since ?? since,
  }));
}

const STATUS_PRIORITY: readonly CredentialStatus[] = ['overdue', 'expiring', 'unused'];

/**
 * The inventory status: `gone` and the rotation engine's states win; otherwise the worst status
 * a finding implies (overdue, then expiring, then unused), else healthy.
 */
export function deriveStatus(
  credential: Pick<Credential, 'goneAt' | 'rotationState'>,
  findings: readonly Finding[],
): CredentialStatus {
  if (credential.goneAt !== undefined) return 'gone';
  if (credential.rotationState !== undefined) return credential.rotationState;
  const implied = new Set(findings.map((finding) => findingRule(finding.ruleId)?.implies));
  return STATUS_PRIORITY.find((status) => implied.has(status as never)) ?? 'healthy';
}

/** The highest severity among the findings, if any. */
export function worstSeverity(findings: readonly Finding[]): Severity | undefined {
  let worst: Severity | undefined;
  for (const finding of findings) {
    if (worst === undefined || severityRank(finding.severity) > severityRank(worst)) worst = finding.severity;
  }
  return worst;
}

/** Which findings opened and which resolved between two evaluations. */
export function findingChanges(
  before: readonly Finding[],
  after: readonly Finding[],
): { opened: Finding[]; resolved: Finding[] } {
  const beforeIds = new Set(before.map((finding) => finding.ruleId));
  const afterIds = new Set(after.map((finding) => finding.ruleId));
  return {
    opened: after.filter((finding) => !beforeIds.has(finding.ruleId)),
    resolved: before.filter((finding) => !afterIds.has(finding.ruleId)),
  };
}
