/**
 * Writing the discovery settings: the tenant's registration (which the engine finds tenants by)
 * comes before the settings themselves, so a registration the storage refuses answers 503 with
 * the settings unchanged, and a stored write is never answered 503 for a step after it. On
 * dynalite behind the fault proxy, with the real credential and settings stores.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCredentialStore } from '../../lambdas/adapters/aws/dynamodb-credential-store.js';
import { DynamoDbDiscoveryRunStore } from '../../lambdas/adapters/aws/dynamodb-discovery-run-store.js';
import { DynamoDbDiscoverySettingsStore } from '../../lambdas/adapters/aws/dynamodb-discovery-settings-store.js';
import type { AuditEvent } from '../../lambdas/core/audit/audit-event.js';
import type { Caller } from '../../lambdas/core/audit/caller.js';
import { DiscoveryControl } from '../../lambdas/core/discovery/control.js';
import { DEFAULT_DISCOVERY_SETTINGS } from '../../lambdas/core/discovery/settings.js';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';
import { localTableName } from '../../lambdas/shared/tables.js';
import { type DynaliteBehindProxy, startDynaliteBehindProxy } from '../support/dynalite-behind-proxy.js';
import type { DynamoFaultProxy } from '../support/dynamo-fault-proxy.js';

const CREDENTIALS = localTableName('credentials');
const SETTINGS = localTableName('settings');

let storage: DynaliteBehindProxy;
let proxy: DynamoFaultProxy;
let throughProxy: DynamoDBDocumentClient;
let direct: DynamoDBDocumentClient;
let tenantCount = 0;

beforeAll(async () => {
  storage = await startDynaliteBehindProxy(20261207);
  ({ proxy, throughProxy, direct } = storage);
});

afterEach(() => {
  proxy.clear();
  proxy.resetLog();
});

afterAll(async () => {
  await storage.close();
});

function setup() {
  tenantCount += 1;
  const tenant = `settings${tenantCount}x${Date.now().toString(36)}`;
  const admin: Caller = {
    principal: {
      kind: 'user',
      subject: 'sub-1',
      username: 'ada',
      tenant,
      roles: ['admin'],
      scopes: [],
      clientId: 'dashboard',
    },
    requestId: 'req-1',
  };
  const audited: AuditEvent[] = [];
  const discovery = new DiscoveryControl(
    new DynamoDbDiscoveryRunStore(throughProxy, CREDENTIALS),
    new DynamoDbDiscoverySettingsStore(throughProxy, SETTINGS),
    new DynamoDbCredentialStore(throughProxy, CREDENTIALS),
    { record: async (event: AuditEvent) => void audited.push(event) },
    { publish: async () => undefined },
    { now: () => new Date('2026-12-06T12:00:00Z') },
  );
  // Straight to dynalite, as another function would read after the faults are gone.
  const settings = new DynamoDbDiscoverySettingsStore(direct, SETTINGS);
  const credentials = new DynamoDbCredentialStore(direct, CREDENTIALS);
  /** The tables this tenant's writes went to, in order (reads left out). */
  const writes = (): (string | undefined)[] =>
    proxy
      .requests()
      .filter((request) => request.operation === 'PutItem' && request.body.includes(tenant))
      .map((request) => request.table);
  return { tenant, admin, discovery, settings, credentials, writes };
}

describe('writing the discovery settings', () => {
  it('registers the tenant before it stores the settings', async () => {
    // Prepare
    const { tenant, admin, discovery, settings, credentials, writes } = setup();

    // Act
    const written = await discovery.putSettings(admin, { disabledRules: [] });

    // Assess
    expect(writes()).toEqual([CREDENTIALS, SETTINGS]);
    expect(written.revision).toBe(1);
    expect((await settings.get(tenant)).revision).toBe(1);
    expect(await credentials.tenants()).toContain(tenant);
  });

  it('answers 503 with the settings unchanged when the registration is refused', async () => {
    // Prepare
    const { tenant, admin, discovery, settings, credentials, writes } = setup();
    proxy.inject([
      {
        kind: 'ProvisionedThroughputExceededException',
        tables: [CREDENTIALS],
        operations: ['PutItem'],
        rate: 1,
        marker: tenant,
      },
    ]);

    // Act
    const written = discovery.putSettings(admin, { disabledRules: [] });

    // Assess
    await expect(written).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(writes()).toEqual([CREDENTIALS]);
    expect(await settings.get(tenant)).toEqual(DEFAULT_DISCOVERY_SETTINGS);
    expect(await credentials.tenants()).not.toContain(tenant);
  });
});
