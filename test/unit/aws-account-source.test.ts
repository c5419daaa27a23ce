/**
 * One AWS account as a discovery source, against mocked IAM, Secrets Manager and SSM clients that
 * answer with the shapes of the AWS API references (multi-page listings, `IsTruncated`/`Marker`,
 * `NextToken`, empty SSM pages that still carry a token), throttling, access denied on one
 * service, and a key or user deleted between listing and the next call.
 */
import {
  GetAccessKeyLastUsedCommand,
  GetAccountSummaryCommand,
  IAMClient,
  IAMServiceException,
  ListAccessKeysCommand,
  ListUsersCommand,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import {
  ListSecretsCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { DescribeParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsAccountSource } from '../../lambdas/adapters/aws/aws-account-source.js';
import type { SourceScan } from '../../lambdas/core/discovery/cloud-source.js';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const FAR = new Date('2100-01-01T00:00:00Z');
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };

const iamMock = mockClient(IAMClient);
const smMock = mockClient(SecretsManagerClient);
const ssmMock = mockClient(SSMClient);

function user(name: string) {
  return {
    Path: '/',
    UserName: name,
    UserId: `AIDA${name.toUpperCase().padEnd(17, 'X')}`,
    Arn: `arn:aws:iam::${ACCOUNT}:user/${name}`,
    CreateDate: new Date('2023-01-01T00:00:00Z'),
  };
}

function key(userName: string, keyId: string, status: 'Active' | 'Inactive' = 'Active') {
  return {
    UserName: userName,
    AccessKeyId: keyId,
    Status: status,
    CreateDate: new Date('2024-01-15T10:00:00Z'),
  };
}

function throttling(): IAMServiceException {
  return new IAMServiceException({
    name: 'Throttling',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'Rate exceeded',
  });
}

function accessDenied(): SecretsManagerServiceException {
  return new SecretsManagerServiceException({
    name: 'AccessDeniedException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/VaultPilotDiscoveryReadOnly/s is not authorized to perform: secretsmanager:ListSecrets`,
  });
}

/** The account of the examples: two pages of users, keys with and without use, a root key. */
function stubAccount(): void {
  iamMock.on(GetAccountSummaryCommand).resolves({ SummaryMap: { AccountAccessKeysPresent: 1, Users: 3 } });
  iamMock
    .on(ListUsersCommand, { Marker: undefined })
    .resolves({ Users: [user('alice'), user('bob')], IsTruncated: true, Marker: 'page-2' })
    .on(ListUsersCommand, { Marker: 'page-2' })
    .resolves({ Users: [user('carol')], IsTruncated: false });
  iamMock
    .on(ListAccessKeysCommand, { UserName: 'alice', Marker: undefined })
    .resolves({ AccessKeyMetadata: [key('alice', 'AKIAALICE0000000001')], IsTruncated: true, Marker: 'k2' })
    .on(ListAccessKeysCommand, { UserName: 'alice', Marker: 'k2' })
    .resolves({ AccessKeyMetadata: [key('alice', 'AKIAALICE0000000002')], IsTruncated: false })
    .on(ListAccessKeysCommand, { UserName: 'bob' })
    .resolves({ AccessKeyMetadata: [key('bob', 'AKIABOB000000000001', 'Inactive')], IsTruncated: false })
    .on(ListAccessKeysCommand, { UserName: 'carol' })
    .resolves({ AccessKeyMetadata: [], IsTruncated: false });
  iamMock
    .on(GetAccessKeyLastUsedCommand)
    .resolves({ UserName: 'x', AccessKeyLastUsed: { ServiceName: 'N/A', Region: 'N/A' } })
    .on(GetAccessKeyLastUsedCommand, { AccessKeyId: 'AKIAALICE0000000001' })
    .resolves({
      UserName: 'alice',
      AccessKeyLastUsed: {
        LastUsedDate: new Date('2026-03-01T08:30:00Z'),
        ServiceName: 's3',
        Region: 'us-east-1',
      },
    });
  smMock
    .on(ListSecretsCommand, { NextToken: undefined })
    .resolves({
      SecretList: [
        {
          ARN: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:prod/db-AbCdEf`,
          Name: 'prod/db',
          Description: 'Production database',
          RotationEnabled: true,
          RotationRules: { AutomaticallyAfterDays: 30 },
          LastRotatedDate: new Date('2026-02-20T00:00:00Z'),
          LastChangedDate: new Date('2026-02-20T00:00:00Z'),
          LastAccessedDate: new Date('2026-03-09T00:00:00Z'),
          Tags: [{ Key: 'Owner', Value: 'team-data' }],
          SecretVersionsToStages: { v1: ['AWSCURRENT'] },
          CreatedDate: new Date('2025-01-01T00:00:00Z'),
        },
      ],
      NextToken: 'sm-2',
    })
    .on(ListSecretsCommand, { NextToken: 'sm-2' })
    .resolves({
      SecretList: [
        {
          ARN: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:legacy/api-key-XyZ123`,
          Name: 'legacy/api-key',
          CreatedDate: new Date('2022-05-01T00:00:00Z'),
        },
      ],
    });
  ssmMock
    .on(DescribeParametersCommand, { NextToken: undefined })
    .resolves({ Parameters: [], NextToken: 'ssm-2' })
    .on(DescribeParametersCommand, { NextToken: 'ssm-2' })
    .resolves({
      Parameters: [
        {
          Name: '/prod/payments/api-key',
          ARN: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/prod/payments/api-key`,
          Type: 'SecureString',
          KeyId: 'alias/aws/ssm',
          LastModifiedDate: new Date('2025-06-01T00:00:00Z'),
          LastModifiedUser: `arn:aws:iam::${ACCOUNT}:user/alice`,
          Version: 3,
          Tier: 'Advanced',
          Policies: [
            {
              PolicyText:
                '{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2026-04-01T00:00:00.000Z"}}',
              PolicyType: 'Expiration',
              PolicyStatus: 'Pending',
            },
          ],
          DataType: 'text',
        },
      ],
    });
}

function source(connect?: () => Promise<never>): AwsAccountSource {
  return new AwsAccountSource(
    'test account',
    undefined,
    connect ??
      (async () => ({
        account: ACCOUNT,
        clients: {
          iam: new IAMClient({ region: 'us-east-1', credentials }),
          secretsManager: (region) => new SecretsManagerClient({ region, credentials }),
          ssm: (region) => new SSMClient({ region, credentials }),
        },
      })),
    {
      regions: [REGION],
      iamRatePerSecond: 1000,
      regionalRatePerSecond: 1000,
      concurrency: 4,
      // Backoff without waiting: the retries, not the clock, are under test.
      pacer: { baseDelayMs: 1, clock: { now: () => Date.now(), sleep: async () => undefined } },
    },
  );
}

const scan = (subject = source(), deadline = FAR): Promise<SourceScan> => subject.scan({ deadline });
const keyIds = (result: SourceScan) =>
  result.credentials
    .filter((c) => c.type === 'aws-iam-access-key')
    .map((c) => c.reference.keyId ?? 'root')
    .sort();

beforeEach(() => {
  iamMock.reset();
  smMock.reset();
  ssmMock.reset();
  stubAccount();
});

afterEach(() => {
  iamMock.reset();
});

describe('AwsAccountSource', () => {
  it('lists every page of every service and reports each credential with its facts', async () => {
    // Act
    const result = await scan();

    // Assess
    expect(result.errors).toEqual([]);
    expect([...result.completeScopes].sort()).toEqual([
      `aws:${ACCOUNT}:iam`,
      `aws:${ACCOUNT}:secretsmanager:${REGION}`,
      `aws:${ACCOUNT}:ssm:${REGION}`,
    ]);
    expect(keyIds(result)).toEqual([
      'AKIAALICE0000000001',
      'AKIAALICE0000000002',
      'AKIABOB000000000001',
      'root',
    ]);
    const used = result.credentials.find((c) => c.reference.keyId === 'AKIAALICE0000000001');
    expect(used).toMatchObject({
      naturalKey: `${ACCOUNT}:AKIAALICE0000000001`,
      createdAt: '2024-01-15T10:00:00.000Z',
      lastUsedAt: '2026-03-01T08:30:00.000Z',
      usageTracked: true,
      facts: { keyStatus: 'Active', activeKeysOnUser: 2, lastUsedService: 's3', lastUsedRegion: 'us-east-1' },
    });
    const neverUsed = result.credentials.find((c) => c.reference.keyId === 'AKIAALICE0000000002');
    expect(neverUsed?.lastUsedAt).toBeUndefined();
    expect(neverUsed?.facts.lastUsedService).toBeUndefined();
    expect(result.credentials.find((c) => c.facts.root === true)).toMatchObject({
      facts: { keysPresent: 1 },
    });

    const secrets = result.credentials.filter((c) => c.type === 'secretsmanager-secret');
    expect(secrets.map((c) => c.name)).toEqual(['prod/db', 'legacy/api-key']);
    expect(secrets[0]).toMatchObject({
      ownerHint: 'team-data',
      sourceTags: { Owner: 'team-data' },
      lastRotatedAt: '2026-02-20T00:00:00.000Z',
      lastUsedAt: '2026-03-09T00:00:00.000Z',
      facts: { rotationEnabled: true, rotationAfterDays: 30 },
    });
    expect(secrets[1]?.facts.rotationEnabled).toBe(false);

    const [parameter] = result.credentials.filter((c) => c.type === 'ssm-parameter');
    expect(parameter).toMatchObject({
      name: '/prod/payments/api-key',
      lastRotatedAt: '2025-06-01T00:00:00.000Z',
      expiresAt: '2026-04-01T00:00:00.000Z',
      facts: { tier: 'Advanced', version: 3, policies: 'Expiration' },
    });
    // Only metadata calls, each listing to its end.
    expect(iamMock.commandCalls(ListUsersCommand)).toHaveLength(2);
    expect(smMock.commandCalls(ListSecretsCommand)).toHaveLength(2);
    expect(ssmMock.commandCalls(DescribeParametersCommand)).toHaveLength(2);
    expect(ssmMock.commandCalls(DescribeParametersCommand)[0]?.args[0].input.ParameterFilters).toEqual([
      { Key: 'Type', Option: 'Equals', Values: ['SecureString'] },
    ]);
  });

  it('retries throttled calls and ends with the same inventory', async () => {
    // Prepare
    iamMock
      .on(ListUsersCommand, { Marker: 'page-2' })
      .rejectsOnce(throttling())
      .rejectsOnce(throttling())
      .resolves({ Users: [user('carol')], IsTruncated: false });
    iamMock
      .on(GetAccessKeyLastUsedCommand, { AccessKeyId: 'AKIABOB000000000001' })
      .rejectsOnce(throttling())
      .resolves({ UserName: 'bob', AccessKeyLastUsed: { ServiceName: 'N/A', Region: 'N/A' } });

    // Act
    const result = await scan();

    // Assess
    expect(result.errors).toEqual([]);
    expect(result.completeScopes).toHaveLength(3);
    expect(keyIds(result)).toEqual([
      'AKIAALICE0000000001',
      'AKIAALICE0000000002',
      'AKIABOB000000000001',
      'root',
    ]);
    expect(iamMock.commandCalls(ListUsersCommand)).toHaveLength(4);
  });

  it('leaves out a key deleted between ListAccessKeys and GetAccessKeyLastUsed, and still completes', async () => {
    iamMock.on(GetAccessKeyLastUsedCommand, { AccessKeyId: 'AKIAALICE0000000002' }).rejects(
      new NoSuchEntityException({
        $metadata: {},
        message: 'The Access Key with id AKIAALICE0000000002 cannot be found',
      }),
    );
    const result = await scan();
    expect(keyIds(result)).toEqual(['AKIAALICE0000000001', 'AKIABOB000000000001', 'root']);
    expect(result.completeScopes).toContain(`aws:${ACCOUNT}:iam`);
    expect(result.errors).toEqual([]);
  });

  it('leaves out the keys of a user deleted between ListUsers and ListAccessKeys', async () => {
    iamMock
      .on(ListAccessKeysCommand, { UserName: 'bob' })
      .rejects(
        new NoSuchEntityException({ $metadata: {}, message: 'The user with name bob cannot be found.' }),
      );
    const result = await scan();
    expect(keyIds(result)).toEqual(['AKIAALICE0000000001', 'AKIAALICE0000000002', 'root']);
    expect(result.completeScopes).toContain(`aws:${ACCOUNT}:iam`);
  });

  it('reports a denied service as an error of its scope and lists the others', async () => {
    smMock.on(ListSecretsCommand).rejects(accessDenied());
    const result = await scan();
    expect([...result.completeScopes].sort()).toEqual([`aws:${ACCOUNT}:iam`, `aws:${ACCOUNT}:ssm:${REGION}`]);
    expect(result.errors).toEqual([
      expect.objectContaining({
        service: 'secretsmanager',
        operation: 'ListSecrets',
        code: 'AccessDeniedException',
        account: ACCOUNT,
        region: REGION,
      }),
    ]);
    expect(result.credentials.filter((c) => c.type === 'secretsmanager-secret')).toEqual([]);
  });

  it('keeps a key whose last use it may not read, without judging its use, and does not complete IAM', async () => {
    iamMock
      .on(GetAccessKeyLastUsedCommand, { AccessKeyId: 'AKIABOB000000000001' })
      .rejects(
        new IAMServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: {}, message: 'denied' }),
      );
    const result = await scan();
    expect(result.credentials.find((c) => c.reference.keyId === 'AKIABOB000000000001')?.usageTracked).toBe(
      false,
    );
    expect(result.completeScopes).not.toContain(`aws:${ACCOUNT}:iam`);
    expect(result.errors).toEqual([
      expect.objectContaining({ operation: 'GetAccessKeyLastUsed', code: 'AccessDenied' }),
    ]);
  });

  it('reports one error, with a count, when the same call fails for many users', async () => {
    iamMock.on(ListAccessKeysCommand).rejects(throttling());
    const result = await source().scan({ deadline: FAR });
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ operation: 'ListAccessKeys', code: 'Throttling' });
    expect(result.errors[0]?.message).toContain('(3 times)');
    expect(result.completeScopes).not.toContain(`aws:${ACCOUNT}:iam`);
  });

  it('reports an account it cannot reach without throwing', async () => {
    const unreachable = source(async () => {
      throw Object.assign(new Error('not authorized to perform sts:AssumeRole'), { name: 'AccessDenied' });
    });
    const result = await scan(unreachable);
    expect(result).toMatchObject({ account: undefined, credentials: [], completeScopes: [] });
    expect(result.errors).toEqual([expect.objectContaining({ service: 'sts', code: 'AccessDenied' })]);
  });

  it('stops at the deadline and completes nothing', async () => {
    const result = await scan(source(), new Date(Date.now() - 1000));
    expect(result.completeScopes).toEqual([]);
    expect(result.errors.map((error) => error.code)).toEqual(expect.arrayContaining(['TimeBudgetExhausted']));
  });
});
