/**
 * Which AWS accounts a tenant's run scans, and with which credentials:
 * - the *ambient* credentials (the SDK's default chain: the Lambda function's role in AWS, the
 *   developer's profile or environment locally) for one tenant, the account they belong to being
 *   that tenant's first account;
 * - for every account in the tenant's settings, its role, assumed with STS `AssumeRole` and the
 *   external id its trust policy asks for.
 *
 * Every client is built without an endpoint or credentials of our own unless needed, so the SDK's
 * standard configuration applies: the credential chain, `AWS_REGION`, `AWS_ENDPOINT_URL` and the
 * service-specific `AWS_ENDPOINT_URL_IAM`, `_STS`, `_SECRETS_MANAGER`, `_SSM`. The SDK's retries
 * are off (`maxAttempts: 1`): the `CallPacer` retries, with the rate under its control.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { CloudSource, CloudSourceProvider, CloudSources } from '../../core/discovery/cloud-source.js';
import {
  accountOfRole,
  type DiscoveryAccount,
  type DiscoverySettings,
} from '../../core/discovery/settings.js';
import type { CallPacerOptions } from './aws-call-pacer.js';
import { type AccountConnector, type AwsAccountClients, AwsAccountSource } from './aws-account-source.js';

/** Temporary credentials of an assumed role (the SDK's `AwsCredentialIdentity` shape). */
export interface AwsCredentialIdentity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  readonly expiration?: Date | undefined;
}

/** Builds the clients; tests replace it to hand out mocked ones. */
export interface AwsClientFactory {
  sts(region: string, credentials?: AwsCredentialIdentity): STSClient;
  iam(region: string, credentials?: AwsCredentialIdentity): IAMClient;
  secretsManager(region: string, credentials?: AwsCredentialIdentity): SecretsManagerClient;
  ssm(region: string, credentials?: AwsCredentialIdentity): SSMClient;
}

const clientConfig = (region: string, credentials?: AwsCredentialIdentity) => ({
  region,
  maxAttempts: 1,
  ...(credentials === undefined ? {} : { credentials }),
});

export const sdkClientFactory: AwsClientFactory = {
  sts: (region, credentials) => new STSClient(clientConfig(region, credentials)),
  iam: (region, credentials) => new IAMClient(clientConfig(region, credentials)),
  secretsManager: (region, credentials) => new SecretsManagerClient(clientConfig(region, credentials)),
  ssm: (region, credentials) => new SSMClient(clientConfig(region, credentials)),
};

export interface AwsCloudSourcesOptions {
  /** The region of the deployment (or of the local runtime): STS and IAM are called there. */
  readonly region: string;
  /** Regions scanned when neither the tenant nor the account names any. */
  readonly defaultRegions: readonly string[];
  /** The tenant whose first account is the ambient credentials' account; undefined: none. */
  readonly ambientTenant: string | undefined;
  readonly iamRatePerSecond: number;
  readonly regionalRatePerSecond: number;
  readonly concurrency: number;
  readonly clients?: AwsClientFactory;
  readonly pacer?: Partial<CallPacerOptions>;
  /** How long resolving the ambient credentials may take before they count as absent. */
  readonly credentialTimeoutMs?: number;
}

/** Why the ambient credentials cannot be used, or undefined when they can. */
async function ambientCredentialsProblem(sts: STSClient, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      sts.config.credentials(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
      }),
    ]);
    return undefined;
  } catch (error: unknown) {
    return error instanceof Error ? error.name : 'UnknownError';
  } finally {
    clearTimeout(timer);
  }
}

export class AwsCloudSources implements CloudSourceProvider {
  private readonly clients: AwsClientFactory;

  constructor(private readonly options: AwsCloudSourcesOptions) {
    this.clients = options.clients ?? sdkClientFactory;
  }

  async sourcesFor(tenant: string, settings: DiscoverySettings): Promise<CloudSources> {
    const sources: CloudSource[] = [];
    let ambientProblem: string | undefined;
    const tenantRegions = settings.regions ?? this.options.defaultRegions;
    if (tenant === this.options.ambientTenant) {
      const sts = this.clients.sts(this.options.region);
      ambientProblem = await ambientCredentialsProblem(sts, this.options.credentialTimeoutMs ?? 5_000);
      if (ambientProblem === undefined) {
        sources.push(
          this.source('ambient AWS credentials', undefined, tenantRegions, () => this.connectAmbient(sts)),
        );
      } else {
        sts.destroy();
      }
    }
    for (const account of settings.accounts) {
      sources.push(
        this.source(
          account.name === undefined ? account.roleArn : `${account.name} (${account.roleArn})`,
          account.roleArn,
          account.regions ?? tenantRegions,
          () => this.connectRole(tenant, account),
        ),
      );
    }
    if (sources.length > 0) return { sources, notice: undefined };
    const notice =
      tenant === this.options.ambientTenant
        ? `No cloud source is configured: this machine has no AWS credentials (${ambientProblem ?? 'none found'}) and tenant ${tenant} lists no account roles; findings cover the local inventory and secret store only.`
        : `No cloud source is configured: tenant ${tenant} lists no account roles (PUT /discovery/settings); findings cover the local inventory and secret store only.`;
    return { sources, notice };
  }

  private source(
    label: string,
    roleArn: string | undefined,
    regions: readonly string[],
    connect: AccountConnector,
  ): CloudSource {
    return new AwsAccountSource(label, roleArn, connect, {
      regions,
      iamRatePerSecond: this.options.iamRatePerSecond,
      regionalRatePerSecond: this.options.regionalRatePerSecond,
      concurrency: this.options.concurrency,
      ...(this.options.pacer === undefined ? {} : { pacer: this.options.pacer }),
    });
  }

  private accountClients(credentials: AwsCredentialIdentity | undefined): AwsAccountClients {
    const regional = <T>(build: (region: string) => T): ((region: string) => T) => {
      const byRegion = new Map<string, T>();
      return (region) => {
        let client = byRegion.get(region);
        if (client === undefined) {
          client = build(region);
          byRegion.set(region, client);
        }
        return client;
      };
    };
    return {
      iam: this.clients.iam(this.options.region, credentials),
      secretsManager: regional((region) => this.clients.secretsManager(region, credentials)),
      ssm: regional((region) => this.clients.ssm(region, credentials)),
    };
  }

  private async connectAmbient(sts: STSClient): Promise<{ account: string; clients: AwsAccountClients }> {
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    if (identity.Account === undefined) throw new Error('GetCallerIdentity returned no account');
    return { account: identity.Account, clients: this.accountClients(undefined) };
  }

  private async connectRole(
    tenant: string,
    account: DiscoveryAccount,
  ): Promise<{ account: string; clients: AwsAccountClients }> {
    const sts = this.clients.sts(this.options.region);
    const assumed = await sts.send(
      new AssumeRoleCommand({
        RoleArn: account.roleArn,
        RoleSessionName: `vaultpilot-discovery-${tenant}`.slice(0, 64),
        ...(account.externalId === undefined ? {} : { ExternalId: account.externalId }),
        // Role chaining (a Lambda role assuming another) allows one hour at most.
        DurationSeconds: 3600,
      }),
    );
    const credentials = assumed.Credentials;
    if (credentials?.AccessKeyId === undefined || credentials.SecretAccessKey === undefined) {
      throw new Error('AssumeRole returned no credentials');
    }
    const accountId = accountOfRole(account.roleArn);
    if (accountId === undefined) throw new Error('The role ARN names no account');
    return {
      account: accountId,
      clients: this.accountClients({
        accessKeyId: credentials.AccessKeyId,
        secretAccessKey: credentials.SecretAccessKey,
        sessionToken: credentials.SessionToken,
        expiration: credentials.Expiration,
      }),
    };
  }
}
