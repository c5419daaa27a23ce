/**
 * A tenant's discovery settings: the AWS accounts to scan (a role to assume in each, with the
 * external id the role's trust policy demands), the regions, and the finding thresholds and
 * switched-off rules. Kept in the settings table; only admins change them.
 */
import * as z from 'zod';
import { ValidationError } from '../errors.js';
import {
  DEFAULT_THRESHOLDS,
  FINDING_RULE_IDS,
  type FindingRuleId,
  type FindingThresholds,
  FindingThresholdsSchema,
} from '../credentials/findings.js';

/** An IAM role ARN in any partition (`aws`, `aws-cn`, `aws-us-gov`), with an optional path. */
export const ROLE_ARN_PATTERN = /^arn:aws(?:-[a-z]+)*:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;
/** STS's rule for ExternalId. */
export const EXTERNAL_ID_PATTERN = /^[\w+=,.@:/-]{2,1224}$/;
export const REGION_PATTERN = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;

export const MAX_DISCOVERY_ACCOUNTS = 100;
export const MAX_DISCOVERY_REGIONS = 30;

const RegionList = z
  .array(z.string().regex(REGION_PATTERN, 'expected an AWS region such as eu-west-1'))
  .min(1)
  .max(MAX_DISCOVERY_REGIONS)
  .refine((regions) => new Set(regions).size === regions.length, { message: 'regions must not repeat' });

export const DiscoveryAccountSchema = z.strictObject({
  roleArn: z
    .string()
    .regex(ROLE_ARN_PATTERN, 'expected an IAM role ARN (arn:aws:iam::<account>:role/<name>)'),
  externalId: z
    .string()
    .regex(EXTERNAL_ID_PATTERN, 'expected 2-1224 characters of A-Z a-z 0-9 + = , . @ : / - _')
    .optional(),
  /** A label for people (shown in runs). */
  name: z.string().min(1).max(128).optional(),
  /** Regions of Secrets Manager and SSM to scan; default: the tenant's `regions`. */
  regions: RegionList.optional(),
});
export type DiscoveryAccount = z.infer<typeof DiscoveryAccountSchema>;

/** Thresholds as an admin sets them: any subset; the rest keep their defaults. */
export const ThresholdOverridesSchema = z.strictObject(
  Object.fromEntries(
    Object.keys(DEFAULT_THRESHOLDS).map((key) => [key, z.number().int().min(1).max(36_500).optional()]),
  ) as Record<keyof FindingThresholds, z.ZodOptional<z.ZodNumber>>,
);
export type ThresholdOverrides = z.infer<typeof ThresholdOverridesSchema>;

export const DiscoverySettingsSchema = z.strictObject({
  accounts: z
    .array(DiscoveryAccountSchema)
    .max(MAX_DISCOVERY_ACCOUNTS)
    .refine((accounts) => new Set(accounts.map((a) => a.roleArn)).size === accounts.length, {
      message: 'an account role must be listed once',
    })
    .default([]),
  /** Regions scanned when an account names none; default: the deployment's region. */
  regions: RegionList.optional(),
  thresholds: ThresholdOverridesSchema.default({}),
  disabledRules: z
    .array(z.enum(FINDING_RULE_IDS))
    .max(FINDING_RULE_IDS.length)
    .refine((ids) => new Set(ids).size === ids.length, { message: 'a rule must be listed once' })
    .default([]),
});
export type DiscoverySettings = z.infer<typeof DiscoverySettingsSchema>;

export interface StoredDiscoverySettings extends DiscoverySettings {
  /** 0 for the defaults of a tenant that never saved settings. */
  readonly revision: number;
  readonly updatedAt: string | undefined;
}

export const DEFAULT_DISCOVERY_SETTINGS: StoredDiscoverySettings = {
  accounts: [],
  thresholds: {},
  disabledRules: [],
  revision: 0,
  updatedAt: undefined,
};

/** Validates settings as a whole, including the thresholds' relations; `ValidationError` names fields. */
export function parseDiscoverySettings(input: unknown): DiscoverySettings {
  const parsed = DiscoverySettingsSchema.safeParse(input);
  if (!parsed.success) throw settingsError(parsed.error);
  const thresholds = FindingThresholdsSchema.safeParse(parsed.data.thresholds);
  if (!thresholds.success) throw settingsError(thresholds.error, ['thresholds']);
  return parsed.data;
}

function settingsError(error: z.ZodError, prefix: readonly PropertyKey[] = []): ValidationError {
  return new ValidationError('Invalid discovery settings', {
    cause: error,
    details: {
      issues: error.issues.map(({ code, path, message }) => ({ code, path: [...prefix, ...path], message })),
    },
  });
}

/** The thresholds that apply: the tenant's overrides over the defaults. */
export function effectiveThresholds(settings: Pick<DiscoverySettings, 'thresholds'>): FindingThresholds {
  const result = FindingThresholdsSchema.safeParse(settings.thresholds);
  // Stored settings were validated when saved; fall back to the defaults rather than fail a run.
  return result.success ? result.data : DEFAULT_THRESHOLDS;
}

export function disabledRuleSet(
  settings: Pick<DiscoverySettings, 'disabledRules'>,
): ReadonlySet<FindingRuleId> {
  return new Set(settings.disabledRules);
}

/** The account id in a role ARN. */
export function accountOfRole(roleArn: string): string | undefined {
  return ROLE_ARN_PATTERN.exec(roleArn)?.[1];
}

export interface DiscoverySettingsStore {
  /** The tenant's settings, or the defaults (revision 0) when it never saved any. */
  get(tenant: string): Promise<StoredDiscoverySettings>;
  /**
   * Replaces the settings. With `expectedRevision`, only if the stored revision is that one (0:
   * none stored yet); a mismatch is a `ConflictError`.
   */
  put(
    tenant: string,
    settings: DiscoverySettings,
    options: { readonly expectedRevision?: number | undefined; readonly now: string },
  ): Promise<StoredDiscoverySettings>;
}
