/**
 * The finding rules as pure functions: each rule at, below and above its threshold, per-tenant
 * thresholds, switched-off rules, the status a finding implies, and `since` kept while it holds.
 */
import { readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../lambdas/core/credentials/credential.js';
import {
  DEFAULT_THRESHOLDS,
  deriveStatus,
  evaluateFindings,
  FINDING_RULE_IDS,
  FINDING_RULES,
  type FindingRuleId,
  FindingThresholdsSchema,
  findingChanges,
  worstSeverity,
} from '../../lambdas/core/credentials/findings.js';
import { accessKey, credential, daysAgo, NOW } from '../support/credentials.js';

function ruleIds(
  subject: Credential,
  thresholds = DEFAULT_THRESHOLDS,
  disabled?: Set<string>,
): FindingRuleId[] {
  return evaluateFindings(subject, { now: NOW, thresholds, disabledRules: disabled }).map((f) => f.ruleId);
}

describe('the rule index', () => {
  it('lists every rule file once, each file named after its rule and tested in a file of that name', async () => {
    // Prepare
    const rulesDir = new URL('../../lambdas/core/credentials/findings/rules/', import.meta.url);
    const testsDir = new URL('./findings/', import.meta.url);
    const files = (await readdir(rulesDir)).filter((file) => file.endsWith('.ts'));

    // Act
    const fileRules = await Promise.all(
      files.map(async (file) => {
        const module = (await import(new URL(file, rulesDir).href)) as Record<string, { id?: unknown }>;
        return { file: basename(file, '.ts'), ids: Object.values(module).map((rule) => rule.id) };
      }),
    );
    const tests = new Set(await readdir(testsDir));

    // Assess
    for (const { file, ids } of fileRules) expect(ids).toEqual([file]);
    expect(FINDING_RULES.map((rule) => rule.id).sort()).toEqual(fileRules.map(({ file }) => file).sort());
    expect(new Set(FINDING_RULES.map((rule) => rule.id)).size).toBe(FINDING_RULES.length);
    for (const { file } of fileRules) expect(tests.has(`${file}.test.ts`)).toBe(true);
  });
});

describe('finding rules', () => {
  it('has one rule per id, each with a severity, a title and a remediation', () => {
    expect(FINDING_RULES.map((rule) => rule.id).sort()).toEqual([...FINDING_RULE_IDS].sort());
    for (const rule of FINDING_RULES) {
      expect(rule.title.length).toBeGreaterThan(10);
      expect(rule.remediation.length).toBeGreaterThan(20);
      expect(rule.equivalent.length).toBeGreaterThan(5);
    }
  });

  it('reports nothing for a fresh, recently used access key', () => {
    expect(ruleIds(accessKey({ createdAt: daysAgo(10), lastUsedAt: daysAgo(1) }))).toEqual([]);
  });

  it('reports an active access key older than 90 days, not one of exactly 90', () => {
    expect(ruleIds(accessKey({ createdAt: daysAgo(91), lastUsedAt: daysAgo(1) }))).toEqual([
      'iam-access-key-too-old',
    ]);
    expect(ruleIds(accessKey({ createdAt: daysAgo(90), lastUsedAt: daysAgo(1) }))).toEqual([]);
  });

  it('reports a key unused for 45 days, and for 90 days as well (as Prowler and AWS Config both do)', () => {
    expect(ruleIds(accessKey({ createdAt: daysAgo(80), lastUsedAt: daysAgo(50) }))).toEqual([
      'iam-access-key-unused',
    ]);
    expect(ruleIds(accessKey({ createdAt: daysAgo(89), lastUsedAt: daysAgo(89) }))).toEqual([
      'iam-access-key-unused',
    ]);
    expect(ruleIds(accessKey({ createdAt: daysAgo(200), lastUsedAt: daysAgo(100) })).sort()).toEqual([
      'iam-access-key-too-old',
      'iam-access-key-unused',
      'iam-access-key-unused-long',
    ]);
  });

  it('reports a key that was never used, counting its unused days from its creation', () => {
    expect(ruleIds(accessKey({ createdAt: daysAgo(2), lastUsedAt: undefined }))).toEqual([
      'iam-access-key-never-used',
    ]);
    expect(ruleIds(accessKey({ createdAt: daysAgo(60), lastUsedAt: undefined })).sort()).toEqual([
      'iam-access-key-never-used',
      'iam-access-key-unused',
    ]);
  });

  it('judges no usage when the source could not tell (usage not tracked)', () => {
    expect(
      ruleIds(accessKey({ createdAt: daysAgo(60), lastUsedAt: undefined, usageTracked: false })),
    ).toEqual([]);
  });

  it('leaves inactive keys alone', () => {
    const inactive = accessKey({
      createdAt: daysAgo(400),
      lastUsedAt: undefined,
      facts: { keyStatus: 'Inactive' },
    });
    expect(ruleIds(inactive)).toEqual([]);
  });

  it('reports two active keys on one user', () => {
    expect(
      ruleIds(accessKey({ lastUsedAt: daysAgo(1), facts: { keyStatus: 'Active', activeKeysOnUser: 2 } })),
    ).toEqual(['iam-user-two-active-keys']);
  });

  it('reports the root user access key as critical, and nothing else about it', () => {
    const root = accessKey({
      facts: { root: true, keysPresent: 1 },
      usageTracked: false,
      createdAt: undefined,
    });
    const findings = evaluateFindings(root, { now: NOW, thresholds: DEFAULT_THRESHOLDS });
    expect(findings).toEqual([
      { ruleId: 'iam-root-access-key', severity: 'critical', since: NOW.toISOString() },
    ]);
  });

  it('checks Secrets Manager secrets for rotation, rotation age and use', () => {
    const secret = (facts: Credential['facts'], dates: Partial<Credential>) =>
      credential({
        type: 'secretsmanager-secret',
        source: 'discovered',
        usageTracked: true,
        facts,
        ...dates,
      });
    expect(
      ruleIds(
        secret(
          { rotationEnabled: true },
          { createdAt: daysAgo(200), lastRotatedAt: daysAgo(10), lastUsedAt: daysAgo(1) },
        ),
      ),
    ).toEqual([]);
    expect(
      ruleIds(secret({ rotationEnabled: false }, { createdAt: daysAgo(5), lastUsedAt: daysAgo(1) })),
    ).toEqual(['secretsmanager-rotation-disabled']);
    // Never rotated: its age counts from its creation.
    expect(
      ruleIds(secret({ rotationEnabled: true }, { createdAt: daysAgo(120), lastUsedAt: daysAgo(1) })),
    ).toEqual(['secretsmanager-not-rotated']);
    expect(
      ruleIds(
        secret(
          { rotationEnabled: true },
          { createdAt: daysAgo(30), lastRotatedAt: daysAgo(30), lastUsedAt: daysAgo(95) },
        ),
      ),
    ).toEqual(['secretsmanager-unused']);
  });

  it('checks SSM SecureString parameters and stored secrets for their last change', () => {
    const parameter = credential({ type: 'ssm-parameter', source: 'discovered', createdAt: undefined });
    expect(ruleIds({ ...parameter, lastRotatedAt: daysAgo(91) })).toEqual(['ssm-parameter-not-changed']);
    expect(ruleIds({ ...parameter, lastRotatedAt: daysAgo(89) })).toEqual([]);
    const stored = credential({ type: 'vault-secret', source: 'discovered', createdAt: daysAgo(300) });
    expect(ruleIds({ ...stored, lastRotatedAt: daysAgo(100) })).toEqual(['stored-secret-not-rotated']);
    expect(ruleIds({ ...stored, lastRotatedAt: daysAgo(3) })).toEqual([]);
  });

  it.each([
    [40, []],
    [30, ['credential-expiring-notice']],
    [8, ['credential-expiring-notice']],
    [7, ['credential-expiring-soon']],
    [2, ['credential-expiring-soon']],
    [1, ['credential-expiring-imminent']],
    [0.01, ['credential-expiring-imminent']],
    [0, ['credential-expired']],
    [-400, ['credential-expired']],
  ])('reports a credential expiring in %s days with exactly the tightest window: %j', (days, expected) => {
    expect(ruleIds(credential({ expiresAt: daysAgo(-days) }))).toEqual(expected);
  });

  it('accepts expiries far in the future (no cap)', () => {
    expect(ruleIds(credential({ expiresAt: '9999-12-31T00:00:00.000Z' }))).toEqual([]);
  });

  it('applies a tenant’s thresholds and leaves out switched-off rules', () => {
    const key = accessKey({ createdAt: daysAgo(40), lastUsedAt: daysAgo(1) });
    const strict = FindingThresholdsSchema.parse({ accessKeyMaxAgeDays: 30 });
    expect(ruleIds(key, strict)).toEqual(['iam-access-key-too-old']);
    expect(ruleIds(key, strict, new Set(['iam-access-key-too-old']))).toEqual([]);
    const lenient = FindingThresholdsSchema.parse({ expiryNoticeDays: 60 });
    expect(ruleIds(credential({ expiresAt: daysAgo(-45) }), lenient)).toEqual(['credential-expiring-notice']);
  });

  it('refuses thresholds that contradict each other', () => {
    expect(FindingThresholdsSchema.safeParse({ expiryWarningDays: 40 }).success).toBe(false);
    expect(FindingThresholdsSchema.safeParse({ accessKeyUnusedDays: 120 }).success).toBe(false);
    expect(FindingThresholdsSchema.safeParse({ accessKeyMaxAgeDays: 0 }).success).toBe(false);
  });

  it('keeps the time a finding was first raised while it holds', () => {
    const since = daysAgo(3);
    const key = accessKey({
      createdAt: daysAgo(100),
      lastUsedAt: daysAgo(1),
      findings: [{ ruleId: 'iam-access-key-too-old', severity: 'medium', since }],
    });
    expect(evaluateFindings(key, { now: NOW, thresholds: DEFAULT_THRESHOLDS })[0]?.since).toBe(since);
  });

  it('has no findings for a credential that is gone', () => {
    expect(ruleIds(accessKey({ createdAt: daysAgo(400), goneAt: daysAgo(1) }))).toEqual([]);
  });
});

describe('status and changes', () => {
  const finding = (ruleId: FindingRuleId, severity: 'critical' | 'high' | 'medium' | 'low' = 'medium') => ({
    ruleId,
    severity,
    since: NOW.toISOString(),
  });

  it('derives the worst status a finding implies', () => {
    const base = credential();
    expect(deriveStatus(base, [])).toBe('healthy');
    expect(deriveStatus(base, [finding('iam-user-two-active-keys')])).toBe('healthy');
    expect(deriveStatus(base, [finding('iam-access-key-unused')])).toBe('unused');
    expect(deriveStatus(base, [finding('iam-access-key-unused'), finding('credential-expiring-soon')])).toBe(
      'expiring',
    );
    expect(deriveStatus(base, [finding('credential-expiring-soon'), finding('credential-expired')])).toBe(
      'overdue',
    );
    expect(deriveStatus({ ...base, rotationState: 'rotating' }, [finding('credential-expired')])).toBe(
      'rotating',
    );
    expect(deriveStatus({ ...base, goneAt: NOW.toISOString() }, [])).toBe('gone');
  });

  it('names opened and resolved findings, and the worst severity', () => {
    const before = [finding('iam-access-key-unused'), finding('iam-access-key-too-old')];
    const after = [finding('iam-access-key-too-old'), finding('iam-root-access-key', 'critical')];
    expect(findingChanges(before, after)).toEqual({
      opened: [finding('iam-root-access-key', 'critical')],
      resolved: [finding('iam-access-key-unused')],
    });
    expect(worstSeverity(after)).toBe('critical');
    expect(worstSeverity([])).toBeUndefined();
  });
});
