/**
 * The scheduled half of rotation: every run finds the credentials whose rotation is due (a Query
 * on the sparse `dueForRotation` index, never a scan) and the rotations whose retirement phase is
 * due (the sparse `retirementsDue` index, per tenant), and queues one job for each. The worker
 * decides (window, exemption, pair spacing, still due?) and runs them; a rotation that crashed is
 * found again while its credential stays due, and its deterministic id resumes it.
 * Before it reads the due index, a run carries out the due-time refreshes that policy writes left
 * pending (due-time-refresh.ts), so a due time a policy change moved is the one it reads.
 */
import type { RotationJob, RotationQueue } from './rotation-queue.js';
import type { RotationStore } from './rotation-store.js';

export interface DueCredential {
  readonly tenant: string;
  readonly credentialId: string;
  readonly dueAt: string;
}

/** The due index of the inventory, page by page over all its partitions. */
export interface DueCredentials {
  dueBefore(now: string, pageSize: number): AsyncIterable<readonly DueCredential[]>;
}

export interface SchedulerRun {
  /** Tenants whose pending due-time refresh this run carried out. */
  readonly refreshedTenants: number;
  readonly dueCredentials: number;
  readonly dueRetirements: number;
  readonly queued: number;
}

/** SQS takes at most 10 messages per SendMessageBatch. */
const SEND_BATCH = 10;

export class RotationScheduler {
  constructor(
    private readonly due: DueCredentials,
    private readonly rotations: Pick<RotationStore, 'dueRetirements'>,
    private readonly tenants: () => Promise<readonly string[]>,
    private readonly queue: RotationQueue,
    private readonly options: {
      readonly pageSize?: number;
      readonly maxJobs?: number;
      /**
       * Recomputes a tenant's due times when a policy write left them marked stale; true when it
       * ran. A refresh it must defer answers false (`DueTimeRefresh.refreshOrDefer`), so one
       * tenant does not hold up the others, nor the due rotations.
       */
      readonly dueTimes?: { refreshOrDefer(tenant: string): Promise<boolean> };
    } = {},
  ) {}

  async run(now: Date): Promise<SchedulerRun> {
    const at = now.toISOString();
    const pageSize = this.options.pageSize ?? 500;
    const maxJobs = this.options.maxJobs ?? 10_000;
    let dueCredentials = 0;
    let dueRetirements = 0;
    let queued = 0;
    let buffer: RotationJob[] = [];
    const flush = async (): Promise<void> => {
      for (let index = 0; index < buffer.length; index += SEND_BATCH) {
        const batch = buffer.slice(index, index + SEND_BATCH);
        await this.queue.send(batch);
        queued += batch.length;
      }
      buffer = [];
    };

    const tenants = await this.tenants();
    const refreshedTenants = await this.refreshDueTimes(tenants);
    for await (const page of this.due.dueBefore(at, pageSize)) {
      for (const item of page) {
        if (dueCredentials >= maxJobs) break;
        dueCredentials += 1;
        buffer.push({
          kind: 'rotate',
          tenant: item.tenant,
          credentialId: item.credentialId,
          dueAt: item.dueAt,
        });
      }
      await flush();
      if (dueCredentials >= maxJobs) break;
    }
    for (const tenant of tenants) {
      const keys = await this.rotations.dueRetirements(tenant, at, pageSize);
      dueRetirements += keys.length;
      buffer.push(...keys.map((key): RotationJob => ({ kind: 'retire', ...key })));
      await flush();
    }
    return { refreshedTenants, dueCredentials, dueRetirements, queued };
  }

  private async refreshDueTimes(tenants: readonly string[]): Promise<number> {
    const { dueTimes } = this.options;
    if (dueTimes === undefined) return 0;
    let refreshed = 0;
    for (const tenant of tenants) if (await dueTimes.refreshOrDefer(tenant)) refreshed += 1;
    return refreshed;
  }
}
