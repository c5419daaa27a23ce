/**
 * The inventory and discovery through the REST API of the local runtime, as a user sees them: a
 * fake AWS account of known contents behind the standard endpoint variables (the machine's
 * ambient credentials are tenant `default`'s first account), a member account reached through a
 * role, one role that cannot be assumed, and a tenant with no cloud source at all.
 */
import { type ApiAnswer, apiCall, signInLocal, startInMemoryRuntime } from '../support/local-api.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { type FakeAccount, FakeAws } from '../support/fake-aws.js';

const PASSWORD = 'integration-password-123';
const AMBIENT = '123456789012';
const MEMBER = '210987654321';
const DAY = 86_400_000;
const ago = (days: number): string =>
  new Date(Date.now() - days * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');

const model: Record<string, FakeAccount> = {
  [AMBIENT]: {
    rootKeys: 1,
    users: [
      { name: 'alice', keys: [{ id: 'AKIAALICE0000000001', created: ago(120), lastUsed: ago(1) }] },
      { name: 'bob', keys: [{ id: 'AKIABOB000000000001', created: ago(20) }] },
      { name: 'carol', keys: [] },
    ],
    secrets: [
      { name: 'prod/db', created: ago(30), rotationEnabled: true, lastRotated: ago(2), lastAccessed: ago(1) },
      { name: 'prod/legacy', created: ago(300), lastAccessed: ago(200) },
      { name: 'prod/queue', created: ago(10), rotationEnabled: true, lastAccessed: ago(1) },
    ],
    parameters: [{ name: '/prod/api-token', lastModified: ago(95) }],
  },
  [MEMBER]: {
    users: [
      { name: 'deployer', keys: [{ id: 'AKIADEPLOYER00000001', created: ago(400), lastUsed: ago(50) }] },
    ],
    secrets: [],
    parameters: [],
  },
};
const fake = new FakeAws(model, {
  ambientAccount: AMBIENT,
  deniedRoles: [`arn:aws:iam::${MEMBER}:role/Denied`],
});

let runtime: LocalRuntime;
const tokens: Record<string, string> = {};

type Answer = ApiAnswer;

/** A credential as the API answers it (the fields these tests read). */
interface CredentialJson {
  id: string;
  name: string;
  type: string;
  status: string;
  goneAt?: string;
  reference: { keyId?: string; account?: string };
  findings: { ruleId: string; severity: string; title: string; remediation: string }[];
}

/** A discovery run as the API answers it. */
interface RunJson {
  id: string;
  status: string;
  startedAt?: string;
  finishedAt?: string;
  cloud?: string;
  notice?: string;
  counts: Record<string, number>;
  sources: { label: string; status: string }[];
  errors: { code: string; operation?: string }[];
}

function call(who: string, method: string, path: string, body?: unknown): Promise<Answer> {
  return apiCall(runtime.url, tokens[who], method, path, body);
}

function signIn(username: string): Promise<string> {
  return signInLocal(runtime.url, username, PASSWORD);
}

/** Starts a run and waits for its end; returns the run. */
async function discover(who: string): Promise<RunJson> {
  const started = await call(who, 'POST', '/discovery/runs');
  expect(started.status).toBe(202);
  const id = started.json.data.id as string;
  expect(started.json.data.runId).toBe(id);
  expect(started.headers.get('location')).toBe(`/discovery/runs/${id}`);
  return ended(who, id);
}

/** Waits for run `id` to end (neither queued nor running); returns the run. */
async function ended(who: string, id: string): Promise<RunJson> {
  for (let attempt = 0; attempt < 400; attempt += 1) {
    const run = await call(who, 'GET', `/discovery/runs/${id}`);
    expect(run.status).toBe(200);
    if (!['queued', 'running'].includes(run.json.data.status as string)) return run.json.data as RunJson;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`run ${id} did not finish`);
}

/** The first element, which the test needs to exist. */
function first<T>(items: readonly T[]): T {
  const [item] = items;
  if (item === undefined) throw new Error('expected at least one item');
  return item;
}

async function inventory(who: string, query = ''): Promise<CredentialJson[]> {
  const answer = await call(who, 'GET', `/credentials${query}`);
  expect(answer.status).toBe(200);
  return answer.json.data.credentials as CredentialJson[];
}

beforeAll(async () => {
  await fake.start();
  Object.assign(process.env, fake.environment());
  runtime = await startInMemoryRuntime({ adminPassword: PASSWORD, logLevel: 'SILENT' });
  const users = [
    { username: 'olga', tenant: 'default', groups: ['operator'] },
    { username: 'vera', tenant: 'default', groups: ['viewer'] },
    { username: 'audrey', tenant: 'default', groups: ['auditor'] },
    { username: 'ann', tenant: 'acme', groups: ['admin'] },
  ] as const;
  for (const user of users)
    await runtime.identity.addUser({ ...user, groups: [...user.groups], password: PASSWORD });
  for (const name of ['admin', ...users.map((user) => user.username)]) tokens[name] = await signIn(name);
});

afterAll(async () => {
  await runtime.stop();
  await fake.close();
});

describe('discovery through the API', () => {
  it('finds every credential of the account with its findings, and records the run', async () => {
    // Act
    const run = await discover('admin');

    // Assess
    expect(run).toMatchObject({
      status: 'succeeded',
      trigger: 'request',
      cloud: 'configured',
      requestedBy: 'user:admin',
    });
    expect(run.counts).toMatchObject({ seen: 7, created: 7, errors: 0 });
    const keys = await inventory('vera', '?type=aws-iam-access-key&sort=name');
    expect(keys.map((c) => c.reference.keyId ?? 'root')).toEqual([
      'AKIAALICE0000000001',
      'AKIABOB000000000001',
      'root',
    ]);
    const byName = Object.fromEntries((await inventory('vera')).map((c) => [c.name, c]));
    const rules = (name: string) =>
      (byName[name]?.findings as { ruleId: string }[]).map((f) => f.ruleId).sort();
    expect(rules('AKIAALICE0000000001 (alice)')).toEqual(['iam-access-key-too-old']);
    expect(rules('AKIABOB000000000001 (bob)')).toEqual(['iam-access-key-never-used']);
    expect(rules(`root user access key (account ${AMBIENT})`)).toEqual(['iam-root-access-key']);
    expect(rules('prod/db')).toEqual([]);
    expect(rules('prod/legacy')).toEqual([
      'secretsmanager-not-rotated',
      'secretsmanager-rotation-disabled',
      'secretsmanager-unused',
    ]);
    expect(rules('/prod/api-token')).toEqual(['ssm-parameter-not-changed']);
    expect(byName['prod/legacy']?.findings[0]).toMatchObject({
      severity: expect.any(String) as unknown,
      title: expect.any(String) as unknown,
      remediation: expect.any(String) as unknown,
    });
  });

  it('filters by finding, severity and status, and lists each credential once', async () => {
    expect((await inventory('vera', '?finding=iam-root-access-key')).map((c) => c.type)).toEqual([
      'aws-iam-access-key',
    ]);
    expect((await inventory('vera', '?severity=critical')).length).toBe(1);
    expect((await inventory('vera', '?status=overdue')).map((c) => c.name).sort()).toEqual([
      '/prod/api-token',
      'AKIAALICE0000000001 (alice)',
      'prod/legacy',
    ]);
    const all = await inventory('vera', '?limit=500');
    expect(new Set(all.map((c) => c.id)).size).toBe(all.length);
  });

  it('duplicates nothing on a second run and marks what was removed gone', async () => {
    // Prepare
    const account = model[AMBIENT] as FakeAccount;
    account.users = account.users.filter((user) => user.name !== 'bob');
    account.secrets = account.secrets.filter((secret) => secret.name !== 'prod/queue');

    // Act
    const run = await discover('olga');

    // Assess
    expect(run.counts).toMatchObject({ created: 0, gone: 2 });
    const all = await inventory('vera', '?limit=500');
    expect(all).toHaveLength(7);
    const gone = await inventory('vera', '?status=gone');
    expect(gone.map((c) => c.name).sort()).toEqual(['AKIABOB000000000001 (bob)', 'prod/queue']);
    expect(gone.every((c) => c.findings.length === 0 && typeof c.goneAt === 'string')).toBe(true);
  });

  it('scans configured member accounts; a role it cannot assume fails alone', async () => {
    // Prepare
    const saved = await call('admin', 'PUT', '/discovery/settings', {
      accounts: [
        {
          roleArn: `arn:aws:iam::${MEMBER}:role/VaultPilotDiscoveryReadOnly`,
          externalId: 'default-ext-id',
          name: 'member',
        },
        { roleArn: `arn:aws:iam::${MEMBER}:role/Denied`, externalId: 'default-ext-id', name: 'denied' },
      ],
      revision: 0,
    });
    expect(saved.status).toBe(200);
    expect(saved.json.data.revision).toBe(1);

    // Act
    const run = await discover('admin');

    // Assess
    expect(run.status).toBe('partial');
    expect(run.sources.map((source) => source.status)).toEqual([
      'succeeded',
      'succeeded',
      'failed',
      'succeeded',
    ]);
    expect(run.errors).toEqual([expect.objectContaining({ code: 'AccessDenied', operation: 'AssumeRole' })]);
    const member = await inventory('vera', `?account=${MEMBER}`);
    expect(member.map((c) => c.reference.keyId)).toEqual(['AKIADEPLOYER00000001']);
    expect(member[0]?.findings.map((f) => f.ruleId).sort()).toEqual([
      'iam-access-key-too-old',
      'iam-access-key-unused',
    ]);
    // Nothing of the ambient account was judged gone because of the failing role.
    expect((await inventory('vera', '?status=gone')).length).toBe(2);
  });

  it('lists runs newest first and shows one run at its own address', async () => {
    const runs = await call('audrey', 'GET', '/discovery/runs?limit=2');
    expect(runs.status).toBe(200);
    expect(runs.json.data.runs).toHaveLength(2);
    expect(runs.json.data.nextCursor).toEqual(expect.any(String));
    const [newest, older] = runs.json.data.runs as { id: string; queuedAt: string }[];
    expect(newest && older && newest.queuedAt >= older.queuedAt).toBe(true);
    const next = await call(
      'audrey',
      'GET',
      `/discovery/runs?limit=2&cursor=${String(runs.json.data.nextCursor)}`,
    );
    expect(next.json.data.runs[0].id).not.toBe(newest?.id);
    expect((await call('audrey', 'GET', '/discovery/runs/20200101T000000000Z-00000000')).status).toBe(404);
    expect((await call('audrey', 'GET', '/discovery/runs/not-a-run')).status).toBe(404);
    expect((await call('audrey', 'GET', '/discovery/runs?limit=0')).status).toBe(400);
  });

  it('reports that no cloud source is configured for a tenant without accounts, and still evaluates its inventory', async () => {
    const registered = await call('ann', 'POST', '/credentials', {
      type: 'api-token',
      name: 'vendor token',
      expiresAt: new Date(Date.now() + 5 * DAY).toISOString(),
    });
    expect(registered.status).toBe(201);
    const run = await discover('ann');
    expect(run).toMatchObject({ status: 'succeeded', cloud: 'not-configured' });
    expect(run.notice).toMatch(/^No cloud source is configured/);
    const acme = await inventory('ann');
    expect(acme.map((c) => c.name)).toEqual(['vendor token']);
    expect(acme[0]?.findings.map((f) => f.ruleId)).toEqual(['credential-expiring-soon']);
  });

  it('runs a run asked for while another is going after that one, and neither refuses the other a write', async () => {
    // Prepare: a tenant of its own whose secret store holds 150 secrets new to the inventory.
    await runtime.identity.addUser({
      username: 'zed',
      tenant: 'zeta',
      groups: ['admin'],
      password: PASSWORD,
    });
    tokens.zed = await signIn('zed');
    for (let index = 0; index < 150; index += 1) {
      const written = await call('zed', 'POST', `/secrets/data/apps/service-${index}`, {
        data: { token: 'x' },
      });
      expect(written.status).toBe(200);
    }
    const first = await call('zed', 'POST', '/discovery/runs');
    expect(first.status).toBe(202);
    for (let attempt = 0; attempt < 200; attempt += 1) {
      const run = await call('zed', 'GET', `/discovery/runs/${String(first.json.data.id)}`);
      if (run.json.data.status !== 'queued') break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }

    // Act: a second run asked for while the first is running (or already done).
    const second = await call('zed', 'POST', '/discovery/runs');
    expect(second.status).toBe(202);
    expect(second.json.data.id).not.toBe(first.json.data.id);

    // Assess
    const finished = [
      await ended('zed', first.json.data.id as string),
      await ended('zed', second.json.data.id as string),
    ];
    expect(finished).toEqual([
      expect.objectContaining({
        status: 'succeeded',
        counts: expect.objectContaining({ created: 150, errors: 0 }),
      }),
      expect.objectContaining({
        status: 'succeeded',
        counts: expect.objectContaining({ created: 0, errors: 0 }),
      }),
    ]);
    expect(String(finished[1]?.startedAt) >= String(finished[0]?.finishedAt)).toBe(true);
  });
});

describe('the inventory API', () => {
  let tokenId: string;

  it('registers a managed credential with any expiry date and evaluates it at once', async () => {
    const far = await call('olga', 'POST', '/credentials', {
      type: 'github-token',
      name: 'release bot token',
      owner: 'team-release',
      tags: { env: 'prod' },
      expiresAt: '2199-12-31',
      rotationPolicy: 'quarterly',
      reference: { location: 'https://github.com/settings/tokens' },
    });
    expect(far.status).toBe(201);
    expect(far.headers.get('location')).toBe(`/credentials/${String(far.json.data.id)}`);
    expect(far.json.data).toMatchObject({
      type: 'github-token',
      source: 'managed',
      status: 'healthy',
      expiresAt: '2199-12-31T00:00:00.000Z',
      owner: 'team-release',
      findings: [],
      revision: 1,
    });
    tokenId = far.json.data.id as string;

    const expired = await call('olga', 'POST', '/credentials', {
      type: 'ses-smtp',
      name: 'old smtp password',
      expiresAt: '2020-01-01T00:00:00Z',
    });
    expect(expired.json.data).toMatchObject({
      status: 'overdue',
      findings: [expect.objectContaining({ ruleId: 'credential-expired', severity: 'critical' })],
    });
  });

  it('reads a credential with its history, and changes owner, tags and expiry with check-and-set', async () => {
    const updated = await call('olga', 'PATCH', `/credentials/${tokenId}`, {
      owner: 'team-platform',
      expiresAt: new Date(Date.now() + 3 * DAY).toISOString(),
      revision: 1,
    });
    expect(updated.status).toBe(200);
    expect(updated.json.data).toMatchObject({ owner: 'team-platform', status: 'expiring', revision: 2 });
    expect((await call('olga', 'PATCH', `/credentials/${tokenId}`, { owner: 'x', revision: 1 })).status).toBe(
      409,
    );
    const cleared = await call('olga', 'PATCH', `/credentials/${tokenId}`, { expiresAt: null, tags: {} });
    expect(cleared.json.data).toMatchObject({ status: 'healthy', tags: {}, findings: [] });
    expect(cleared.json.data.expiresAt).toBeUndefined();

    const read = await call('vera', 'GET', `/credentials/${tokenId}`);
    expect(read.status).toBe(200);
    const history = read.json.data.history as {
      action: string;
      changes: Record<string, unknown>;
      findingsOpened: string[];
    }[];
    expect(history.map((change) => change.action)).toEqual(['updated', 'updated', 'registered']);
    expect(history[1]?.changes.owner).toEqual({ from: 'team-release', to: 'team-platform' });
    expect(history[1]?.findingsOpened).toEqual(['credential-expiring-soon']);
  });

  it('lets people set only owner, tags and policy on a discovered credential, and unregister it only once gone', async () => {
    const key = first(await inventory('vera', '?type=aws-iam-access-key&status=overdue'));
    expect(
      (
        await call('olga', 'PATCH', `/credentials/${String(key.id)}`, {
          owner: 'team-data',
          tags: { a: 'b' },
        })
      ).status,
    ).toBe(200);
    expect(
      (await call('olga', 'PATCH', `/credentials/${String(key.id)}`, { expiresAt: '2030-01-01' })).status,
    ).toBe(400);
    expect((await call('olga', 'DELETE', `/credentials/${String(key.id)}`)).status).toBe(409);
    const gone = first(await inventory('vera', '?status=gone'));
    expect((await call('olga', 'DELETE', `/credentials/${String(gone.id)}`)).status).toBe(204);
    expect((await call('olga', 'DELETE', `/credentials/${tokenId}`)).status).toBe(204);
    expect((await call('vera', 'GET', `/credentials/${tokenId}`)).status).toBe(404);
  });

  it('answers invalid filters, bodies and ids with 4xx', async () => {
    for (const query of [
      '?type=aws-key',
      '?status=fine',
      '?severity=urgent',
      '?finding=nope',
      '?sort=colour',
      '?limit=9999',
      '?cursor=zzz',
      '?bogus=1',
    ]) {
      const answer = await call('vera', 'GET', `/credentials${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.json.error.code).toBe('ValidationError');
    }
    expect((await call('olga', 'POST', '/credentials', { type: 'password', name: 'x' })).status).toBe(400);
    expect(
      (await call('olga', 'POST', '/credentials', { type: 'api-token', name: 'x', expiresAt: '2027-02-30' }))
        .status,
    ).toBe(400);
    expect(
      (await call('olga', 'POST', '/credentials', { type: 'api-token', name: 'x', value: 'secret' })).status,
    ).toBe(400);
    expect((await call('vera', 'GET', '/credentials/cr_0123456789abcdef01234567')).status).toBe(404);
    expect((await call('vera', 'GET', '/credentials/not-an-id')).status).toBe(404);
    expect(
      (
        await call('admin', 'PUT', '/discovery/settings', {
          accounts: [{ roleArn: 'arn:aws:iam::1:role/x' }],
        })
      ).status,
    ).toBe(400);
    expect(
      (await call('admin', 'PUT', '/discovery/settings', { thresholds: { expiryWarningDays: 90 } })).status,
    ).toBe(400);
    expect((await call('admin', 'PUT', '/discovery/settings', { revision: 0 })).status).toBe(409);
  });

  it('keeps tenants apart and people to their roles', async () => {
    const own = first(await inventory('vera'));
    expect((await call('ann', 'GET', `/credentials/${String(own.id)}`)).status).toBe(404);
    expect((await inventory('ann')).every((c) => c.name === 'vendor token')).toBe(true);
    expect((await call('vera', 'POST', '/credentials', { type: 'api-token', name: 'x' })).status).toBe(403);
    expect((await call('vera', 'POST', '/discovery/runs')).status).toBe(403);
    expect((await call('olga', 'PUT', '/discovery/settings', { accounts: [] })).status).toBe(403);
    expect((await call('audrey', 'GET', '/discovery/settings')).status).toBe(200);
    expect((await call('vera', 'GET', '/discovery/settings')).status).toBe(403);
  });

  it('serves the rules with the tenant’s thresholds', async () => {
    await call('ann', 'PUT', '/discovery/settings', {
      thresholds: { accessKeyMaxAgeDays: 30 },
      disabledRules: ['secretsmanager-unused'],
    });
    const answer = await call('ann', 'GET', '/discovery/rules');
    expect(answer.status).toBe(200);
    const rules = answer.json.data.rules as {
      id: string;
      thresholdDays?: number;
      defaultThresholdDays?: number;
      enabled: boolean;
    }[];
    expect(rules.find((rule) => rule.id === 'iam-access-key-too-old')).toMatchObject({
      thresholdDays: 30,
      defaultThresholdDays: 90,
      enabled: true,
    });
    expect(rules.find((rule) => rule.id === 'secretsmanager-unused')?.enabled).toBe(false);
    expect(rules).toHaveLength(15);
  });

  it('lets machine clients in by scope: read lists, write registers', async () => {
    const reader = await runtime.identity.addClient({
      tenant: 'default',
      scopes: ['vaultpilot/read'],
      name: 'reader',
    });
    const response = await fetch(`${runtime.url}/oauth2/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${reader.clientId}:${reader.clientSecret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    tokens.reader = ((await response.json()) as { access_token: string }).access_token;
    expect((await call('reader', 'GET', '/credentials?limit=1')).status).toBe(200);
    expect((await call('reader', 'POST', '/credentials', { type: 'api-token', name: 'x' })).status).toBe(403);
  });
});
