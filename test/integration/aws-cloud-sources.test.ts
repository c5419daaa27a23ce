/**
 * The AWS sources of a tenant with the real SDK clients against a fake AWS on loopback: the SDK's
 * standard configuration applies (credentials from the environment, `AWS_ENDPOINT_URL_IAM`,
 * `_STS`, `_SECRETS_MANAGER`, `_SSM` each reaching its own server), roles are assumed with the
 * tenant's external id, one account that cannot be reached fails alone, and a machine without
 * credentials has no cloud source.
 */
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AwsCloudSources } from '../../lambdas/adapters/aws/aws-cloud-sources.js';
import { DEFAULT_DISCOVERY_SETTINGS, type DiscoverySettings } from '../../lambdas/core/discovery/settings.js';
import { FakeAws } from '../support/fake-aws.js';

const AMBIENT = '123456789012';
const MEMBER = '210987654321';
const FAR = new Date('2100-01-01T00:00:00Z');

const fake = new FakeAws(
  {
    [AMBIENT]: {
      rootKeys: 1,
      users: [
        {
          name: 'alice',
          keys: [
            { id: 'AKIAALICE0000000001', created: '2024-01-01T00:00:00Z', lastUsed: '2026-01-01T00:00:00Z' },
          ],
        },
        { name: 'bob', keys: [] },
        { name: 'carol', keys: [{ id: 'AKIACAROL0000000001', created: '2024-01-01T00:00:00Z' }] },
      ],
      secrets: [
        { name: 'prod/db', created: '2025-01-01T00:00:00Z' },
        { name: 'prod/api', created: '2025-01-01T00:00:00Z', rotationEnabled: true },
        { name: 'prod/queue', created: '2025-01-01T00:00:00Z' },
      ],
      parameters: [
        { name: '/prod/token', lastModified: '2025-01-01T00:00:00Z' },
        { name: '/prod/plain', lastModified: '2025-01-01T00:00:00Z', type: 'String' },
      ],
    },
    [MEMBER]: {
      users: [{ name: 'deployer', keys: [{ id: 'AKIADEPLOYER00000001', created: '2025-06-01T00:00:00Z' }] }],
      secrets: [],
      parameters: [],
    },
  },
  { ambientAccount: AMBIENT, deniedRoles: [`arn:aws:iam::${MEMBER}:role/Denied`] },
);

const saved = { ...process.env };

function setEnvironment(values: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}

function provider(ambientTenant: string | undefined = 'default'): AwsCloudSources {
  return new AwsCloudSources({
    region: 'us-east-1',
    defaultRegions: ['eu-west-1'],
    ambientTenant,
    iamRatePerSecond: 100,
    regionalRatePerSecond: 100,
    concurrency: 4,
    credentialTimeoutMs: 2_000,
  });
}

const settings = (accounts: DiscoverySettings['accounts']): DiscoverySettings => ({
  ...DEFAULT_DISCOVERY_SETTINGS,
  accounts,
});

beforeAll(async () => {
  await fake.start();
});

afterEach(() => {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
  fake.requests.length = 0;
});

afterAll(async () => {
  await fake.close();
});

describe('AwsCloudSources', () => {
  it('sends each service to the endpoint its own variable names, signed with the ambient credentials', async () => {
    // Prepare
    setEnvironment(fake.environment());

    // Act
    const { sources, notice } = await provider().sourcesFor('default', settings([]));
    const [ambient] = sources;
    const scan = await ambient?.scan({ deadline: FAR });

    // Assess
    expect(notice).toBeUndefined();
    expect(scan?.errors).toEqual([]);
    expect(scan?.account).toBe(AMBIENT);
    expect(scan?.credentials.map((c) => c.name).sort()).toEqual([
      '/prod/token',
      'AKIAALICE0000000001 (alice)',
      'AKIACAROL0000000001 (carol)',
      'prod/api',
      'prod/db',
      'prod/queue',
      `root user access key (account ${AMBIENT})`,
    ]);
    for (const request of fake.requests) expect(request.signedFor).toBe(request.server);
    expect(new Set(fake.requests.map((request) => request.server))).toEqual(
      new Set(['iam', 'sts', 'secretsmanager', 'ssm']),
    );
    // Every listing followed to its end (pages of two).
    expect(fake.requests.filter((request) => request.action === 'ListUsers')).toHaveLength(2);
    expect(fake.requests.filter((request) => request.action === 'ListSecrets')).toHaveLength(2);
  });

  it('falls back to AWS_ENDPOINT_URL for every service', async () => {
    const { AWS_ENDPOINT_URL_IAM: _iam, ...rest } = fake.environment();
    setEnvironment({ ...rest, AWS_ENDPOINT_URL_STS: undefined, AWS_ENDPOINT_URL: fake.url('sts') });
    const { sources } = await provider().sourcesFor('default', settings([]));
    await sources[0]?.scan({ deadline: FAR });
    // IAM and STS calls both went to the generic endpoint (the STS server here).
    const generic = fake.requests
      .filter((request) => request.server === 'sts')
      .map((request) => request.signedFor);
    expect(new Set(generic)).toEqual(new Set(['sts', 'iam']));
  });

  it('assumes each configured role and scans its account; a role it cannot assume fails alone', async () => {
    setEnvironment(fake.environment());
    const { sources } = await provider(undefined).sourcesFor(
      'acme',
      settings([
        {
          roleArn: `arn:aws:iam::${MEMBER}:role/VaultPilotDiscoveryReadOnly`,
          externalId: 'acme-external-id',
        },
        { roleArn: `arn:aws:iam::${MEMBER}:role/Denied`, externalId: 'acme-external-id', name: 'denied' },
      ]),
    );
    const [member, denied] = await Promise.all(sources.map((source) => source.scan({ deadline: FAR })));
    expect(member?.account).toBe(MEMBER);
    expect(member?.credentials.map((c) => c.reference.keyId)).toEqual(['AKIADEPLOYER00000001']);
    expect(member?.completeScopes).toHaveLength(3);
    expect(denied?.credentials).toEqual([]);
    expect(denied?.errors).toEqual([
      expect.objectContaining({ service: 'sts', operation: 'AssumeRole', code: 'AccessDenied' }),
    ]);
    expect(sources[1]?.label).toBe(`denied (arn:aws:iam::${MEMBER}:role/Denied)`);
    expect(
      fake.requests.filter((request) => request.account === MEMBER && request.server === 'iam').length,
    ).toBeGreaterThan(0);
  });

  it('reports that no cloud source is configured when the machine has no credentials', async () => {
    setEnvironment({
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_PROFILE: 'none-such',
    });
    const { sources, notice } = await provider().sourcesFor('default', settings([]));
    expect(sources).toEqual([]);
    expect(notice).toMatch(/^No cloud source is configured/);
    expect(fake.requests).toEqual([]);
  });

  it('tells other tenants to configure account roles, and never lends them the ambient credentials', async () => {
    setEnvironment(fake.environment());
    const { sources, notice } = await provider('default').sourcesFor('acme', settings([]));
    expect(sources).toEqual([]);
    expect(notice).toContain('tenant acme lists no account roles');
  });
});

describe('AwsCloudSources with a mocked STS', () => {
  // Created in beforeAll, not at collection time: the mock replaces every STS client while it lives.
  const stubSts = () => mockClient(STSClient);
  let sts: ReturnType<typeof stubSts>;

  beforeAll(() => {
    sts = stubSts();
  });

  afterAll(() => {
    sts.restore();
  });

  it('assumes the role with the external id, a session name and a one-hour session', async () => {
    sts.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'ASIAEXAMPLE',
        SecretAccessKey: 'example',
        SessionToken: 'token',
        Expiration: new Date('2026-03-10T13:00:00Z'),
      },
      AssumedRoleUser: { Arn: `arn:aws:sts::${MEMBER}:assumed-role/R/s`, AssumedRoleId: 'AROA:s' },
    });
    const { sources } = await provider(undefined).sourcesFor(
      'acme',
      settings([{ roleArn: `arn:aws:iam::${MEMBER}:role/R`, externalId: 'ext-123' }]),
    );
    // The scan fails later (no IAM here); the call to STS is what is under test.
    await sources[0]?.scan({ deadline: new Date(Date.now() + 5_000) });
    expect(sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input).toEqual({
      RoleArn: `arn:aws:iam::${MEMBER}:role/R`,
      RoleSessionName: 'vaultpilot-discovery-acme',
      ExternalId: 'ext-123',
      DurationSeconds: 3600,
    });
  });
});
