/**
 * A `PolicyStore` that keeps each tenant's attachments (what every authorization check reads) in
 * memory for a bounded time, so a secret read does not pay two Queries for them.
 *
 * Staleness is bounded: an entry serves for at most `maxAgeMs` (default and ceiling 5 s) after
 * the read that filled it started, so a policy change made anywhere applies to every check that
 * starts at most that long after the change. A change made through this very store (`put`,
 * `delete`, `attach`) drops the tenant's entry before it returns, so it applies at once; locally
 * every function shares one store per process (lambdas/platform/parts/policies.ts), so a change
 * through the policies API applies at once there too. A failed read is never cached (fail closed).
 */
import type { Clock } from '../ports.js';
import type { AttachedPolicies, Policy } from './policy.js';
import type { PolicyHolder, PolicyStore, PolicyWriteOptions, StoredPolicy } from './policy-store.js';

/** The most an authorization check may lag behind a policy change made in another process. */
export const MAX_POLICY_STALENESS_MS = 5_000;

export interface PolicyCacheOptions {
  /** 0..5,000 ms; 0 turns caching off. */
  readonly maxAgeMs?: number;
  /** Tenants kept at once; the least recently filled goes first. */
  readonly maxTenants?: number;
  readonly clock: Clock;
}

interface Entry {
  /** When the read that filled it started (a change racing that read is then at most this old). */
  readonly readAt: number;
  /** The read itself: concurrent checks of one tenant share it. */
  readonly attached: Promise<AttachedPolicies>;
}

export class CachedPolicyStore implements PolicyStore {
  private readonly entries = new Map<string, Entry>();
  private readonly maxAgeMs: number;
  private readonly maxTenants: number;
  private readonly clock: Clock;

  constructor(
    private readonly store: PolicyStore,
    options: PolicyCacheOptions,
  ) {
    const maxAgeMs = options.maxAgeMs ?? MAX_POLICY_STALENESS_MS;
    if (!Number.isInteger(maxAgeMs) || maxAgeMs < 0 || maxAgeMs > MAX_POLICY_STALENESS_MS) {
      throw new RangeError(
        `The policy cache's maxAgeMs must be 0..${MAX_POLICY_STALENESS_MS}, got ${maxAgeMs}`,
      );
    }
    this.maxAgeMs = maxAgeMs;
    this.maxTenants = options.maxTenants ?? 1000;
    this.clock = options.clock;
  }

  list(tenant: string): Promise<StoredPolicy[]> {
    return this.store.list(tenant);
  }

  get(tenant: string, name: string): Promise<StoredPolicy | undefined> {
    return this.store.get(tenant, name);
  }

  async put(tenant: string, policy: Policy, options?: PolicyWriteOptions): Promise<StoredPolicy> {
    try {
      return await this.store.put(tenant, policy, options);
    } finally {
      // Also after a failure: the write may have happened before the error surfaced.
      this.invalidate(tenant);
    }
  }

  async delete(tenant: string, name: string, options?: PolicyWriteOptions): Promise<void> {
    try {
      await this.store.delete(tenant, name, options);
    } finally {
      this.invalidate(tenant);
    }
  }

  async attach(tenant: string, holder: PolicyHolder, policyNames: readonly string[]): Promise<void> {
    try {
      await this.store.attach(tenant, holder, policyNames);
    } finally {
      this.invalidate(tenant);
    }
  }

  attachments(tenant: string): Promise<AttachedPolicies> {
    if (this.maxAgeMs === 0) return this.store.attachments(tenant);
    const now = this.clock.now().getTime();
    const cached = this.entries.get(tenant);
    if (cached !== undefined && now - cached.readAt < this.maxAgeMs) return cached.attached;
    const attached = this.store.attachments(tenant);
    const entry: Entry = { readAt: now, attached };
    this.entries.delete(tenant);
    this.entries.set(tenant, entry);
    for (const [oldest] of this.entries) {
      if (this.entries.size <= this.maxTenants) break;
      this.entries.delete(oldest);
    }
    attached.catch(() => {
      if (this.entries.get(tenant) === entry) this.entries.delete(tenant);
    });
    return attached;
  }

  /**
   * Forgets the tenant's attachments: the next check reads them again. A read still in flight
   * keeps serving only the checks that already joined it, which started before the change.
   */
  invalidate(tenant: string): void {
    this.entries.delete(tenant);
  }
}
