/**
 * The discovery engine: for each tenant, scan its cloud accounts and VaultPilot's own secret
 * store, reconcile the inventory with what was found, and record the run. Runs start from the
 * hourly schedule (every tenant with an inventory) or from a request (`POST /discovery/runs`).
 *
 * Failure stays local: one account that cannot be reached, or one service that denies access,
 * shows up as errors of that source while the others are reconciled; a scope that failed is not
 * judged, so nothing in it is marked gone. Every change is audited before it is written (fail
 * closed: a change whose audit record cannot be written is not made), and new credentials, gone
 * ones and opened or resolved findings are published as events. A change's history entry is
 * written after the change (the commit point), as the credential API writes it: when the store
 * refuses it, the change stands, the lost entry is reported (`onHistoryLost`) and the run counts
 * it (`historyLost`) as one of its errors, so it ends `partial`. The run stops writing shortly
 * before its deadline and says so, rather than being cut off by the function timeout.
 *
 * A tenant has one run at a time (a lease in the run log): two runs planning over the same
 * inventory would refuse each other's writes and both end `partial`. A run that finds the lease
 * held stays `queued`; the holder asks for it again when it finishes.
 */
import { randomUUID } from 'node:crypto';
import type { AuditAction, AuditActor, AuditEvent } from '../audit/audit-event.js';
import type { AuditSink } from '../audit/audit-sink.js';
import { mapConcurrently } from '../concurrency.js';
import {
  CREDENTIAL_EVENT_TYPES,
  findingAuditEvents,
  findingEvents,
  inventoryEvent,
} from '../credentials/credential-events.js';
import {
  appendHistoryAfterCommit,
  historyEntry,
  type HistoryLostReporter,
} from '../credentials/credential-history.js';
import type { CredentialStore } from '../credentials/credential-store.js';
import { findingChanges } from '../credentials/findings.js';
import { ConflictError, DomainError } from '../errors.js';
import type { DomainEvent, EventPublisher } from '../events.js';
import type { Clock } from '../ports.js';
import type { SecretStore } from '../secrets/secret-store.js';
import { type CloudSourceProvider, type DiscoveredCredential, STORED_SECRETS_SCOPE } from './cloud-source.js';
import { type PlannedChange, reconcile } from './reconcile.js';
import {
  type DiscoveryRun,
  MAX_RUN_ERRORS,
  newRunId,
  RUN_LEASE_GRACE_MS,
  runAsOf,
  type RunCounts,
  type RunError,
  type RunSourceSummary,
  type RunStatus,
  type RunTrigger,
  ZERO_COUNTS,
} from './run.js';
import type { DiscoveryRunStore } from './run.js';
import { disabledRuleSet, type DiscoverySettingsStore, effectiveThresholds } from './settings.js';
import { scanStoredSecrets } from './stored-secrets.js';

export const DISCOVERY_EVENT_TYPES = {
  runRequested: 'discovery.run.requested',
  runFinished: 'discovery.run.finished',
} as const;

/** The engine's identity in audit events and credential histories. */
export const DISCOVERY_ACTOR: AuditActor = { kind: 'system', id: 'discovery' };

export interface DiscoveryEngineDependencies {
  readonly credentials: CredentialStore;
  readonly runs: DiscoveryRunStore;
  readonly settings: DiscoverySettingsStore;
  readonly cloud: CloudSourceProvider;
  /** VaultPilot's own store, whose secrets become `vault-secret` credentials; undefined skips it. */
  readonly storedSecrets: SecretStore | undefined;
  readonly audit: AuditSink;
  readonly events: EventPublisher;
  readonly clock: Clock;
}

export interface DiscoveryEngineOptions {
  /** A tenant scheduled runs always visit (the one that owns the ambient credentials). */
  readonly ambientTenant?: string | undefined;
  /** Accounts scanned at the same time in one run. */
  readonly accountConcurrency?: number;
  /** Inventory writes in flight at the same time. */
  readonly writeConcurrency?: number;
  /** Stop writing this long before the deadline, so the run can still be recorded. */
  readonly safetyMarginMs?: number;
  /** Told of each change stored whose history entry the store refused (the function logs it). */
  readonly onHistoryLost?: HistoryLostReporter;
}

/** Changes are written in slices; the events of a slice are published before the next starts. */
const SLICE = 100;

/** What writing one change did: the events to publish, and why its history entry was not stored. */
interface AppliedChange {
  readonly events: DomainEvent[];
  /** The store's refusal of the history entry (after the change itself was stored), if any. */
  readonly historyLost?: unknown;
}

export class DiscoveryEngine {
  private readonly accountConcurrency: number;
  private readonly writeConcurrency: number;
  private readonly safetyMarginMs: number;
  private readonly onHistoryLost: HistoryLostReporter;

  constructor(
    private readonly deps: DiscoveryEngineDependencies,
    private readonly options: DiscoveryEngineOptions = {},
  ) {
    this.accountConcurrency = options.accountConcurrency ?? 4;
    this.writeConcurrency = options.writeConcurrency ?? 8;
    this.safetyMarginMs = options.safetyMarginMs ?? 10_000;
    this.onHistoryLost = options.onHistoryLost ?? (() => undefined);
  }

  /** The hourly run: every tenant with an inventory (and the ambient tenant), one run each. */
  async runScheduled(deadline: Date): Promise<DiscoveryRun[]> {
    const tenants = new Set(await this.deps.credentials.tenants());
    if (this.options.ambientTenant !== undefined) tenants.add(this.options.ambientTenant);
    return mapConcurrently([...tenants].sort(), 2, async (tenant) => {
      const run = newRun(tenant, 'schedule', undefined, this.deps.clock.now());
      try {
        await this.deps.runs.create(run);
        return await this.execute(run, deadline);
      } catch (error: unknown) {
        // One tenant whose run cannot even be recorded must not stop the others'.
        return {
          ...run,
          status: 'failed',
          errors: [{ source: 'engine', code: errorCode(error), message: 'The run could not be recorded' }],
          counts: { ...run.counts, errors: 1 },
        };
      }
    });
  }

  /**
   * A requested run (queued by `POST /discovery/runs`). A run that is no longer queued was taken
   * by an earlier delivery of the same request and is left alone.
   */
  async runRequested(tenant: string, runId: string, deadline: Date): Promise<DiscoveryRun | undefined> {
    const run = await this.deps.runs.get(tenant, runId);
    if (run === undefined || run.status !== 'queued') return run;
    return this.execute(run, deadline);
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }

  /**
   * Runs `queued` if its tenant has no other run going; else leaves it queued for the running one
   * to start when it ends (`startQueued`). A crashed holder's lease runs out with its deadline.
   */
  private async execute(queued: DiscoveryRun, deadline: Date): Promise<DiscoveryRun> {
    if (!(await this.takeLease(queued, new Date(deadline.getTime() + RUN_LEASE_GRACE_MS)))) {
      return (await this.deps.runs.get(queued.tenant, queued.id)) ?? queued;
    }
    try {
      return await this.executeHolding(queued, deadline);
    } finally {
      // Given back before looking for waiting runs, so that none is left waiting on it.
      await this.deps.runs.release(queued.tenant, queued.id).catch(() => undefined);
      await this.startQueued(queued.tenant);
    }
  }

  /**
   * Takes the tenant's run lease for `run`. A lease whose holder has ended (its record finished,
   * gone, or abandoned) is stale, its release lost: it is taken over, conditional on that holder.
   */
  private async takeLease(run: DiscoveryRun, until: Date): Promise<boolean> {
    const now = this.deps.clock.now();
    const first = await this.deps.runs.claim(run.tenant, run.id, until, now);
    if (first.taken) return true;
    const holder = await this.deps.runs.get(run.tenant, first.holder);
    if (holder !== undefined && ['queued', 'running'].includes(runAsOf(holder, now).status)) return false;
    return (await this.deps.runs.claim(run.tenant, run.id, until, now, first.holder)).taken;
  }

  /**
   * Asks again for the tenant's runs still queued (those that found the lease held), oldest first.
   * Best effort: a run whose request is lost here starts when someone asks for a run again (or
   * when the hourly run ends), and is reported abandoned after an hour if neither happens.
   */
  private async startQueued(tenant: string): Promise<void> {
    try {
      const now = this.deps.clock.now();
      const { runs } = await this.deps.runs.list(tenant, { limit: 5 });
      const waiting = runs.filter((run) => runAsOf(run, now).status === 'queued').reverse();
      if (waiting.length === 0) return;
      await this.deps.events.publish(waiting.map((run) => runRequestedEvent(run)));
    } catch {
      // Left as described above.
    }
  }

  private async executeHolding(queued: DiscoveryRun, deadline: Date): Promise<DiscoveryRun> {
    const running: DiscoveryRun = {
      ...queued,
      status: 'running',
      startedAt: this.now(),
      deadlineAt: deadline.toISOString(),
      revision: queued.revision + 1,
    };
    try {
      await this.deps.runs.update(running, queued.revision);
    } catch (error: unknown) {
      if (error instanceof ConflictError)
        return (await this.deps.runs.get(queued.tenant, queued.id)) ?? queued;
      throw error;
    }

    let finished: DiscoveryRun;
    try {
      finished = { ...running, ...(await this.discover(running, deadline)) };
    } catch (error: unknown) {
      finished = {
        ...running,
        status: 'failed',
        errors: [
          {
            source: 'engine',
            code: errorCode(error),
            message: 'The run stopped before it could reconcile the inventory',
          },
        ],
        counts: { ...running.counts, errors: running.counts.errors + 1 },
      };
    }
    finished = { ...finished, finishedAt: this.now(), revision: running.revision + 1 };
    // The changes are stored and audited one by one; a lost run record only shows the run as
    // abandoned after its deadline, so its own failures do not fail the engine.
    await this.deps.runs.update(finished, running.revision).catch(() => undefined);
    await this.deps.audit.record(this.runAuditEvent(finished)).catch(() => undefined);
    await this.deps.events
      .publish([
        {
          type: DISCOVERY_EVENT_TYPES.runFinished,
          tenant: finished.tenant,
          time: finished.finishedAt ?? this.now(),
          detail: {
            runId: finished.id,
            status: finished.status,
            trigger: finished.trigger,
            counts: { ...finished.counts },
          },
        },
      ])
      .catch(() => undefined);
    return finished;
  }

  private async discover(
    run: DiscoveryRun,
    deadline: Date,
  ): Promise<Pick<DiscoveryRun, 'status' | 'cloud' | 'notice' | 'sources' | 'counts' | 'errors'>> {
    const { tenant } = run;
    const settings = await this.deps.settings.get(tenant);
    const cloud = await this.deps.cloud.sourcesFor(tenant, settings);
    const errors: RunError[] = [];
    const sources: RunSourceSummary[] = [];
    const reported: DiscoveredCredential[] = [];
    const completeScopes = new Set<string>();

    const scans = await mapConcurrently(cloud.sources, this.accountConcurrency, (source) =>
      source.scan({ deadline }),
    );
    scans.forEach((scan, index) => {
      const source = cloud.sources[index];
      if (source === undefined) return;
      reported.push(...scan.credentials);
      for (const scope of scan.completeScopes) completeScopes.add(scope);
      for (const error of scan.errors) errors.push({ source: source.label, ...error });
      sources.push({
        kind: 'aws-account',
        label: source.label,
        account: scan.account,
        roleArn: source.roleArn,
        status:
          scan.errors.length === 0 ? 'succeeded' : scan.completeScopes.length > 0 ? 'partial' : 'failed',
        seen: scan.credentials.length,
        calls: scan.calls,
        errors: scan.errors.length,
      });
    });

    if (this.deps.storedSecrets !== undefined) {
      const stored = await scanStoredSecrets(this.deps.storedSecrets, tenant, deadline, () =>
        this.deps.clock.now(),
      );
      reported.push(...stored.credentials);
      if (stored.complete) completeScopes.add(STORED_SECRETS_SCOPE);
      for (const error of stored.errors) errors.push({ source: 'VaultPilot secret store', ...error });
      sources.push({
        kind: 'secret-store',
        label: 'VaultPilot secret store',
        status: stored.complete ? 'succeeded' : 'failed',
        seen: stored.credentials.length,
        calls: 0,
        errors: stored.errors.length,
      });
    }

    const plan = reconcile({
      tenant,
      now: this.deps.clock.now(),
      existing: await this.deps.credentials.list(tenant),
      reported,
      completeScopes,
      thresholds: effectiveThresholds(settings),
      disabledRules: disabledRuleSet(settings),
    });

    const tally = { ...ZERO_COUNTS, seen: plan.seen, unchanged: plan.unchanged };
    const stopWritingAt = deadline.getTime() - this.safetyMarginMs;
    for (let start = 0; start < plan.changes.length; start += SLICE) {
      if (this.deps.clock.now().getTime() >= stopWritingAt) {
        errors.push({
          source: 'inventory',
          code: 'TimeBudgetExhausted',
          message: `The run reached its deadline with ${plan.changes.length - start} changes not written; the next run makes them`,
        });
        break;
      }
      const slice = plan.changes.slice(start, start + SLICE);
      const outcomes = await mapConcurrently(slice, this.writeConcurrency, (change) =>
        this.apply(change, run.id).then(
          (applied) => ({ change, applied, error: undefined }),
          (error: unknown) => ({ change, applied: undefined, error }),
        ),
      );
      const events: DomainEvent[] = [];
      for (const outcome of outcomes) {
        if (outcome.applied === undefined) {
          errors.push({
            source: 'inventory',
            code: errorCode(outcome.error),
            message: `Credential ${outcome.change.after.id} was not updated (${outcome.change.action})`,
          });
          continue;
        }
        events.push(...outcome.applied.events);
        count(tally, outcome.change);
        if ('historyLost' in outcome.applied) {
          // The change stands, but its record is incomplete: the run is not a clean success.
          tally.historyLost += 1;
          errors.push({
            source: 'inventory',
            code: errorCode(outcome.applied.historyLost),
            message: `Credential ${outcome.change.after.id} was stored (${outcome.change.action}) without its history entry`,
          });
        }
      }
      if (events.length > 0) {
        await this.deps.events.publish(events).catch((error: unknown) => {
          errors.push({
            source: 'events',
            code: errorCode(error),
            message: `${events.length} lifecycle events could not be published`,
          });
        });
      }
    }

    const counts: RunCounts = { ...tally, errors: errors.length };
    const everySourceFailed = sources.length > 0 && sources.every((source) => source.status === 'failed');
    const status: RunStatus = errors.length === 0 ? 'succeeded' : everySourceFailed ? 'failed' : 'partial';
    return {
      status,
      cloud: cloud.sources.length > 0 ? 'configured' : 'not-configured',
      notice: cloud.notice,
      sources,
      counts,
      errors: errors.slice(0, MAX_RUN_ERRORS),
    };
  }

  /** Audits, writes and records one change. */
  private async apply(change: PlannedChange, runId: string): Promise<AppliedChange> {
    const { before, after, action } = change;
    const time = this.now();
    const findings = findingChanges(before?.findings ?? [], after.findings);
    const audits: AuditEvent[] = [];
    const credentialAction: AuditAction | undefined =
      action === 'discovered' || action === 'returned'
        ? 'credential.discover'
        : action === 'refreshed'
          ? 'credential.refresh'
          : action === 'gone'
            ? 'credential.gone'
            : undefined;
    if (credentialAction !== undefined) {
      audits.push({
        eventId: randomUUID(),
        tenant: after.tenant,
        time,
        actor: DISCOVERY_ACTOR,
        action: credentialAction,
        target: { credentialId: after.id },
        outcome: 'allowed',
        ...(action === 'returned' ? { reason: 'found again after it was gone' } : {}),
        correlationId: runId,
      });
    }
    audits.push(
      ...findingAuditEvents(after, findings, { actor: DISCOVERY_ACTOR, time, correlationId: runId }),
    );
    for (const event of audits) await this.deps.audit.record(event);

    if (before === undefined) await this.deps.credentials.create(after);
    else await this.deps.credentials.replace(after, before.revision);
    let historyError: unknown;
    const historyRecorded = await appendHistoryAfterCommit(
      this.deps.credentials,
      after.tenant,
      after.id,
      historyEntry(DISCOVERY_ACTOR, action, before, after, time),
      (error, entry) => {
        historyError = error;
        this.onHistoryLost(error, entry);
      },
    );

    const events = findingEvents(after, findings, time);
    if (action === 'discovered' || action === 'returned')
      events.unshift(inventoryEvent(CREDENTIAL_EVENT_TYPES.discovered, after, time));
    if (action === 'gone') events.unshift(inventoryEvent(CREDENTIAL_EVENT_TYPES.gone, after, time));
    return historyRecorded ? { events } : { events, historyLost: historyError };
  }

  private runAuditEvent(run: DiscoveryRun): AuditEvent {
    const c = run.counts;
    return {
      eventId: randomUUID(),
      tenant: run.tenant,
      time: run.finishedAt ?? this.now(),
      actor: DISCOVERY_ACTOR,
      action: 'discovery.run',
      target: {},
      outcome: run.status === 'failed' ? 'failed' : 'allowed',
      reason:
        `run ${run.id} (${run.trigger}) ${run.status}: seen ${c.seen}, created ${c.created}, updated ${c.updated}, ` +
        `gone ${c.gone}, returned ${c.returned}, findings opened ${c.findingsOpened}, resolved ${c.findingsResolved}, ` +
        `history entries lost ${c.historyLost}, errors ${c.errors}`,
      correlationId: run.id,
    };
  }
}

function count(tally: { -readonly [K in keyof RunCounts]: number }, change: PlannedChange): void {
  const findings = findingChanges(change.before?.findings ?? [], change.after.findings);
  tally.findingsOpened += findings.opened.length;
  tally.findingsResolved += findings.resolved.length;
  if (change.action === 'discovered') tally.created += 1;
  else if (change.action === 'gone') tally.gone += 1;
  else if (change.action === 'returned') tally.returned += 1;
  else tally.updated += 1;
}

function errorCode(error: unknown): string {
  if (error instanceof DomainError) return error.code;
  return error instanceof Error ? error.name : 'UnknownError';
}

export function newRun(
  tenant: string,
  trigger: RunTrigger,
  requestedBy: string | undefined,
  now: Date,
): DiscoveryRun {
  return {
    id: newRunId(now),
    tenant,
    trigger,
    requestedBy,
    status: 'queued',
    queuedAt: now.toISOString(),
    startedAt: undefined,
    finishedAt: undefined,
    deadlineAt: undefined,
    cloud: undefined,
    notice: undefined,
    sources: [],
    counts: ZERO_COUNTS,
    errors: [],
    revision: 1,
  };
}

/** The event that asks the engine for a queued run (`POST /discovery/runs`, or a run left waiting). */
export function runRequestedEvent(run: DiscoveryRun): DomainEvent {
  return {
    type: DISCOVERY_EVENT_TYPES.runRequested,
    tenant: run.tenant,
    time: run.queuedAt,
    detail: { runId: run.id },
  };
}
