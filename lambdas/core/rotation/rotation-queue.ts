/**
 * The queue between the scheduler (and the API) and the rotation worker: SQS in AWS, an
 * in-process queue locally. A job names what to do; the worker is idempotent per job, so a
 * delivery that comes twice (SQS delivers at least once) changes nothing twice.
 */
import * as z from 'zod';
import { AuditActorSchema } from '../audit/audit-event.js';
import { mapConcurrently } from '../concurrency.js';
import { DependencyUnavailableError } from '../errors.js';
import type { RotationEngine } from './engine.js';

export const Tenant = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/);
export const CredentialId = z.string().regex(/^cr_[0-9a-f]{24}$/);
export const RotationId = z.string().regex(/^rot_[0-9a-f]{24}_[0-9a-z]{17}$/);

/** Who asked for a rotation, a rollback or a submission (`RotationRequester`), as it crosses a boundary. */
export const RequesterSchema = z.strictObject({
  actor: AuditActorSchema,
  name: z.string().min(1).max(300),
  requestId: z.string().min(1).max(256).optional(),
  correlationId: z.string().min(1).max(256).optional(),
});

export const RotationJobSchema = z.discriminatedUnion('kind', [
  /** A scheduled rotation: start it if still due (deterministic id per due time), then run it. */
  z.strictObject({
    kind: z.literal('rotate'),
    tenant: Tenant,
    credentialId: CredentialId,
    dueAt: z.iso.datetime(),
  }),
  /** Run (or resume) a rotation that was started (by the API). */
  z.strictObject({
    kind: z.literal('run'),
    tenant: Tenant,
    credentialId: CredentialId,
    rotationId: RotationId,
  }),
  /** Run the retirement phase of a rotation that is due. */
  z.strictObject({
    kind: z.literal('retire'),
    tenant: Tenant,
    credentialId: CredentialId,
    rotationId: RotationId,
  }),
  /** Finish an explicit rollback that began but was cut short (the storage refused a step). */
  z.strictObject({
    kind: z.literal('rollback'),
    tenant: Tenant,
    credentialId: CredentialId,
    rotationId: RotationId,
    requestedBy: RequesterSchema,
  }),
]);
export type RotationJob = z.infer<typeof RotationJobSchema>;

export interface RotationQueue {
  /** Resolves once every job is queued; `DependencyUnavailableError` otherwise. */
  send(jobs: readonly RotationJob[]): Promise<void>;
}

export const SCHEDULER_REQUESTER = {
  actor: { kind: 'system' as const, id: 'rotation-scheduler' },
  name: 'system:scheduler',
};

/** Runs one job to its end (or next wait). Rethrows what should be retried later. */
export async function runRotationJob(engine: RotationEngine, job: RotationJob): Promise<string> {
  switch (job.kind) {
    case 'rotate': {
      const started = await engine.start({
        tenant: job.tenant,
        credentialId: job.credentialId,
        trigger: 'schedule',
        requestedBy: SCHEDULER_REQUESTER,
        dueAt: job.dueAt,
      });
      if (started.status === 'skipped') return `skipped: ${started.reason}`;
      const { outcome } = await engine.run({
        tenant: job.tenant,
        credentialId: job.credentialId,
        rotationId: started.record.rotationId,
      });
      return outcome;
    }
    case 'run':
      return (await engine.run(job)).outcome;
    case 'retire':
      return (await engine.retire(job)).retirement?.status ?? 'nothing to retire';
    case 'rollback': {
      const { requestedBy, ...key } = job;
      return (await engine.rollback(key, requestedBy)).state;
    }
  }
}

export interface JobLimits {
  /** Jobs in flight at once in one batch. */
  readonly concurrency: number;
  /** Jobs of one tenant in flight at once, so one tenant cannot take a whole batch's slots. */
  readonly perTenant: number;
}

export type JobResult =
  { readonly ok: true; readonly outcome: string } | { readonly ok: false; readonly error: unknown };

/**
 * Runs a batch with bounded concurrency, globally and per tenant, and reports each job's result
 * (the SQS handler turns failures into `batchItemFailures`, so only they are delivered again).
 */
export async function runRotationJobs(
  jobs: readonly RotationJob[],
  run: (job: RotationJob) => Promise<string>,
  limits: JobLimits,
): Promise<JobResult[]> {
  const inFlight = new Map<string, number>();
  const waiting = new Map<string, (() => void)[]>();
  const acquire = async (tenant: string): Promise<void> => {
    while ((inFlight.get(tenant) ?? 0) >= limits.perTenant) {
      await new Promise<void>((resolve) => waiting.set(tenant, [...(waiting.get(tenant) ?? []), resolve]));
    }
    inFlight.set(tenant, (inFlight.get(tenant) ?? 0) + 1);
  };
  const release = (tenant: string): void => {
    inFlight.set(tenant, (inFlight.get(tenant) ?? 1) - 1);
    const next = waiting.get(tenant)?.shift();
    next?.();
  };
  return mapConcurrently(jobs, limits.concurrency, async (job): Promise<JobResult> => {
    await acquire(job.tenant);
    try {
      return { ok: true, outcome: await run(job) };
    } catch (error: unknown) {
      return { ok: false, error };
    } finally {
      release(job.tenant);
    }
  });
}

/** A queue that refuses everything (functions that must not queue). */
export const noQueue: RotationQueue = {
  send: async () => {
    throw new DependencyUnavailableError('No rotation queue is configured for this function', 30);
  },
};
