/**
 * Writing the discovery settings: the tenant's registration (which the engine finds tenants by)
 * comes before the settings themselves, so a registration the storage refuses answers 503 with
 * the settings unchanged, and a stored write is never answered 503 for a step after it. On
 * dynalite behind the fault proxy, with the real credential and settings stores.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCredentialStore } from '../../lambdas/adapters/aws/dynamodb-credential-store.js';
import { DynamoDbDiscoveryRunStore } from '../../lambdas/adapters/aws/dynamodb-discovery-run-store.js';
import { DynamoDbDiscoverySettingsStore } from '../../lambdas/adapters/aws/dynamodb-discovery-settings-store.js';
import type { AuditEvent } from '../../lambdas/core/audit/audit-event.js';
import type { Caller } from '../../lambdas/core/audit/caller.js';
import { DiscoveryControl } from '../../lambdas/core/discovery/control.js';
import { DEFAULT_DISCOVERY_SETTINGS } from '../../lambdas/core/discovery/settings.js';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';
import { ensureTables, type LocalDynamo, startLocalDynamo } from '../../lambdas/local/dynamo.js';
import { localTableName, TABLE_LIST } from '../../lambdas/shared/tables.js';
import { DynamoFaultProxy } from '../support/dynamo-fault-proxy.js';

const REGION = 'us-east-1';
const CREDENTIALS = localTableName('credentials');
const SETTINGS = localTableName('settings');

let dynamo: LocalDynamo;
let proxy: DynamoFaultProxy;
let throughProxy: DynamoDBDocumentClient;
let direct: DynamoDBDocumentClient;
let tenantCount = 0;

function documentClient(endpoint: string, maxAttempts?: number): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint,
      region: REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      ...(maxAttempts === undefined ? {} : { maxAttempts }),
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
}

beforeAll(async () => {
  dynamo = await startLocalDynamo({ path: undefined, host: '127.0.0.1', port: 0 });
  await ensureTables(dynamo.endpoint, REGION, TABLE_LIST);
  proxy = await DynamoFaultProxy.start(dynamo.endpoint, 20261207);
  // One attempt per call: the SDK's own retries are not what this checks.
  throughProxy = documentClient(proxy.endpoint, 1);
  direct = documentClient(dynamo.endpoint);
});

afterEach(() => {
  proxy.clear();
  proxy.resetLog();
});

afterAll(async () => {
  throughProxy.destroy();
  direct.destroy();
  await proxy.close();
  await dynamo.close().catch((error: unknown) => {
    if (error !== null) throw error;
  });
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
