/**
 * The discovery engine when the storage refuses a credential's history entry after the
 * credential itself was stored (the commit point): the run keeps the change, reports each lost
 * entry through the same hook and log line as the credential API (field names only, never a
 * value), and counts the lost entries in the run's record and its `discovery.run.finished` event.
 * DynamoDB is dynalite behind the fault proxy; AWS is the fake AWS on loopback.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  type MockInstance,
  vi,
} from 'vitest';
import { AwsCloudSources } from '../../lambdas/adapters/aws/aws-cloud-sources.js';
import { DynamoDbCredentialStore } from '../../lambdas/adapters/aws/dynamodb-credential-store.js';
import { DynamoDbDiscoveryRunStore } from '../../lambdas/adapters/aws/dynamodb-discovery-run-store.js';
import { DynamoDbDiscoverySettingsStore } from '../../lambdas/adapters/aws/dynamodb-discovery-settings-store.js';
import type { AuditEvent } from '../../lambdas/core/audit/audit-event.js';
import { DiscoveryEngine } from '../../lambdas/core/discovery/engine.js';
import type { DomainEvent } from '../../lambdas/core/events.js';
import type { Clock } from '../../lambdas/core/ports.js';
import { logLostHistory } from '../../lambdas/platform/parts/inventory.js';
import { parseDomainEvent } from '../../lambdas/shared/events.js';
import { logger } from '../../lambdas/shared/observability.js';
import { localTableName } from '../../lambdas/shared/tables.js';
import {
  type DynaliteBehindProxy,
  LOCAL_REGION,
  startDynaliteBehindProxy,
} from '../support/dynalite-behind-proxy.js';
import type { DynamoFaultProxy } from '../support/dynamo-fault-proxy.js';
import { type FakeAccount, FakeAws } from '../support/fake-aws.js';

const REGION = LOCAL_REGION;
const ACCOUNT = '123456789012';
const TENANT = 'default';
const NOW = new Date('2026-03-10T12:00:00.000Z');
const DAY = 86_400_000;
const ago = (days: number): string =>
  new Date(NOW.getTime() - days * DAY).toISOString().replace('.000Z', 'Z');

/** Values a report must never carry: key ids and the user's name are inventory facts of the account. */
const USER = 'history-user';
const KEY_IDS = ['AKIAHISTORY00000001', 'AKIAHISTORY00000002'];

const account: FakeAccount = {
  users: [
    {
      name: USER,
      keys: [
        { id: KEY_IDS[0] ?? '', created: ago(200), lastUsed: ago(2) },
        { id: KEY_IDS[1] ?? '', created: ago(10) },
      ],
    },
  ],
  secrets: [],
  parameters: [],
};
const fake = new FakeAws({ [ACCOUNT]: account }, { ambientAccount: ACCOUNT });

let now = NOW;
const clock: Clock = { now: () => now };
const audited: AuditEvent[] = [];
const published: DomainEvent[] = [];

let storage: DynaliteBehindProxy;
let proxy: DynamoFaultProxy;
let throughProxy: DynamoDBDocumentClient;
let direct: DynamoDBDocumentClient;
/** Reads straight from dynalite, as another function would after the faults are gone. */
let reader: DynamoDbCredentialStore;
let runs: DynamoDbDiscoveryRunStore;
let engine: DiscoveryEngine;

beforeAll(async () => {
  await fake.start();
  Object.assign(process.env, fake.environment());
  storage = await startDynaliteBehindProxy(20261207);
  ({ proxy, throughProxy, direct } = storage);
  reader = new DynamoDbCredentialStore(direct, localTableName('credentials'));
  runs = new DynamoDbDiscoveryRunStore(direct, localTableName('credentials'));
  engine = new DiscoveryEngine(
    {
      credentials: new DynamoDbCredentialStore(throughProxy, localTableName('credentials')),
      runs: new DynamoDbDiscoveryRunStore(throughProxy, localTableName('credentials')),
      settings: new DynamoDbDiscoverySettingsStore(throughProxy, localTableName('settings')),
      cloud: new AwsCloudSources({
        region: REGION,
        defaultRegions: [REGION],
        ambientTenant: TENANT,
        iamRatePerSecond: 200,
        regionalRatePerSecond: 200,
        concurrency: 4,
      }),
      storedSecrets: undefined,
      audit: {
        record: async (event) => {
          audited.push(event);
        },
      },
      events: {
        // Checked against the shared definitions, as the container's validating publisher does.
        publish: async (batch) => {
          published.push(...batch.map((event) => parseDomainEvent(event)));
        },
      },
      clock,
    },
    // The production reporter, so the log line checked below is the one operators read.
    { ambientTenant: TENANT, onHistoryLost: logLostHistory },
  );
});

let logged: MockInstance<typeof logger.error>;

beforeEach(() => {
  audited.length = 0;
  published.length = 0;
  proxy.clear();
  logged = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  logged.mockRestore();
});

afterAll(async () => {
  await storage.close();
  await fake.close();
});

const deadline = () => new Date(Date.now() + 60_000);

/** Refuses every history PutItem (history items are the only ones whose key holds `#history#`). */
function refuseHistoryWrites(): void {
  proxy.inject([{ kind: 'InternalServerError', operations: ['PutItem'], marker: '#history#', rate: 1 }]);
}

function lostHistoryLogs() {
  return logged.mock.calls.filter(
    ([message]) => message === 'Credential history entry not recorded; the change stands',
  );
}

describe('discovery engine: a history entry refused after the commit', () => {
  it('keeps the discovered credentials, reports each lost entry with field names only, and ends the run partial', async () => {
    // Prepare
    now = NOW;
    refuseHistoryWrites();

    // Act
    const [run] = await engine.runScheduled(deadline());

    // Assess: the credentials are recorded as on any run, but the run is not a clean success:
    // their history is incomplete, and each loss is one of its errors, naming the credential.
    expect(run).toMatchObject({ tenant: TENANT, status: 'partial' });
    expect(run?.counts).toMatchObject({ seen: 2, created: 2, errors: 2, historyLost: 2 });
    const inventory = await reader.list(TENANT);
    expect(run?.errors).toHaveLength(2);
    for (const credential of inventory) {
      expect(run?.errors).toContainEqual({
        source: 'inventory',
        code: 'ServiceUnavailable',
        message: `Credential ${credential.id} was stored (discovered) without its history entry`,
      });
    }
    expect(inventory.map((credential) => credential.reference.keyId).sort()).toEqual(KEY_IDS);
    // The fault did meet the history writes: nothing is in either credential's history.
    const refused = proxy.requests().filter((request) => request.fault !== undefined);
    expect(refused).toHaveLength(2);
    for (const credential of inventory) expect(await reader.history(TENANT, credential.id, 10)).toEqual([]);

    // Assess: one report per lost entry, the credential API's log line, field names only.
    const reports = lostHistoryLogs();
    expect(reports).toHaveLength(2);
    const reportFields = reports.map(([, fields]) => fields);
    for (const credential of inventory) {
      // Exactly these keys: nothing else of the entry (its values) reaches the log.
      expect(reportFields).toContainEqual({
        tenant: TENANT,
        credentialId: credential.id,
        action: 'discovered',
        at: NOW.toISOString(),
        fields: expect.arrayContaining(['name', 'reference', 'createdAt', 'status']),
        error: 'DependencyUnavailableError: DynamoDB PutItem: InternalServerError',
      });
    }
    const reported = JSON.stringify(reports);
    for (const value of [...KEY_IDS, USER, ACCOUNT]) expect(reported).not.toContain(value);

    // Assess: the run's record, its audit event and its finished event show the count.
    const stored = await runs.get(TENANT, run?.id ?? '');
    expect(stored?.counts.historyLost).toBe(2);
    const runAudit = audited.find((event) => event.action === 'discovery.run');
    expect(runAudit?.reason).toContain('history entries lost 2');
    const finished = published.find((event) => event.type === 'discovery.run.finished');
    expect(finished?.detail).toMatchObject({ counts: { historyLost: 2 } });
  });

  it('counts no lost entry when the history writes go through', async () => {
    // Prepare: a day later the first key's last use moved on, so the run refreshes that credential.
    now = new Date(NOW.getTime() + DAY);
    const used = account.users[0]?.keys[0];
    if (used === undefined) throw new Error('The fake account lost its first key');
    Object.assign(used, {
      lastUsed: new Date(now.getTime() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });

    // Act
    const [run] = await engine.runScheduled(deadline());

    // Assess
    expect(run?.counts).toMatchObject({ updated: 1, historyLost: 0, errors: 0 });
    expect(lostHistoryLogs()).toEqual([]);
    const refreshed = (await reader.list(TENANT)).find(
      (credential) => credential.reference.keyId === KEY_IDS[0],
    );
    const history = await reader.history(TENANT, refreshed?.id ?? '', 10);
    expect(history.map((change) => change.action)).toEqual(['refreshed']);
  });
});
