/**
 * Every finding rule, in the order their findings are listed. A rule is added by writing
 * `rules/<rule-id>.ts` (and its test, `test/unit/findings/<rule-id>.test.ts`) and listing it here.
 */
import { credentialExpired } from './rules/credential-expired.js';
import { credentialExpiringImminent } from './rules/credential-expiring-imminent.js';
import { credentialExpiringNotice } from './rules/credential-expiring-notice.js';
import { credentialExpiringSoon } from './rules/credential-expiring-soon.js';
import { iamAccessKeyNeverUsed } from './rules/iam-access-key-never-used.js';
import { iamAccessKeyTooOld } from './rules/iam-access-key-too-old.js';
import { iamAccessKeyUnused } from './rules/iam-access-key-unused.js';
import { iamAccessKeyUnusedLong } from './rules/iam-access-key-unused-long.js';
import { iamRootAccessKey } from './rules/iam-root-access-key.js';
import { iamUserTwoActiveKeys } from './rules/iam-user-two-active-keys.js';
import { secretsmanagerNotRotated } from './rules/secretsmanager-not-rotated.js';
import { secretsmanagerRotationDisabled } from './rules/secretsmanager-rotation-disabled.js';
import { secretsmanagerUnused } from './rules/secretsmanager-unused.js';
import { ssmParameterNotChanged } from './rules/ssm-parameter-not-changed.js';
import { storedSecretNotRotated } from './rules/stored-secret-not-rotated.js';

export const FINDING_RULES = [
  iamRootAccessKey,
  iamAccessKeyTooOld,
  iamAccessKeyUnused,
  iamAccessKeyUnusedLong,
  iamAccessKeyNeverUsed,
  iamUserTwoActiveKeys,
  secretsmanagerRotationDisabled,
  secretsmanagerNotRotated,
  secretsmanagerUnused,
  ssmParameterNotChanged,
  storedSecretNotRotated,
  credentialExpired,
  credentialExpiringImminent,
  credentialExpiringSoon,
  credentialExpiringNotice,
] as const;

export type FindingRuleId = (typeof FINDING_RULES)[number]['id'];

/** The rule ids, for schemas (`z.enum`) that validate stored and published findings. */
export const FINDING_RULE_IDS = FINDING_RULES.map((rule) => rule.id) as [FindingRuleId, ...FindingRuleId[]];
