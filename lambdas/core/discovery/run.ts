/**
 * A discovery run: one pass over one tenant's sources, recorded from request to end with what it
 * found (counts) and what went wrong (errors), so `GET /discovery/runs` shows every run.
 */
import { randomBytes } from 'node:crypto';

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'partial', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const RUN_TRIGGERS = ['schedule', 'request'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

export interface RunCounts {
  /** Credentials the sources reported. */
  readonly seen: number;
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly gone: number;
  /** Credentials marked gone earlier that are back. */
  readonly returned: number;
  readonly findingsOpened: number;
  readonly findingsResolved: number;
  /** Changes stored whose history entry the store refused (reported, not repaired). */
  readonly historyLost: number;
  readonly errors: number;
}

export const ZERO_COUNTS: RunCounts = {
  seen: 0,
  created: 0,
  updated: 0,
  unchanged: 0,
  gone: 0,
  returned: 0,
  findingsOpened: 0,
  findingsResolved: 0,
  historyLost: 0,
  errors: 0,
};

export interface RunSourceSummary {
  readonly kind: 'aws-account' | 'secret-store';
  readonly label: string;
  readonly account?: string | undefined;
  readonly roleArn?: string | undefined;
  /** `partial`: some scopes were listed, others failed. */
  readonly status: 'succeeded' | 'partial' | 'failed';
  readonly seen: number;
  readonly calls: number;
  readonly errors: number;
}

export interface RunError {
  /** The source's label, or `inventory` for errors while storing. */
  readonly source: string;
  readonly code: string;
  readonly message: string;
  readonly service?: string | undefined;
  readonly operation?: string | undefined;
  readonly account?: string | undefined;
  readonly region?: string | undefined;
}

/** At most this many errors are kept per run (the count keeps counting). */
export const MAX_RUN_ERRORS = 100;

export interface DiscoveryRun {
  readonly id: string;
  readonly tenant: string;
  readonly trigger: RunTrigger;
  /** Actor id of whoever asked for it (requested runs). */
  readonly requestedBy: string | undefined;
  readonly status: RunStatus;
  readonly queuedAt: string;
  readonly startedAt: string | undefined;
  readonly finishedAt: string | undefined;
  /** The run gives up at this time; a run still `running` after it did not finish (crash, timeout). */
  readonly deadlineAt: string | undefined;
  /** Whether any cloud account was configured for the run. */
  readonly cloud: 'configured' | 'not-configured' | undefined;
  /** A sentence for people, e.g. that no cloud source is configured. */
  readonly notice: string | undefined;
  readonly sources: readonly RunSourceSummary[];
  readonly counts: RunCounts;
  readonly errors: readonly RunError[];
  /** Increases with every stored change; updates are conditional on it. */
  readonly revision: number;
}

/** A queued run that has not started within this time never will (its start event was lost). */
export const QUEUED_RUN_EXPIRY_MS = 60 * 60 * 1000;

const RUN_ID = /^\d{8}T\d{9}Z-[0-9a-f]{8}$/;

/** Time-ordered ids (`20260310T100200123Z-1a2b3c4d`), so the newest run sorts first without an index. */
export function newRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

export function isRunId(value: string): boolean {
  return RUN_ID.test(value);
}

/**
 * The run as it stands at `now`: a run that is still `running` past its deadline, or still
 * `queued` an hour after it was asked for, did not finish and is reported as `failed`.
 */
export function runAsOf(run: DiscoveryRun, now: Date): DiscoveryRun {
  const abandoned =
    (run.status === 'running' &&
      run.deadlineAt !== undefined &&
      Date.parse(run.deadlineAt) + 60_000 < now.getTime()) ||
    (run.status === 'queued' && Date.parse(run.queuedAt) + QUEUED_RUN_EXPIRY_MS < now.getTime());
  if (!abandoned) return run;
  const message =
    run.status === 'running'
      ? 'The run did not finish before its deadline (the function timed out or crashed)'
      : 'The run was never started (its start event was not delivered)';
  return {
    ...run,
    status: 'failed',
    errors: [...run.errors, { source: 'engine', code: 'RunAbandoned', message }].slice(0, MAX_RUN_ERRORS),
    counts: { ...run.counts, errors: run.counts.errors + 1 },
  };
}

export interface RunPage {
  readonly runs: readonly DiscoveryRun[];
  readonly cursor: string | undefined;
}

/**
 * How long after its deadline a run's hold on its tenant lasts, so that the hold of a run whose
 * function crashed runs out at the time its record is reported abandoned (`runAsOf`).
 */
export const RUN_LEASE_GRACE_MS = 60_000;

export type LeaseClaim = { readonly taken: true } | { readonly taken: false; readonly holder: string };

export interface DiscoveryRunStore {
  /**
   * Takes the tenant's run lease for run `runId` until `until` when no run holds it, its holder's
   * lease ran out before `now`, or its holder is `replacing`; else answers the holder. One
   * conditional write.
   */
  claim(tenant: string, runId: string, until: Date, now: Date, replacing?: string): Promise<LeaseClaim>;
  /** Gives the tenant's run lease back if run `runId` still holds it. */
  release(tenant: string, runId: string): Promise<void>;
  /** `ConflictError` when the id is taken. */
  create(run: DiscoveryRun): Promise<void>;
  /** Stores `run` (revision `expectedRevision + 1`) if the stored one has `expectedRevision`; else `ConflictError`. */
  update(run: DiscoveryRun, expectedRevision: number): Promise<void>;
  get(tenant: string, id: string): Promise<DiscoveryRun | undefined>;
  /** Newest first. A cursor the store did not issue is a `ValidationError`. */
  list(
    tenant: string,
    page: { readonly limit: number; readonly cursor?: string | undefined },
  ): Promise<RunPage>;
}
