/**
 * Hygiene findings: small pure rules over one credential, each with an id, a severity, a title
 * and a remediation, matching what Prowler and AWS Config check; one file per rule under
 * `findings/rules/`, listed in `findings/index.ts`. Thresholds are per tenant (the defaults are
 * the usual 45/90 days and 30/7/1 days before expiry), and a tenant may switch rules off. A rule
 * reads only the credential's recorded facts and the time, so the same function runs in the
 * discovery engine, on registration and in tests. This module evaluates the rules.
 */
import type { Credential, CredentialStatus } from './credential.js';
import {
  type FindingRule,
  type RuleContext,
  type RuleSubject,
  type Severity,
  severityRank,
} from './findings/finding-rule.js';
import { FINDING_RULES, type FindingRuleId } from './findings/index.js';

export {
  DEFAULT_THRESHOLDS,
  type FindingRule,
  type FindingThresholds,
  FindingThresholdsSchema,
  type RuleContext,
  type RuleSubject,
  SEVERITIES,
  type Severity,
  severityRank,
} from './findings/finding-rule.js';
export { FINDING_RULE_IDS, FINDING_RULES, type FindingRuleId } from './findings/index.js';

/** A finding as the inventory keeps it: which rule, how bad, and since when it holds. */
export interface Finding {
  readonly ruleId: FindingRuleId;
  readonly severity: Severity;
  /** ISO-8601 time the finding was first raised (kept while it holds). */
  readonly since: string;
}

const RULES_BY_ID: ReadonlyMap<string, FindingRule<FindingRuleId>> = new Map(
  FINDING_RULES.map((rule) => [rule.id, rule]),
);

export function findingRule(id: string): FindingRule<FindingRuleId> | undefined {
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
