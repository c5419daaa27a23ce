/**
 * Discovery as callers reach it: ask for a run (`POST /discovery/runs`, answered at once with the
 * queued run while the engine works), follow runs, read and change the tenant's discovery
 * settings, and read the finding rules with the thresholds that apply. Authorized by role or
 * scope, and audited fail-closed like every other call.
 */
import { principalName } from '../principal.js';
import { audited, ROLE_DENIAL } from '../audit/audited.js';
import type { AuditAction, AuditOutcome } from '../audit/audit-event.js';
import type { AuditSink } from '../audit/audit-sink.js';
import { type Caller, callerAuditEvent } from '../audit/caller.js';
import type { CredentialStore } from '../credentials/credential-store.js';
import {
  DEFAULT_THRESHOLDS,
  FINDING_RULES,
  type FindingRule,
  type FindingThresholds,
} from '../credentials/findings.js';
import {
  changesInventory,
  type InventoryAccess,
  mayAccessInventory,
} from '../credentials/inventory-access.js';
import { DependencyUnavailableError, NotFoundError, ValidationError } from '../errors.js';
import type { EventPublisher } from '../events.js';
import type { Clock } from '../ports.js';
import { newRun, runRequestedEvent } from './engine.js';
import { type DiscoveryRun, type DiscoveryRunStore, isRunId, type RunPage, runAsOf } from './run.js';
import {
  type DiscoverySettingsStore,
  effectiveThresholds,
  parseDiscoverySettings,
  type StoredDiscoverySettings,
} from './settings.js';

export const RUN_LIST_LIMITS = { defaultLimit: 20, maxLimit: 100 } as const;

export interface RuleWithThreshold {
  readonly rule: FindingRule;
  readonly enabled: boolean;
  /** The threshold in days that applies to this tenant, if the rule has one. */
  readonly thresholdDays: number | undefined;
  readonly defaultThresholdDays: number | undefined;
}

export class DiscoveryControl {
  constructor(
    private readonly runs: DiscoveryRunStore,
    private readonly settings: DiscoverySettingsStore,
    private readonly credentials: CredentialStore,
    private readonly audit: AuditSink,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
  ) {}

  /**
   * Queues a run and asks the engine for it (an event on the bus). A run of the tenant that is
   * still queued has seen nothing yet, so asking again returns that one instead of a second, and
   * asks the engine for it again (it may be waiting for a run whose end was never reported).
   */
  requestRun(caller: Caller): Promise<DiscoveryRun> {
    return this.guard(
      caller,
      'write',
      'discovery.run.request',
      async () => {
        const tenant = caller.principal.tenant;
        const now = this.clock.now();
        const latest = (await this.runs.list(tenant, { limit: 5 })).runs
          .map((run) => runAsOf(run, now))
          .find((run) => run.status === 'queued');
        if (latest !== undefined) {
          // Best effort: the run is queued either way, and the engine ignores a run already taken.
          await this.events.publish([runRequestedEvent(latest)]).catch(() => undefined);
          return latest;
        }
        await this.credentials.registerTenant(tenant);
        const run = newRun(tenant, 'request', principalName(caller.principal), now);
        await this.runs.create(run);
        try {
          await this.events.publish([runRequestedEvent(run)]);
        } catch (error: unknown) {
          // Without its event the run never starts: record it as failed and tell the caller.
          await this.runs
            .update(
              {
                ...run,
                status: 'failed',
                finishedAt: this.clock.now().toISOString(),
                errors: [
                  { source: 'engine', code: 'EventBusUnavailable', message: 'The run could not be started' },
                ],
                counts: { ...run.counts, errors: 1 },
                revision: run.revision + 1,
              },
              run.revision,
            )
            .catch(() => undefined);
          throw error instanceof DependencyUnavailableError
            ? error
            : new DependencyUnavailableError('The discovery run could not be started', 5, { cause: error });
        }
        return run;
      },
      (run) => `run ${run.id}`,
    );
  }

  listRuns(
    caller: Caller,
    page: { readonly limit?: number | undefined; readonly cursor?: string | undefined },
  ): Promise<RunPage> {
    return this.guard(caller, 'read', 'discovery.run.read', async () => {
      const limit = page.limit ?? RUN_LIST_LIMITS.defaultLimit;
      if (!Number.isInteger(limit) || limit < 1 || limit > RUN_LIST_LIMITS.maxLimit) {
        throw new ValidationError(
          `Query parameter limit must be a whole number from 1 to ${RUN_LIST_LIMITS.maxLimit}`,
          {
            details: { parameter: 'limit' },
          },
        );
      }
      const listed = await this.runs.list(caller.principal.tenant, { limit, cursor: page.cursor });
      const now = this.clock.now();
      return { runs: listed.runs.map((run) => runAsOf(run, now)), cursor: listed.cursor };
    });
  }

  getRun(caller: Caller, id: string): Promise<DiscoveryRun> {
    return this.guard(
      caller,
      'read',
      'discovery.run.read',
      async () => {
        const run = isRunId(id) ? await this.runs.get(caller.principal.tenant, id) : undefined;
        if (run === undefined) throw new NotFoundError(`No discovery run ${id.slice(0, 64)}`);
        return runAsOf(run, this.clock.now());
      },
      () => `run ${id.slice(0, 64)}`,
    );
  }

  getSettings(caller: Caller): Promise<StoredDiscoverySettings> {
    return this.guard(caller, 'readConfiguration', 'discovery.settings.read', () =>
      this.settings.get(caller.principal.tenant),
    );
  }

  putSettings(caller: Caller, input: unknown, expectedRevision?: number): Promise<StoredDiscoverySettings> {
    return this.guard(caller, 'configure', 'discovery.settings.write', async () => {
      const settings = parseDiscoverySettings(input);
      const tenant = caller.principal.tenant;
      // The registration first (an idempotent put the engine finds tenants by), the settings last:
      // the settings are the change, so a refusal after them must not answer 503 for a change made.
      await this.credentials.registerTenant(tenant);
      return this.settings.put(tenant, settings, {
        expectedRevision,
        now: this.clock.now().toISOString(),
      });
    });
  }

  /** The finding rules, whether each is on for this tenant, and the thresholds that apply. */
  rules(caller: Caller): Promise<RuleWithThreshold[]> {
    return this.guard(caller, 'read', 'discovery.settings.read', async () => {
      const settings = await this.settings.get(caller.principal.tenant);
      const thresholds: FindingThresholds = effectiveThresholds(settings);
      const disabled = new Set<string>(settings.disabledRules);
      return FINDING_RULES.map((rule) => ({
        rule,
        enabled: !disabled.has(rule.id),
        thresholdDays: rule.threshold === undefined ? undefined : thresholds[rule.threshold],
        defaultThresholdDays: rule.threshold === undefined ? undefined : DEFAULT_THRESHOLDS[rule.threshold],
      }));
    });
  }

  private async guard<T>(
    caller: Caller,
    access: InventoryAccess,
    action: AuditAction,
    run: () => Promise<T>,
    describe?: (result: T) => string,
  ): Promise<T> {
    return audited<T>({
      denial: mayAccessInventory(caller.principal, access) ? undefined : ROLE_DENIAL,
      changes: changesInventory(access),
      run,
      record: (outcome, reason, done) =>
        this.record(caller, action, outcome, done === undefined ? reason : describe?.(done)),
    });
  }

  private record(caller: Caller, action: AuditAction, outcome: AuditOutcome, reason?: string): Promise<void> {
    return this.audit.record(callerAuditEvent(caller, this.clock, { action, target: {}, outcome, reason }));
  }
}
