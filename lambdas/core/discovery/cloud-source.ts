/**
 * The ports through which discovery sees cloud accounts. An adapter (AWS SDK) lists what one
 * account holds and reports it as `DiscoveredCredential`s; it never reads a secret's value.
 *
 * A scan reports which *scopes* (one service in one account and region) it listed to the very
 * end. Only in those scopes may a credential that was not reported be marked `gone`: when a
 * listing failed half-way (throttling that never ended, access denied, the time budget ran out),
 * its credentials are simply not judged this time.
 */
import type { CredentialReference, CredentialType, FactValue } from '../credentials/credential.js';
import type { DiscoverySettings } from './settings.js';

export interface DiscoveredCredential {
  readonly type: CredentialType;
  /** What identifies it at its source (key id, secret ARN, account + region + name). */
  readonly naturalKey: string;
  /** The scope whose listing reported it. */
  readonly scope: string;
  readonly name: string;
  readonly description?: string | undefined;
  readonly reference: CredentialReference;
  readonly createdAt?: string | undefined;
  readonly lastRotatedAt?: string | undefined;
  readonly lastUsedAt?: string | undefined;
  /** Whether `lastUsedAt` could be read (its absence then means "never used"). */
  readonly usageTracked: boolean;
  readonly expiresAt?: string | undefined;
  readonly sourceTags: Readonly<Record<string, string>>;
  /** An owner suggested by the source (an `owner` tag); used only while nobody has set one. */
  readonly ownerHint?: string | undefined;
  readonly facts: Readonly<Record<string, FactValue>>;
}

/** Something that went wrong in one part of a scan. Messages name operations and codes, never values. */
export interface ScanError {
  readonly service: string;
  readonly operation: string;
  readonly code: string;
  readonly message: string;
  readonly account?: string | undefined;
  readonly region?: string | undefined;
}

export interface SourceScan {
  /** The account id, once known (undefined when not even the role could be assumed). */
  readonly account: string | undefined;
  readonly credentials: readonly DiscoveredCredential[];
  /** Scopes listed to the end. */
  readonly completeScopes: readonly string[];
  readonly errors: readonly ScanError[];
  /** API calls made (for the run record and the benchmark). */
  readonly calls: number;
}

export interface CloudSource {
  /** For people: the account and how it is reached. */
  readonly label: string;
  readonly roleArn: string | undefined;
  /** Lists the account. Never rejects: every failure is in `errors`. Stops starting calls at `deadline`. */
  scan(options: { readonly deadline: Date }): Promise<SourceScan>;
}

export interface CloudSources {
  readonly sources: readonly CloudSource[];
  /** Why there are none, in a sentence for people ("No cloud source is configured …"). */
  readonly notice: string | undefined;
}

export interface CloudSourceProvider {
  /** The accounts a tenant's run scans: the configured roles, and ambient credentials where they apply. */
  sourcesFor(tenant: string, settings: DiscoverySettings): Promise<CloudSources>;
}

/** Scope names: `aws:<account>:iam`, `aws:<account>:secretsmanager:<region>`, `aws:<account>:ssm:<region>`. */
export function awsScope(
  account: string,
  service: 'iam' | 'secretsmanager' | 'ssm',
  region?: string,
): string {
  return region === undefined ? `aws:${account}:${service}` : `aws:${account}:${service}:${region}`;
}

/** The scope of the secrets in VaultPilot's own store. */
export const STORED_SECRETS_SCOPE = 'vaultpilot:secrets';
