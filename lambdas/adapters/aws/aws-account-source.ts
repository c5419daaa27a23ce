/**
 * One AWS account as a discovery source: IAM users and their access keys with last use, the root
 * user's access keys (account summary), Secrets Manager secrets and SSM SecureString parameters
 * in each region. Read-only calls only, and only metadata: no `GetSecretValue`, no
 * `GetParameter`. Every listing is followed to its last page; calls go through a `CallPacer` per
 * API (IAM per account, the regional services per region), which bounds concurrency, keeps the
 * rate under the limit and retries throttling with jittered backoff.
 *
 * A user or key deleted between listing and the next call (`NoSuchEntity`) is simply not
 * reported: it is gone, and reconciliation treats it so. Any other failure makes its scope
 * incomplete (nothing in it is marked gone) and is reported once per operation and error code.
 */
import {
  GetAccessKeyLastUsedCommand,
  type GetAccessKeyLastUsedCommandOutput,
  GetAccountSummaryCommand,
  type IAMClient,
  ListAccessKeysCommand,
  type AccessKeyMetadata,
  ListUsersCommand,
  type User,
} from '@aws-sdk/client-iam';
import {
  ListSecretsCommand,
  type SecretListEntry,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DescribeParametersCommand, type ParameterMetadata, type SSMClient } from '@aws-sdk/client-ssm';
import { mapConcurrently } from '../../core/concurrency.js';
import type { FactValue } from '../../core/credentials/credential.js';
import {
  awsScope,
  type CloudSource,
  type DiscoveredCredential,
  type ScanError,
  type SourceScan,
} from '../../core/discovery/cloud-source.js';
import { CallPacer, type CallPacerOptions, DeadlineReachedError } from './aws-call-pacer.js';

export interface AwsAccountClients {
  readonly iam: IAMClient;
  secretsManager(region: string): SecretsManagerClient;
  ssm(region: string): SSMClient;
}

/** How a source reaches its account: its id and clients with the right credentials. */
export type AccountConnector = () => Promise<{
  readonly account: string;
  readonly clients: AwsAccountClients;
}>;

export interface AwsAccountSourceOptions {
  readonly regions: readonly string[];
  /** Ceiling of IAM requests per second in this account (IAM's limits are per account). */
  readonly iamRatePerSecond: number;
  /** Ceiling per region for Secrets Manager and SSM. */
  readonly regionalRatePerSecond: number;
  /** Calls in flight per API. */
  readonly concurrency: number;
  /** Pacer settings for tests and the benchmark (clock, backoff). */
  readonly pacer?: Partial<CallPacerOptions>;
}

const MESSAGE_LIMIT = 300;

function errorName(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { name, code } = error as { name?: unknown; code?: unknown };
    if (typeof name === 'string' && name !== 'Error') return name;
    if (typeof code === 'string') return code;
  }
  return 'UnknownError';
}

function isNoSuchEntity(error: unknown): boolean {
  const name = errorName(error);
  return name === 'NoSuchEntityException' || name === 'NoSuchEntity';
}

function isAccessDenied(error: unknown): boolean {
  return [
    'AccessDenied',
    'AccessDeniedException',
    'UnauthorizedOperation',
    'UnrecognizedClientException',
  ].includes(errorName(error));
}

function iso(date: Date | undefined): string | undefined {
  return date === undefined || Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Only scalar facts, and no undefined ones. */
function facts(entries: Record<string, FactValue | undefined>): Record<string, FactValue> {
  return Object.fromEntries(
    Object.entries(entries).filter((entry): entry is [string, FactValue] => entry[1] !== undefined),
  );
}

function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** The first `owner` / `Owner` tag. */
function ownerTag(tags: Readonly<Record<string, string>>): string | undefined {
  const key = Object.keys(tags).find((name) => name.toLowerCase() === 'owner');
  const value = key === undefined ? undefined : tags[key]?.trim();
  return value === undefined || value.length === 0 ? undefined : value.slice(0, 256);
}

/** The expiry an SSM parameter's `Expiration` policy sets, if any. */
export function parameterExpiry(parameter: ParameterMetadata): string | undefined {
  for (const policy of parameter.Policies ?? []) {
    if (policy.PolicyType !== 'Expiration' || policy.PolicyText === undefined) continue;
    try {
      const text = JSON.parse(policy.PolicyText) as { Attributes?: { Timestamp?: unknown } };
      const timestamp = text.Attributes?.Timestamp;
      if (typeof timestamp === 'string' && !Number.isNaN(Date.parse(timestamp)))
        return new Date(timestamp).toISOString();
    } catch {
      // A policy text that is not JSON sets no expiry we can read.
    }
  }
  return undefined;
}

/** Errors of one scope, each operation and code reported once with how often it happened. */
class ScopeErrors {
  private readonly byKind = new Map<string, { error: ScanError; times: number }>();

  constructor(
    private readonly service: string,
    private readonly account: string | undefined,
    private readonly region: string | undefined,
  ) {}

  add(operation: string, error: unknown): void {
    const deadline = error instanceof DeadlineReachedError;
    const code = deadline ? 'TimeBudgetExhausted' : errorName(error);
    const key = `${operation}:${code}`;
    const known = this.byKind.get(key);
    if (known !== undefined) {
      known.times += 1;
      return;
    }
    const raw = error instanceof Error ? error.message : String(error);
    this.byKind.set(key, {
      times: 1,
      error: {
        service: this.service,
        operation,
        code,
        message: (deadline ? 'The run reached its deadline before this listing finished' : raw).slice(
          0,
          MESSAGE_LIMIT,
        ),
        account: this.account,
        region: this.region,
      },
    });
  }

  get empty(): boolean {
    return this.byKind.size === 0;
  }

  list(): ScanError[] {
    return [...this.byKind.values()].map(({ error, times }) =>
      times === 1
        ? error
        : { ...error, message: `${error.message} (${times} times)`.slice(0, MESSAGE_LIMIT + 20) },
    );
  }
}

interface ScopeResult {
  readonly credentials: DiscoveredCredential[];
  readonly complete: string | undefined;
  readonly errors: ScanError[];
  readonly calls: number;
}

export class AwsAccountSource implements CloudSource {
  constructor(
    readonly label: string,
    readonly roleArn: string | undefined,
    private readonly connect: AccountConnector,
    private readonly options: AwsAccountSourceOptions,
  ) {}

  async scan({ deadline }: { readonly deadline: Date }): Promise<SourceScan> {
    let connection: Awaited<ReturnType<AccountConnector>>;
    try {
      connection = await this.connect();
    } catch (error: unknown) {
      const failure = new ScopeErrors('sts', undefined, undefined);
      failure.add(this.roleArn === undefined ? 'GetCallerIdentity' : 'AssumeRole', error);
      return { account: undefined, credentials: [], completeScopes: [], errors: failure.list(), calls: 1 };
    }
    const { account, clients } = connection;
    const results = await Promise.all([
      this.scanIam(account, clients.iam, deadline),
      ...this.options.regions.map((region) =>
        this.scanSecrets(account, region, clients.secretsManager(region), deadline),
      ),
      ...this.options.regions.map((region) =>
        this.scanParameters(account, region, clients.ssm(region), deadline),
      ),
    ]);
    return {
      account,
      credentials: results.flatMap((result) => result.credentials),
      completeScopes: results.flatMap((result) => (result.complete === undefined ? [] : [result.complete])),
      errors: results.flatMap((result) => result.errors),
      calls: results.reduce((sum, result) => sum + result.calls, 1),
    };
  }

  private pacer(ratePerSecond: number, deadline: Date): CallPacer {
    return new CallPacer({
      ratePerSecond,
      concurrency: this.options.concurrency,
      ...this.options.pacer,
      deadline,
    });
  }

  private async scanIam(account: string, iam: IAMClient, deadline: Date): Promise<ScopeResult> {
    const scope = awsScope(account, 'iam');
    const pacer = this.pacer(this.options.iamRatePerSecond, deadline);
    const errors = new ScopeErrors('iam', account, undefined);
    const credentials: DiscoveredCredential[] = [];

    try {
      const summary = await pacer.call('GetAccountSummary', () => iam.send(new GetAccountSummaryCommand({})));
      const present = summary.SummaryMap?.AccountAccessKeysPresent ?? 0;
      if (present > 0) {
        credentials.push({
          type: 'aws-iam-access-key',
          naturalKey: `${account}:root`,
          scope,
          name: `root user access key (account ${account})`,
          reference: { account, userName: '<root>', arn: `arn:aws:iam::${account}:root` },
          usageTracked: false,
          sourceTags: {},
          facts: { root: true, keysPresent: present },
        });
      }
    } catch (error: unknown) {
      errors.add('GetAccountSummary', error);
    }

    let users: User[] = [];
    try {
      users = await this.listUsers(iam, pacer);
    } catch (error: unknown) {
      errors.add('ListUsers', error);
      return { credentials, complete: undefined, errors: errors.list(), calls: pacer.stats.calls };
    }

    // Tasks wait on the pacer, which bounds the calls; more tasks than calls keep it busy.
    await mapConcurrently(users, this.options.concurrency * 2, async (user) => {
      const userName = user.UserName;
      if (userName === undefined) return;
      let keys: AccessKeyMetadata[];
      try {
        keys = await this.listAccessKeys(iam, pacer, userName);
      } catch (error: unknown) {
        // Deleted since ListUsers: it has no keys any more.
        if (!isNoSuchEntity(error)) errors.add('ListAccessKeys', error);
        return;
      }
      const active = keys.filter((key) => key.Status === 'Active').length;
      for (const key of keys) {
        const keyId = key.AccessKeyId;
        if (keyId === undefined) continue;
        let lastUsed: GetAccessKeyLastUsedCommandOutput | undefined;
        try {
          lastUsed = await pacer.call('GetAccessKeyLastUsed', () =>
            iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: keyId })),
          );
        } catch (error: unknown) {
          // Deleted since ListAccessKeys: not reported, so it counts as gone.
          if (isNoSuchEntity(error)) continue;
          errors.add('GetAccessKeyLastUsed', error);
          if (!isAccessDenied(error)) continue;
          // Without the usage call the key is still known; its use is not.
        }
        const usage = lastUsed?.AccessKeyLastUsed;
        const service = usage?.ServiceName;
        const region = usage?.Region;
        credentials.push({
          type: 'aws-iam-access-key',
          naturalKey: `${account}:${keyId}`,
          scope,
          name: `${keyId} (${userName})`,
          reference: { account, keyId, userName, arn: user.Arn },
          createdAt: iso(key.CreateDate),
          // An access key is never changed, only replaced: its age is its creation.
          lastRotatedAt: iso(key.CreateDate),
          lastUsedAt: iso(usage?.LastUsedDate),
          usageTracked: lastUsed !== undefined,
          sourceTags: {},
          facts: facts({
            keyStatus: key.Status,
            activeKeysOnUser: active,
            userId: user.UserId,
            lastUsedService: service !== undefined && service !== 'N/A' ? service : undefined,
            lastUsedRegion: region !== undefined && region !== 'N/A' ? region : undefined,
          }),
        });
      }
    }).catch((error: unknown) => errors.add('ListAccessKeys', error));

    return {
      credentials,
      complete: errors.empty ? scope : undefined,
      errors: errors.list(),
      calls: pacer.stats.calls,
    };
  }

  private async listUsers(iam: IAMClient, pacer: CallPacer): Promise<User[]> {
    const users: User[] = [];
    let marker: string | undefined;
    do {
      const page = await pacer.call('ListUsers', () =>
        iam.send(new ListUsersCommand({ MaxItems: 1000, Marker: marker })),
      );
      users.push(...(page.Users ?? []));
      marker = page.IsTruncated === true ? page.Marker : undefined;
      if (page.IsTruncated === true && marker === undefined)
        throw new Error('ListUsers was truncated without a Marker');
    } while (marker !== undefined);
    return users;
  }

  private async listAccessKeys(
    iam: IAMClient,
    pacer: CallPacer,
    userName: string,
  ): Promise<AccessKeyMetadata[]> {
    const keys: AccessKeyMetadata[] = [];
    let marker: string | undefined;
    do {
      const page = await pacer.call('ListAccessKeys', () =>
        iam.send(new ListAccessKeysCommand({ UserName: userName, MaxItems: 100, Marker: marker })),
      );
      keys.push(...(page.AccessKeyMetadata ?? []));
      marker = page.IsTruncated === true ? page.Marker : undefined;
      if (page.IsTruncated === true && marker === undefined)
        throw new Error('ListAccessKeys was truncated without a Marker');
    } while (marker !== undefined);
    return keys;
  }

  private async scanSecrets(
    account: string,
    region: string,
    client: SecretsManagerClient,
    deadline: Date,
  ): Promise<ScopeResult> {
    const scope = awsScope(account, 'secretsmanager', region);
    const pacer = this.pacer(this.options.regionalRatePerSecond, deadline);
    const errors = new ScopeErrors('secretsmanager', account, region);
    const credentials: DiscoveredCredential[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await pacer.call('ListSecrets', () =>
          client.send(
            new ListSecretsCommand({ MaxResults: 100, NextToken: token, IncludePlannedDeletion: false }),
          ),
        );
        for (const secret of page.SecretList ?? []) {
          const credential = this.secretCredential(account, region, scope, secret);
          if (credential !== undefined) credentials.push(credential);
        }
        token = page.NextToken;
      } while (token !== undefined);
    } catch (error: unknown) {
      errors.add('ListSecrets', error);
    }
    return {
      credentials,
      complete: errors.empty ? scope : undefined,
      errors: errors.list(),
      calls: pacer.stats.calls,
    };
  }

  private secretCredential(
    account: string,
    region: string,
    scope: string,
    secret: SecretListEntry,
  ): DiscoveredCredential | undefined {
    if (secret.ARN === undefined || secret.Name === undefined) return undefined;
    const tags = Object.fromEntries(
      (secret.Tags ?? []).flatMap((tag) => (tag.Key === undefined ? [] : [[tag.Key, tag.Value ?? '']])),
    );
    return {
      type: 'secretsmanager-secret',
      naturalKey: secret.ARN,
      scope,
      name: secret.Name,
      description: secret.Description,
      reference: { arn: secret.ARN, account, region, path: secret.Name },
      createdAt: iso(secret.CreatedDate),
      lastRotatedAt: iso(secret.LastRotatedDate),
      // Secrets Manager records access to the day, and only since it started tracking.
      lastUsedAt: iso(secret.LastAccessedDate),
      usageTracked: true,
      sourceTags: tags,
      ownerHint: ownerTag(tags),
      facts: facts({
        rotationEnabled: secret.RotationEnabled === true,
        rotationAfterDays: secret.RotationRules?.AutomaticallyAfterDays,
        rotationSchedule: secret.RotationRules?.ScheduleExpression,
        nextRotationAt: iso(secret.NextRotationDate),
        owningService: secret.OwningService,
        primaryRegion: secret.PrimaryRegion,
        kmsKeyId: secret.KmsKeyId,
      }),
    };
  }

  private async scanParameters(
    account: string,
    region: string,
    client: SSMClient,
    deadline: Date,
  ): Promise<ScopeResult> {
    const scope = awsScope(account, 'ssm', region);
    const pacer = this.pacer(this.options.regionalRatePerSecond, deadline);
    const errors = new ScopeErrors('ssm', account, region);
    const credentials: DiscoveredCredential[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await pacer.call('DescribeParameters', () =>
          client.send(
            new DescribeParametersCommand({
              ParameterFilters: [{ Key: 'Type', Option: 'Equals', Values: ['SecureString'] }],
              MaxResults: 50,
              NextToken: token,
            }),
          ),
        );
        for (const parameter of page.Parameters ?? []) {
          // The filter asks for SecureString only; a service that ignores it must not widen the inventory.
          if (parameter.Name === undefined || parameter.Type !== 'SecureString') continue;
          credentials.push(this.parameterCredential(account, region, scope, parameter));
        }
        // SSM may answer an empty page with a token: only the absence of a token ends the listing.
        token = page.NextToken;
      } while (token !== undefined);
    } catch (error: unknown) {
      errors.add('DescribeParameters', error);
    }
    return {
      credentials,
      complete: errors.empty ? scope : undefined,
      errors: errors.list(),
      calls: pacer.stats.calls,
    };
  }

  private parameterCredential(
    account: string,
    region: string,
    scope: string,
    parameter: ParameterMetadata,
  ): DiscoveredCredential {
    const name = parameter.Name ?? '';
    const arn =
      parameter.ARN ??
      `arn:${partitionOf(region)}:ssm:${region}:${account}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
    const policyTypes = (parameter.Policies ?? [])
      .map((policy) => policy.PolicyType)
      .filter((type) => type !== undefined);
    return {
      type: 'ssm-parameter',
      naturalKey: `${account}:${region}:${name}`,
      scope,
      name,
      description: parameter.Description,
      reference: { arn, account, region, path: name },
      // SSM reports no creation time; the last change is when the value was last rotated.
      lastRotatedAt: iso(parameter.LastModifiedDate),
      usageTracked: false,
      expiresAt: parameterExpiry(parameter),
      sourceTags: {},
      facts: facts({
        tier: parameter.Tier,
        version: parameter.Version,
        dataType: parameter.DataType,
        kmsKeyId: parameter.KeyId,
        lastModifiedBy: parameter.LastModifiedUser,
        policies: policyTypes.length === 0 ? undefined : policyTypes.sort().join(','),
      }),
    };
  }
}
