/**
 * The discovery engine end to end below the API: DynamoDB stores on dynalite (the real table
 * specs), the real AWS SDK clients against a fake AWS account of known contents, VaultPilot's own
 * secret store, a recording audit sink and event publisher. Checks what the issue asks of a run:
 * every credential and finding present, nothing duplicated across runs, `gone` after removal,
 * per-account failure isolated, each change audited before it is written, each run recorded.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsCloudSources } from '../../lambdas/adapters/aws/aws-cloud-sources.js';
import { DynamoDbCredentialStore } from '../../lambdas/adapters/aws/dynamodb-credential-store.js';
import { DynamoDbDiscoveryRunStore } from '../../lambdas/adapters/aws/dynamodb-discovery-run-store.js';
import { DynamoDbDiscoverySettingsStore } from '../../lambdas/adapters/aws/dynamodb-discovery-settings-store.js';
import { DynamoDbSecretStore } from '../../lambdas/adapters/aws/dynamodb-secret-store.js';
import { FileKeyring } from '../../lambdas/adapters/local/file-keyring.js';
import type { AuditEvent } from '../../lambdas/core/audit/audit-event.js';
import type { AuditSink } from '../../lambdas/core/audit/audit-sink.js';
import type { Credential } from '../../lambdas/core/credentials/credential.js';
import { DiscoveryEngine, newRun } from '../../lambdas/core/discovery/engine.js';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';
import type { DomainEvent, EventPublisher } from '../../lambdas/core/events.js';
import type { Clock } from '../../lambdas/core/ports.js';
import { DataKeyCache } from '../../lambdas/core/secrets/data-key-cache.js';
import { EnvelopeCipher } from '../../lambdas/core/secrets/envelope.js';
import { SecretsService } from '../../lambdas/core/secrets/kv-service.js';
import { ensureTables, type LocalDynamo, startLocalDynamo } from '../../lambdas/local/dynamo.js';
import { parseDomainEvent } from '../../lambdas/shared/events.js';
import { localTableName, TABLE_LIST } from '../../lambdas/shared/tables.js';
import { type FakeAccount, FakeAws } from '../support/fake-aws.js';

const AMBIENT = '123456789012';
const MEMBER = '210987654321';
const NOW = new Date('2026-03-10T12:00:00.000Z');
const DAY = 86_400_000;
const ago = (days: number): string =>
  new Date(NOW.getTime() - days * DAY).toISOString().replace('.000Z', 'Z');

function ambientAccount(): FakeAccount {
  return {
    rootKeys: 1,
    users: [
      {
        name: 'alice',
        keys: [
          { id: 'AKIAALICE0000000001', created: ago(200), lastUsed: ago(1) },
          { id: 'AKIAALICE0000000002', created: ago(10) },
        ],
      },
      { name: 'bob', keys: [{ id: 'AKIABOB000000000001', created: ago(30), lastUsed: ago(60) }] },
      {
        name: 'carol',
        keys: [{ id: 'AKIACAROL0000000001', created: ago(300), lastUsed: ago(100), status: 'Inactive' }],
      },
    ],
    secrets: [
      {
        name: 'prod/db',
        created: ago(400),
        rotationEnabled: true,
        lastRotated: ago(5),
        lastAccessed: ago(1),
        tags: { owner: 'team-data' },
      },
      { name: 'legacy/api', created: ago(400), lastAccessed: ago(120) },
    ],
    parameters: [
      { name: '/prod/token', lastModified: ago(100) },
      { name: '/prod/fresh', lastModified: ago(3), expires: new Date(NOW.getTime() + 3 * DAY).toISOString() },
    ],
  };
}

const model: Record<string, FakeAccount> = {
  [AMBIENT]: ambientAccount(),
  [MEMBER]: {
    users: [{ name: 'deployer', keys: [{ id: 'AKIADEPLOYER00000001', created: ago(5), lastUsed: ago(1) }] }],
    secrets: [],
    parameters: [],
  },
};
const fake = new FakeAws(model, {
  ambientAccount: AMBIENT,
  deniedRoles: [`arn:aws:iam::${MEMBER}:role/Denied`],
});

let dynamo: LocalDynamo;
let documents: DynamoDBDocumentClient;
let now = NOW;
const clock: Clock = { now: () => now };
const audited: AuditEvent[] = [];
const published: DomainEvent[] = [];
let auditDown = false;

const audit: AuditSink = {
  record: async (event) => {
    if (auditDown) throw new DependencyUnavailableError('The audit log is unavailable', 5);
    audited.push(event);
  },
};
const events: EventPublisher = {
  // Checked against the shared definitions, as the container's validating publisher does.
  publish: async (batch) => {
    published.push(...batch.map((event) => parseDomainEvent(event)));
  },
};

let credentials: DynamoDbCredentialStore;
let runs: DynamoDbDiscoveryRunStore;
let settings: DynamoDbDiscoverySettingsStore;
let secrets: SecretsService;
let engine: DiscoveryEngine;

beforeAll(async () => {
  await fake.start();
  Object.assign(process.env, fake.environment());
  dynamo = await startLocalDynamo({ path: undefined, host: '127.0.0.1', port: 0 });
  await ensureTables(dynamo.endpoint, 'us-east-1', TABLE_LIST);
  documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  credentials = new DynamoDbCredentialStore(documents, localTableName('credentials'));
  runs = new DynamoDbDiscoveryRunStore(documents, localTableName('credentials'));
  settings = new DynamoDbDiscoverySettingsStore(documents, localTableName('settings'));
  const secretStore = new DynamoDbSecretStore(documents, localTableName('secrets'));
  secrets = new SecretsService(secretStore, new EnvelopeCipher(new FileKeyring(), new DataKeyCache()), clock);
  engine = new DiscoveryEngine(
    {
      credentials,
      runs,
      settings,
      cloud: new AwsCloudSources({
        region: 'us-east-1',
        defaultRegions: ['eu-west-1'],
        ambientTenant: 'default',
        iamRatePerSecond: 200,
        regionalRatePerSecond: 200,
        concurrency: 4,
      }),
      storedSecrets: secretStore,
      audit,
      events,
      clock,
    },
    { ambientTenant: 'default' },
  );
});

beforeEach(() => {
  audited.length = 0;
  published.length = 0;
  auditDown = false;
});

afterAll(async () => {
  await fake.close();
  documents.destroy();
  await dynamo.close().catch((error: unknown) => {
    if (error !== null) throw error;
  });
});

const deadline = () => new Date(Date.now() + 60_000);
const byKey = (list: readonly Credential[], keyId: string) => list.find((c) => c.reference.keyId === keyId);
const ruleIds = (credential: Credential | undefined) =>
  credential?.findings.map((f) => f.ruleId).sort() ?? [];

describe('discovery engine', () => {
  it('finds every credential of the account and VaultPilot’s store, with their findings, on the first run', async () => {
    // Prepare: one stored secret written 100 days ago.
    now = new Date(NOW.getTime() - 100 * DAY);
    await secrets.write('user:admin', 'default', 'prod/payments/stripe', { key: 'sk_live_not_a_real_key' });
    now = NOW;

    // Act
    const [run] = await engine.runScheduled(deadline());

    // Assess
    expect(run).toMatchObject({
      tenant: 'default',
      trigger: 'schedule',
      status: 'succeeded',
      cloud: 'configured',
    });
    expect(run?.counts).toMatchObject({ seen: 10, created: 10, updated: 0, gone: 0, errors: 0 });
    const inventory = await credentials.list('default');
    expect(inventory).toHaveLength(10);
    expect(ruleIds(byKey(inventory, 'AKIAALICE0000000001'))).toEqual([
      'iam-access-key-too-old',
      'iam-user-two-active-keys',
    ]);
    expect(ruleIds(byKey(inventory, 'AKIAALICE0000000002'))).toEqual([
      'iam-access-key-never-used',
      'iam-user-two-active-keys',
    ]);
    expect(ruleIds(byKey(inventory, 'AKIABOB000000000001'))).toEqual(['iam-access-key-unused']);
    expect(byKey(inventory, 'AKIABOB000000000001')?.status).toBe('unused');
    expect(ruleIds(byKey(inventory, 'AKIACAROL0000000001'))).toEqual([]);
    const root = inventory.find((c) => c.facts.root === true);
    expect(root?.findings).toEqual([
      expect.objectContaining({ ruleId: 'iam-root-access-key', severity: 'critical' }),
    ]);
    const named = (name: string) => inventory.find((c) => c.name === name);
    expect(ruleIds(named('prod/db'))).toEqual([]);
    expect(named('prod/db')?.owner).toBe('team-data');
    expect(ruleIds(named('legacy/api'))).toEqual([
      'secretsmanager-not-rotated',
      'secretsmanager-rotation-disabled',
      'secretsmanager-unused',
    ]);
    expect(ruleIds(named('/prod/token'))).toEqual(['ssm-parameter-not-changed']);
    expect(ruleIds(named('/prod/fresh'))).toEqual(['credential-expiring-soon']);
    expect(named('prod/payments/stripe')).toMatchObject({ type: 'vault-secret', status: 'overdue' });
    expect(ruleIds(named('prod/payments/stripe'))).toEqual(['stored-secret-not-rotated']);

    // Every change audited, every new credential and finding published.
    expect(audited.filter((event) => event.action === 'credential.discover')).toHaveLength(10);
    const findingCount = inventory.reduce((sum, c) => sum + c.findings.length, 0);
    expect(audited.filter((event) => event.action === 'finding.opened')).toHaveLength(findingCount);
    expect(audited.find((event) => event.action === 'discovery.run')).toMatchObject({
      actor: { kind: 'system', id: 'discovery' },
      correlationId: run?.id,
    });
    expect(published.filter((event) => event.type === 'credential.discovered')).toHaveLength(10);
    expect(published.filter((event) => event.type === 'credential.finding.opened')).toHaveLength(
      findingCount,
    );
    expect(published.at(-1)).toMatchObject({
      type: 'discovery.run.finished',
      detail: { status: 'succeeded' },
    });
    // The stored value never reaches the inventory, the audit log or the bus.
    expect(JSON.stringify([inventory, audited, published])).not.toContain('sk_live_not_a_real_key');

    const stored = await runs.get('default', run?.id ?? '');
    expect(stored).toMatchObject({
      status: 'succeeded',
      startedAt: NOW.toISOString(),
      finishedAt: NOW.toISOString(),
    });
  });

  it('changes nothing and duplicates nothing when it runs again over the same account', async () => {
    now = new Date(NOW.getTime() + 3_600_000);
    const [run] = await engine.runScheduled(deadline());
    expect(run?.counts).toMatchObject({ seen: 10, created: 0, updated: 0, gone: 0, unchanged: 10 });
    expect(await credentials.list('default')).toHaveLength(10);
    expect(audited.map((event) => event.action)).toEqual(['discovery.run']);
    expect(published.map((event) => event.type)).toEqual(['discovery.run.finished']);
  });

  it('marks removed credentials gone, resolves their findings, and keeps them', async () => {
    // Prepare
    const account = model[AMBIENT] as FakeAccount;
    account.users = account.users.filter((user) => user.name !== 'bob');
    account.secrets = account.secrets.filter((secret) => secret.name !== 'legacy/api');
    now = new Date(NOW.getTime() + 2 * 3_600_000);

    // Act
    const [run] = await engine.runScheduled(deadline());

    // Assess
    expect(run?.counts).toMatchObject({ gone: 2, created: 0, findingsResolved: 4 });
    const inventory = await credentials.list('default');
    expect(inventory).toHaveLength(10);
    const bob = byKey(inventory, 'AKIABOB000000000001');
    expect(bob).toMatchObject({ status: 'gone', goneAt: now.toISOString(), findings: [] });
    expect(published.filter((event) => event.type === 'credential.gone')).toHaveLength(2);
    expect(audited.filter((event) => event.action === 'credential.gone')).toHaveLength(2);
    expect(audited.filter((event) => event.action === 'finding.resolved')).toHaveLength(4);
    const history = await credentials.history('default', bob?.id ?? '', 10);
    expect(history.map((change) => change.action)).toEqual(['gone', 'discovered']);
    expect(history[0]?.findingsResolved).toEqual(['iam-access-key-unused']);
  });

  it('scans every configured account; one it cannot reach fails alone and nothing of it is judged', async () => {
    // Prepare
    await settings.put(
      'default',
      {
        accounts: [
          {
            roleArn: `arn:aws:iam::${MEMBER}:role/VaultPilotDiscoveryReadOnly`,
            externalId: 'ext-1',
            name: 'member',
          },
          { roleArn: `arn:aws:iam::${MEMBER}:role/Denied`, externalId: 'ext-1', name: 'denied' },
        ],
        thresholds: {},
        disabledRules: [],
      },
      { now: NOW.toISOString() },
    );
    now = new Date(NOW.getTime() + 3 * 3_600_000);

    // Act
    const [run] = await engine.runScheduled(deadline());

    // Assess
    expect(run?.status).toBe('partial');
    expect(run?.sources.map((source) => [source.label.split(' ')[0], source.status])).toEqual([
      ['ambient', 'succeeded'],
      ['member', 'succeeded'],
      ['denied', 'failed'],
      ['VaultPilot', 'succeeded'],
    ]);
    expect(run?.errors).toEqual([expect.objectContaining({ code: 'AccessDenied', operation: 'AssumeRole' })]);
    const inventory = await credentials.list('default');
    expect(byKey(inventory, 'AKIADEPLOYER00000001')).toMatchObject({
      reference: { account: MEMBER },
      status: 'healthy',
    });
    expect(inventory.filter((c) => c.status === 'gone')).toHaveLength(2);
  });

  it('does not mark anything gone in a service that denied the listing', async () => {
    (model[AMBIENT] as FakeAccount).denied = ['ssm'];
    now = new Date(NOW.getTime() + 4 * 3_600_000);
    const [run] = await engine.runScheduled(deadline());
    expect(run?.status).toBe('partial');
    const parameters = (await credentials.list('default')).filter((c) => c.type === 'ssm-parameter');
    expect(parameters.map((c) => c.status).sort()).toEqual(['expiring', 'overdue']);
    (model[AMBIENT] as FakeAccount).denied = [];
  });

  it('brings a credential back when it reappears', async () => {
    (model[AMBIENT] as FakeAccount).users.push({
      name: 'bob',
      keys: [{ id: 'AKIABOB000000000001', created: ago(30), lastUsed: ago(1) }],
    });
    now = new Date(NOW.getTime() + 5 * 3_600_000);
    const [run] = await engine.runScheduled(deadline());
    expect(run?.counts.returned).toBe(1);
    const bob = byKey(await credentials.list('default'), 'AKIABOB000000000001');
    expect(bob).toMatchObject({ status: 'healthy', goneAt: undefined });
  });

  it('writes nothing it could not audit (fail closed), and says so in the run', async () => {
    (model[AMBIENT] as FakeAccount).users.push({
      name: 'dave',
      keys: [{ id: 'AKIADAVE00000000001', created: ago(1) }],
    });
    auditDown = true;
    now = new Date(NOW.getTime() + 6 * 3_600_000);
    const [run] = await engine.runScheduled(deadline());
    expect(run?.status).toBe('partial');
    expect(run?.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ source: 'inventory', code: 'ServiceUnavailable' })]),
    );
    expect(byKey(await credentials.list('default'), 'AKIADAVE00000000001')).toBeUndefined();

    auditDown = false;
    now = new Date(NOW.getTime() + 7 * 3_600_000);
    await engine.runScheduled(deadline());
    expect(byKey(await credentials.list('default'), 'AKIADAVE00000000001')).toBeDefined();
  });

  it('runs a requested run once, however often its request is delivered', async () => {
    const queued = newRun('acme', 'request', 'user:alice', now);
    await runs.create(queued);
    const [first, second] = await Promise.all([
      engine.runRequested('acme', queued.id, deadline()),
      engine.runRequested('acme', queued.id, deadline()),
    ]);
    const finished = [first, second].filter((run) => run?.finishedAt !== undefined);
    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({
      status: 'succeeded',
      cloud: 'not-configured',
      notice: expect.stringMatching(/^No cloud source is configured/) as unknown,
    });
    expect(await engine.runRequested('acme', queued.id, deadline())).toMatchObject({ status: 'succeeded' });
    expect(await engine.runRequested('acme', '20260101T000000000Z-00000000', deadline())).toBeUndefined();
  });

  it('runs one run of a tenant at a time: a run that finds another going waits, then starts after it', async () => {
    // Prepare: 30 stored secrets new to the inventory, and two runs of the tenant asked for at once.
    for (let index = 0; index < 30; index += 1) {
      await secrets.write('user:admin', 'zeta', `apps/service-${index}`, { token: `value-${index}` });
    }
    const first = newRun('zeta', 'request', 'user:alice', now);
    const second = newRun('zeta', 'request', 'user:bob', new Date(now.getTime() + 1));
    await runs.create(first);
    await runs.create(second);
    published.length = 0;

    // Act: both requests delivered at the same time.
    const outcomes = await Promise.all([
      engine.runRequested('zeta', first.id, deadline()),
      engine.runRequested('zeta', second.id, deadline()),
    ]);

    // Assess: one ran alone, without a refused write; the other is still queued and asked for again.
    const ran = outcomes.filter((run) => run?.finishedAt !== undefined);
    expect(ran).toHaveLength(1);
    expect(ran[0]).toMatchObject({ status: 'succeeded', counts: { created: 30, errors: 0 } });
    const waiting = outcomes.find((run) => run?.finishedAt === undefined);
    expect(waiting?.status).toBe('queued');
    expect(published.filter((event) => event.type === 'discovery.run.requested')).toEqual([
      expect.objectContaining({ tenant: 'zeta', detail: { runId: waiting?.id } }),
    ]);

    // Act: that request delivered.
    const after = await engine.runRequested('zeta', waiting?.id ?? '', deadline());

    // Assess
    expect(after).toMatchObject({ status: 'succeeded', counts: { created: 0, unchanged: 30, errors: 0 } });
    expect(await credentials.list('zeta')).toHaveLength(30);
  });

  it('does not wait for a run whose hold on the tenant ran out (its function crashed)', async () => {
    // Prepare: a run that took the tenant's lease for a minute, started, and never ended.
    const crashed = newRun('zeta', 'request', 'user:alice', now);
    await runs.create(crashed);
    expect(await runs.claim('zeta', crashed.id, new Date(now.getTime() + 60_000), now)).toEqual({
      taken: true,
    });
    const deadlineAt = new Date(now.getTime() + 600_000).toISOString();
    await runs.update({ ...crashed, status: 'running', deadlineAt, revision: 2 }, 1);
    const queued = newRun('zeta', 'request', 'user:bob', now);
    await runs.create(queued);

    // Act + Assess: it waits while the lease lasts, and runs once it has run out.
    expect(await engine.runRequested('zeta', queued.id, deadline())).toMatchObject({ status: 'queued' });
    now = new Date(now.getTime() + 61_000);
    expect(await engine.runRequested('zeta', queued.id, deadline())).toMatchObject({
      status: 'succeeded',
      counts: { errors: 0 },
    });
  });

  it('takes over the lease of a run that ended without giving it back', async () => {
    // Prepare: a run that holds the lease for ten minutes more, although it has finished.
    const ended = newRun('zeta', 'request', 'user:alice', now);
    await runs.create(ended);
    expect(await runs.claim('zeta', ended.id, new Date(now.getTime() + 600_000), now)).toEqual({
      taken: true,
    });
    await runs.update({ ...ended, status: 'succeeded', finishedAt: now.toISOString(), revision: 2 }, 1);
    const queued = newRun('zeta', 'request', 'user:bob', now);
    await runs.create(queued);

    // Act
    const run = await engine.runRequested('zeta', queued.id, deadline());

    // Assess
    expect(run).toMatchObject({ status: 'succeeded', counts: { errors: 0 } });
    expect(await runs.claim('zeta', 'someone-else', new Date(now.getTime() + 60_000), now)).toEqual({
      taken: true,
    });
  });
});
