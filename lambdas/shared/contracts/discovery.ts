/** Contracts of the discovery API: runs, settings and the finding rules. */
import * as z from 'zod';

const Count = z.number().int().min(0);

export const DiscoveryRun = z
  .object({
    id: z.string(),
    /** The same value as `id`, under the name rotations use for theirs (`rotationId`). */
    runId: z.string(),
    trigger: z.enum(['schedule', 'request']),
    requestedBy: z.string().optional(),
    status: z.enum(['queued', 'running', 'succeeded', 'partial', 'failed']),
    queuedAt: z.string(),
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
    deadlineAt: z.string().optional(),
    cloud: z.enum(['configured', 'not-configured']).optional(),
    notice: z.string().optional(),
    sources: z.array(
      z.object({
        kind: z.enum(['aws-account', 'secret-store']),
        label: z.string(),
        account: z.string().optional(),
        roleArn: z.string().optional(),
        status: z.enum(['succeeded', 'partial', 'failed']),
        seen: Count,
        calls: Count,
        errors: Count,
      }),
    ),
    counts: z
      .object({
        seen: Count.describe('Distinct credentials the sources reported'),
        created: Count.describe('Credentials recorded for the first time'),
        updated: Count.describe(
          'Credentials whose facts, findings or status changed: any in the inventory, managed ones too (time alone can open a finding)',
        ),
        unchanged: Count.describe(
          'Credentials of the inventory left as they were, managed ones and ones no source reported too',
        ),
        gone: Count.describe(
          'Discovered credentials of a fully listed account or store that no source reported any more',
        ),
        returned: Count.describe('Credentials marked gone before and reported again'),
        findingsOpened: Count,
        findingsResolved: Count,
        historyLost: Count.describe(
          'Changes stored whose credential-history entry the storage refused (the change stands; the entry is missing)',
        ),
        errors: Count,
      })
      .describe(
        'Every credential of the inventory is judged again on each run: created + updated + gone + returned + unchanged is the whole inventory (less the changes that failed, see errors), not `seen`',
      ),
    errors: z.array(
      z.object({
        source: z.string(),
        code: z.string(),
        message: z.string(),
        service: z.string().optional(),
        operation: z.string().optional(),
        account: z.string().optional(),
        region: z.string().optional(),
      }),
    ),
  })
  .meta({ id: 'DiscoveryRun' });

export const DiscoveryRunResponse = z.object({ data: DiscoveryRun }).meta({ id: 'DiscoveryRunResponse' });

export const DiscoveryRunListResponse = z
  .object({ data: z.object({ runs: z.array(DiscoveryRun), nextCursor: z.string().optional() }) })
  .meta({ id: 'DiscoveryRunListResponse' });

export const ListDiscoveryRunsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).optional().describe('1-100, default 20'),
    cursor: z.string().max(200).optional(),
  })
  .strict()
  .meta({ id: 'ListDiscoveryRunsQuery' });

export const DiscoveryAccount = z
  .object({
    roleArn: z.string().describe('Role to assume in the account (see docs/discovery-member-role.yaml)'),
    externalId: z.string().optional().describe("The external id the role's trust policy requires"),
    name: z.string().optional(),
    regions: z.array(z.string()).optional(),
  })
  .strict()
  .meta({ id: 'DiscoveryAccount' });

const Thresholds = z
  .record(z.string(), z.number().int())
  .describe('Days, per threshold name (see GET /discovery/rules); unset ones keep their defaults');

export const DiscoverySettings = z
  .object({
    accounts: z.array(DiscoveryAccount),
    regions: z.array(z.string()).optional(),
    thresholds: Thresholds,
    disabledRules: z.array(z.string()),
    revision: z.number().int(),
    updatedAt: z.string().optional(),
  })
  .meta({ id: 'DiscoverySettings' });

export const DiscoverySettingsResponse = z
  .object({ data: DiscoverySettings })
  .meta({ id: 'DiscoverySettingsResponse' });

export const PutDiscoverySettingsRequest = z
  .object({
    accounts: z.array(DiscoveryAccount).max(100).optional(),
    regions: z.array(z.string()).max(30).optional(),
    thresholds: Thresholds.optional(),
    disabledRules: z.array(z.string()).max(50).optional(),
    revision: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Check-and-set: the revision last read (0: none saved yet)'),
  })
  .strict()
  .meta({ id: 'PutDiscoverySettingsRequest' });

export const FindingRule = z
  .object({
    id: z.string(),
    severity: z.enum(['critical', 'high', 'medium', 'low']),
    title: z.string(),
    remediation: z.string(),
    appliesTo: z.union([z.literal('any'), z.array(z.string())]),
    impliesStatus: z.string().optional(),
    threshold: z.string().optional(),
    thresholdDays: z.number().int().optional(),
    defaultThresholdDays: z.number().int().optional(),
    enabled: z.boolean(),
    equivalent: z.string(),
  })
  .meta({ id: 'FindingRule' });

export const FindingRulesResponse = z
  .object({ data: z.object({ rules: z.array(FindingRule) }) })
  .meta({ id: 'FindingRulesResponse' });
