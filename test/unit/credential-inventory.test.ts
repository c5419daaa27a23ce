/**
 * The inventory use cases with in-memory ports: authorization by role and scope, fail-closed
 * auditing (denied and failed attempts too), findings audited and published on registration, a
 * bus that is down not failing a stored change, and the API contracts agreeing with the domain.
 */
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../lambdas/core/audit/audit-event.js';
import type { Caller } from '../../lambdas/core/audit/caller.js';
import {
  type Credential,
  CREDENTIAL_STATUSES,
  CREDENTIAL_TYPES,
} from '../../lambdas/core/credentials/credential.js';
import { normalizeInstant } from '../../lambdas/core/credentials/credential-input.js';
import type { CredentialChange, CredentialStore } from '../../lambdas/core/credentials/credential-store.js';
import { SEVERITIES } from '../../lambdas/core/credentials/findings.js';
import type { LostHistoryEntry } from '../../lambdas/core/credentials/credential-history.js';
import { CredentialInventory } from '../../lambdas/core/credentials/inventory.js';
import {
  DEFAULT_DISCOVERY_SETTINGS,
  type DiscoverySettingsStore,
  parseDiscoverySettings,
} from '../../lambdas/core/discovery/settings.js';
import {
  ConflictError,
  DependencyUnavailableError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from '../../lambdas/core/errors.js';
import type { DomainEvent } from '../../lambdas/core/events.js';
import type { Principal, Role } from '../../lambdas/core/principal.js';
import {
  CREDENTIAL_STATUS_VALUES,
  CREDENTIAL_TYPE_VALUES,
  SEVERITY_VALUES,
} from '../../lambdas/shared/contracts/credentials.js';
import { NOW } from '../support/credentials.js';
import { memoryPageSource } from '../support/memory-inventory.js';

class MemoryStore implements CredentialStore {
  readonly items = new Map<string, Credential>();
  private readonly pages = memoryPageSource((tenant) => this.list(tenant));
  readonly readPartition = this.pages.readPartition.bind(this.pages);
  readonly readCounts = this.pages.readCounts.bind(this.pages);
  readonly rebuildCounts = this.pages.rebuildCounts.bind(this.pages);
  readonly changes: CredentialChange[] = [];
  /** What `appendHistory` throws, when set: the store refusing the write after the commit point. */
  historyFault: Error | undefined;
  key = (tenant: string, id: string) => `${tenant}/${id}`;
  async get(tenant: string, id: string) {
    return this.items.get(this.key(tenant, id));
  }
  async list(tenant: string) {
    return [...this.items.values()].filter((c) => c.tenant === tenant);
  }
  async create(c: Credential) {
    if (this.items.has(this.key(c.tenant, c.id))) throw new ConflictError('exists');
    this.items.set(this.key(c.tenant, c.id), c);
  }
  async replace(c: Credential, expected: number) {
    const current = this.items.get(this.key(c.tenant, c.id));
    if (current === undefined) throw new NotFoundError('missing');
    if (current.revision !== expected) throw new ConflictError('changed');
    this.items.set(this.key(c.tenant, c.id), c);
  }
  async delete(tenant: string, id: string) {
    this.items.delete(this.key(tenant, id));
  }
  async appendHistory(_tenant: string, _id: string, change: CredentialChange) {
    if (this.historyFault !== undefined) throw this.historyFault;
    this.changes.push(change);
  }
  async history() {
    return [...this.changes].reverse();
  }
  async registerTenant() {}
  async tenants() {
    return [];
  }
}

const settings: DiscoverySettingsStore = {
  get: async () => DEFAULT_DISCOVERY_SETTINGS,
  put: async () => DEFAULT_DISCOVERY_SETTINGS,
};

function setup(options: { auditDown?: boolean; busDown?: boolean } = {}) {
  const store = new MemoryStore();
  const audited: AuditEvent[] = [];
  const published: DomainEvent[] = [];
  const lost: DomainEvent[] = [];
  const lostHistory: LostHistoryEntry[] = [];
  const inventory = new CredentialInventory(
    store,
    settings,
    {
      record: async (event) => {
        if (options.auditDown === true) throw new DependencyUnavailableError('audit down', 5);
        audited.push(event);
      },
    },
    {
      publish: async (events) => {
        if (options.busDown === true) throw new DependencyUnavailableError('bus down', 5);
        published.push(...events);
      },
    },
    { now: () => NOW },
    {
      onEventsFailed: (_error, events) => lost.push(...events),
      onHistoryLost: (_error, entry) => lostHistory.push(entry),
    },
  );
  return { store, audited, published, lost, lostHistory, inventory };
}

function caller(
  roles: Role[] = ['operator'],
  kind: 'user' | 'machine' = 'user',
  scopes: string[] = [],
): Caller {
  const principal: Principal =
    kind === 'user'
      ? { kind, subject: 'sub-1', username: 'olga', tenant: 'acme', roles, scopes, clientId: 'dashboard' }
      : { kind, subject: 'client-1', tenant: 'acme', roles: [], scopes, clientId: 'client-1' };
  return { principal, requestId: 'req-1' };
}

const expired = { type: 'api-token', name: 'vendor token', expiresAt: '2020-01-01' };

describe('CredentialInventory', () => {
  it('registers, audits the call and each opened finding, and publishes the findings', async () => {
    const { inventory, audited, published, store } = setup();
    const created = await inventory.register(caller(), expired);
    expect(created).toMatchObject({ source: 'managed', status: 'overdue', tenant: 'acme', revision: 1 });
    expect(audited.map((event) => [event.action, event.outcome, event.target])).toEqual([
      ['credential.register', 'attempted', {}],
      ['credential.register', 'allowed', { credentialId: created.id }],
      ['finding.opened', 'allowed', { credentialId: created.id }],
    ]);
    expect(audited[2]?.reason).toBe('credential-expired (critical)');
    expect(published).toEqual([
      expect.objectContaining({
        type: 'credential.finding.opened',
        tenant: 'acme',
        detail: expect.objectContaining({
          credentialId: created.id,
          ruleId: 'credential-expired',
        }) as unknown,
      }),
    ]);
    expect(store.changes[0]).toMatchObject({
      action: 'registered',
      actor: { kind: 'user', id: 'user:olga' },
    });
  });

  it('refuses viewers and read-only machine clients, and audits the refusal', async () => {
    const { inventory, audited } = setup();
    await expect(inventory.register(caller(['viewer', 'auditor']), expired)).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    await expect(
      inventory.register(caller([], 'machine', ['vaultpilot/read']), expired),
    ).rejects.toBeInstanceOf(ForbiddenError);
    expect(audited.map((event) => event.outcome)).toEqual(['denied', 'denied']);
    await expect(inventory.list(caller([], 'machine', ['vaultpilot/read']), {})).resolves.toMatchObject({
      total: 0,
    });
    await expect(
      inventory.register(caller([], 'machine', ['vaultpilot/write']), expired),
    ).resolves.toBeDefined();
  });

  it('fails the call with 503 when the audit log cannot be written', async () => {
    const { inventory } = setup({ auditDown: true });
    await expect(inventory.list(caller(), {})).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(inventory.register(caller(), expired)).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('keeps a stored and audited change when the bus is down, and reports the lost events', async () => {
    const { inventory, lost } = setup({ busDown: true });
    await expect(inventory.register(caller(), expired)).resolves.toMatchObject({ status: 'overdue' });
    expect(lost.map((event) => event.type)).toEqual(['credential.finding.opened']);
  });

  it('answers a registration as done when its history entry is refused after the commit, and reports the lost entry', async () => {
    // Prepare
    const { inventory, store, audited, lostHistory } = setup();
    store.historyFault = new DependencyUnavailableError('The credential inventory is unavailable', 1);

    // Act
    const created = await inventory.register(caller(), expired);

    // Assess
    expect(await store.get('acme', created.id)).toEqual(created);
    expect(store.changes).toEqual([]);
    expect(lostHistory).toEqual([
      {
        tenant: 'acme',
        credentialId: created.id,
        action: 'registered',
        at: NOW.toISOString(),
        fields: expect.arrayContaining(['name', 'expiresAt', 'status']),
      },
    ]);
    expect(audited.slice(0, 2).map((event) => [event.action, event.outcome])).toEqual([
      ['credential.register', 'attempted'],
      ['credential.register', 'allowed'],
    ]);
  });

  it('answers an update and a recorded rotation as done when their history entries are refused', async () => {
    // Prepare
    const { inventory, store, lostHistory } = setup();
    const created = await inventory.register(caller(), { ...expired, expiresAt: '2031-01-01' });
    store.historyFault = new DependencyUnavailableError('The credential inventory is unavailable', 1);

    // Act
    const updated = await inventory.update(caller(), created.id, { owner: 'team-b', revision: 1 });
    await inventory.recordRotation('acme', created.id, { rotationState: 'rotating', dueAt: null });

    // Assess
    expect(updated).toMatchObject({ owner: 'team-b', revision: 2 });
    expect(await store.get('acme', created.id)).toMatchObject({
      owner: 'team-b',
      rotationState: 'rotating',
      revision: 3,
    });
    expect(store.changes.map((change) => change.action)).toEqual(['registered']);
    expect(lostHistory.map((entry) => [entry.action, entry.fields])).toEqual([
      ['updated', ['owner']],
      ['rotated', ['rotationState', 'status']],
    ]);
  });

  it('lets an error other than an unavailable store (a bug) fail the call', async () => {
    // Prepare
    const { inventory, store, lostHistory } = setup();
    store.historyFault = new TypeError('history entry is not an object');

    // Act
    const registering = inventory.register(caller(), expired);

    // Assess
    await expect(registering).rejects.toBeInstanceOf(TypeError);
    expect(lostHistory).toEqual([]);
  });

  it('audits failed attempts with their error code', async () => {
    const { inventory, audited } = setup();
    await expect(inventory.register(caller(), { type: 'api-token' })).rejects.toBeInstanceOf(ValidationError);
    await expect(inventory.get(caller(), 'cr_0123456789abcdef01234567')).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(audited.map((event) => [event.action, event.outcome, event.reason])).toEqual([
      ['credential.register', 'attempted', undefined],
      ['credential.register', 'failed', 'ValidationError'],
      ['credential.read', 'failed', 'NotFound'],
    ]);
  });
});

describe('inputs and contracts', () => {
  it('accepts any real date, in any year, and refuses dates that do not exist', () => {
    expect(normalizeInstant('2027-01-31')).toBe('2027-01-31T00:00:00.000Z');
    expect(normalizeInstant('2199-12-31T23:59:59+02:00')).toBe('2199-12-31T21:59:59.000Z');
    expect(normalizeInstant('9999-12-31')).toBe('9999-12-31T00:00:00.000Z');
    expect(normalizeInstant('2028-02-29')).toBe('2028-02-29T00:00:00.000Z');
    for (const bad of ['2027-02-29', '2027-13-01', '2027-01-31T12:00:00', 'tomorrow', '']) {
      expect(normalizeInstant(bad), bad).toBeUndefined();
    }
  });

  it('validates discovery settings, naming the field', () => {
    expect(() => parseDiscoverySettings({ accounts: [{ roleArn: 'arn:aws:iam::123:role/x' }] })).toThrow(
      ValidationError,
    );
    expect(() => parseDiscoverySettings({ thresholds: { expiryWarningDays: 90 } })).toThrow(ValidationError);
    expect(() => parseDiscoverySettings({ disabledRules: ['no-such-rule'] })).toThrow(ValidationError);
    const role = {
      roleArn: 'arn:aws:iam::111122223333:role/VaultPilotDiscoveryReadOnly',
      externalId: 'tenant-1',
    };
    expect(() => parseDiscoverySettings({ accounts: [role, role] })).toThrow(ValidationError);
    expect(parseDiscoverySettings({ accounts: [role], regions: ['eu-west-1'] })).toMatchObject({
      accounts: [role],
    });
  });

  it('lists the same types, statuses and severities in the API contracts as in the domain', () => {
    expect([...CREDENTIAL_TYPE_VALUES]).toEqual([...CREDENTIAL_TYPES]);
    expect([...CREDENTIAL_STATUS_VALUES]).toEqual([...CREDENTIAL_STATUSES]);
    expect([...SEVERITY_VALUES]).toEqual([...SEVERITIES]);
  });
});
