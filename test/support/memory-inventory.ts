/**
 * In-memory ports of the credential inventory and the rotation policies, with the same
 * conditional-write rules as the DynamoDB adapters (a stale revision is a `ConflictError`), for
 * unit tests of the inventory use cases.
 */
import type { Credential } from '../../lambdas/core/credentials/credential.js';
import type { CredentialChange, CredentialStore } from '../../lambdas/core/credentials/credential-store.js';
import {
  countAll,
  type InventoryCounts,
  type InventoryPageSource,
  type InventoryPartition,
  orderKeyOf,
  orderOf,
  type PartitionChunk,
  partitionsOf,
} from '../../lambdas/core/credentials/inventory-pages.js';
import { ConflictError, NotFoundError } from '../../lambdas/core/errors.js';
import { parseRotationPolicy, type StoredRotationPolicy } from '../../lambdas/core/rotation/policy.js';
import type { RotationPolicyStore } from '../../lambdas/core/rotation/rotation-store.js';

/**
 * The name- and expiry-ordered partitions and counters of `InventoryPageSource` over whatever `credentials`
 * returns for a tenant, computed on each call (the DynamoDB store keeps them in indexes).
 */
export function memoryPageSource(
  credentials: (tenant: string) => Promise<Credential[]>,
): InventoryPageSource {
  return {
    async readPartition(tenant, partition: InventoryPartition, options): Promise<PartitionChunk> {
      const inPartition = (await credentials(tenant))
        .filter(
          (credential) =>
            partition.dimension === 'all' ||
            partitionsOf(credential).some(
              (candidate) =>
                candidate.dimension === partition.dimension && candidate.value === partition.value,
            ),
        )
        .map((credential) => ({ credential, key: orderKeyOf(orderOf(partition.dimension), credential) }))
        .filter(
          ({ key }) =>
            options.after === undefined || (options.descending ? key < options.after : key > options.after),
        )
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) * (options.descending ? -1 : 1));
      return {
        items: inPartition.slice(0, options.limit).map(({ credential }) => credential),
        exhausted: inPartition.length <= options.limit,
      };
    },
    async readCounts(tenant): Promise<InventoryCounts> {
      return countAll(await credentials(tenant));
    },
    async rebuildCounts(tenant): Promise<InventoryCounts> {
      return countAll(await credentials(tenant));
    },
  };
}

export class MemoryCredentialStore implements CredentialStore {
  private readonly pages = memoryPageSource((tenant) => this.list(tenant));
  readonly readPartition = this.pages.readPartition.bind(this.pages);
  readonly readCounts = this.pages.readCounts.bind(this.pages);
  readonly rebuildCounts = this.pages.rebuildCounts.bind(this.pages);
  readonly items = new Map<string, Credential>();
  readonly changes: CredentialChange[] = [];

  private key(tenant: string, id: string): string {
    return `${tenant}/${id}`;
  }

  async get(tenant: string, id: string): Promise<Credential | undefined> {
    return this.items.get(this.key(tenant, id));
  }

  async list(tenant: string): Promise<Credential[]> {
    return [...this.items.values()].filter((item) => item.tenant === tenant);
  }

  async create(item: Credential): Promise<void> {
    if (this.items.has(this.key(item.tenant, item.id))) throw new ConflictError('exists');
    this.items.set(this.key(item.tenant, item.id), item);
  }

  async replace(item: Credential, expected: number): Promise<void> {
    const current = this.items.get(this.key(item.tenant, item.id));
    if (current === undefined) throw new NotFoundError('missing');
    if (current.revision !== expected) throw new ConflictError('changed');
    this.items.set(this.key(item.tenant, item.id), item);
  }

  async delete(tenant: string, id: string): Promise<void> {
    this.items.delete(this.key(tenant, id));
  }

  async appendHistory(_tenant: string, _id: string, change: CredentialChange): Promise<void> {
    this.changes.push(change);
  }

  async history(): Promise<CredentialChange[]> {
    return [...this.changes].reverse();
  }

  async registerTenant(): Promise<void> {}

  async tenants(): Promise<string[]> {
    return [];
  }
}

export class MemoryPolicyStore implements RotationPolicyStore {
  readonly policies = new Map<string, StoredRotationPolicy>();

  /** Stores `settings` as policy `name` of `tenant` (validated like the API does). */
  add(tenant: string, name: string, settings: Record<string, unknown>): void {
    this.policies.set(`${tenant}/${name}`, {
      tenant,
      policy: parseRotationPolicy(name, settings),
      revision: 1,
      updatedAt: '2026-01-01T00:00:00.000Z',
    });
  }

  async get(tenant: string, name: string): Promise<StoredRotationPolicy | undefined> {
    return this.policies.get(`${tenant}/${name}`);
  }

  async list(tenant: string): Promise<StoredRotationPolicy[]> {
    return [...this.policies.values()].filter((stored) => stored.tenant === tenant);
  }

  async put(): Promise<StoredRotationPolicy> {
    throw new Error('not used by these tests');
  }

  async delete(): Promise<void> {
    throw new Error('not used by these tests');
  }
}
