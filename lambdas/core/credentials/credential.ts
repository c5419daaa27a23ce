/**
 * The credential inventory's one record: every long-lived credential VaultPilot can see, whether
 * the discovery engine found it (an IAM access key, a Secrets Manager secret, an SSM SecureString
 * parameter, a secret of VaultPilot's own store) or a person registered it (a vendor token with
 * an expiry date). The inventory holds facts about a credential, never its value.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Finding } from './findings.js';

export const CREDENTIAL_TYPES = [
  'aws-iam-access-key',
  'secretsmanager-secret',
  'ssm-parameter',
  'postgres-password',
  'ses-smtp',
  'github-token',
  'api-token',
  'vault-secret',
  'webhook-token',
  'github-app-token',
  'github-pat',
  'secrets-manager-secret',
] as const;
export type CredentialType = (typeof CREDENTIAL_TYPES)[number];

/** `discovered`: found and kept current by the discovery engine. `managed`: registered through the API. */
export const CREDENTIAL_SOURCES = ['discovered', 'managed'] as const;
export type CredentialSource = (typeof CREDENTIAL_SOURCES)[number];

export const CREDENTIAL_STATUSES = [
  'healthy',
  'expiring',
  'overdue',
  'unused',
  'rotating',
  'failed',
  'gone',
] as const;
export type CredentialStatus = (typeof CREDENTIAL_STATUSES)[number];

/** Set by the rotation engine while it works on a credential, or after it gave up. */
export type RotationState = 'rotating' | 'failed';

/** Where the credential lives. Every field is optional; which ones apply depends on the type. */
export interface CredentialReference {
  readonly arn?: string | undefined;
  /** AWS account id (12 digits). */
  readonly account?: string | undefined;
  readonly region?: string | undefined;
  /** IAM access key id. */
  readonly keyId?: string | undefined;
  /** IAM user owning an access key (`<root>` for the account's root user). */
  readonly userName?: string | undefined;
  /** Secret path in VaultPilot's store, or SSM parameter name. */
  readonly path?: string | undefined;
  /** Anything else that locates a credential: a URL, host and database, a vendor's console. */
  readonly location?: string | undefined;
}

/** A discovered fact kept as reported (key status, rotation enabled, parameter tier, …). */
export type FactValue = string | number | boolean;

export interface Credential {
  readonly id: string;
  readonly tenant: string;
  readonly type: CredentialType;
  readonly source: CredentialSource;
  /** Human-readable name: key id and user, secret name, parameter name, or what a person chose. */
  readonly name: string;
  readonly description: string | undefined;
  readonly reference: CredentialReference;
  /** Who answers for the credential: set by people; a discovered tag may suggest it once. */
  readonly owner: string | undefined;
  /** Tags set through VaultPilot. */
  readonly tags: Readonly<Record<string, string>>;
  /** Tags the source reported (e.g. a Secrets Manager secret's tags); refreshed by discovery. */
  readonly sourceTags: Readonly<Record<string, string>>;
  /** ISO-8601 times; undefined when unknown. */
  readonly createdAt: string | undefined;
  readonly lastRotatedAt: string | undefined;
  readonly lastUsedAt: string | undefined;
  /**
   * Whether the source tracks use at all. When true, an undefined `lastUsedAt` means "never
   * used"; when false it means "not known", and no usage finding is raised.
   */
  readonly usageTracked: boolean;
  readonly expiresAt: string | undefined;
  /** Name of the rotation policy that applies (the rotation engine reads it). */
  readonly rotationPolicy: string | undefined;
  readonly rotationState: RotationState | undefined;
  readonly status: CredentialStatus;
  readonly findings: readonly Finding[];
  readonly facts: Readonly<Record<string, FactValue>>;
  /** The discovery scope that reported it (`aws:<account>:iam`, …); discovered credentials only. */
  readonly scope: string | undefined;
  /** When it entered the inventory. */
  readonly registeredAt: string;
  readonly updatedAt: string;
  /** When discovery last found it missing at its source; set while `status` is `gone`. */
  readonly goneAt: string | undefined;
  /** Increases with every stored change; writes are conditional on it. */
  readonly revision: number;
  /** How VaultPilot rotates it (managed credentials of a rotatable type); see `RotationBinding`. */
  readonly rotation?: RotationBinding | undefined;
}

/**
 * What the rotation engine needs about a managed credential beyond the inventory's facts: where
 * its current value lives in the secret store, its type's own settings, an inline policy when
 * the registration gave one instead of a name, and when it is next due (the `dueForRotation`
 * index sorts by it). Settings name hosts, roles, users and secret paths, never values.
 */
export interface RotationBinding {
  readonly secretPath: string;
  /** generator, connection, strategy, managingSecretPath, userName: as the type's rotator reads them. */
  readonly settings: Readonly<Record<string, unknown>>;
  readonly policy?: Readonly<Record<string, unknown>> | undefined;
  /** ISO-8601; undefined while rotation is not enabled (no policy) or the credential is exempt. */
  readonly dueAt?: string | undefined;
}

const ID_PATTERN = /^cr_[0-9a-f]{24}$/;

/**
 * The id of a discovered credential: derived from what identifies it at its source, so every run
 * upserts the same item (idempotent) and two runs can never create two records of one key.
 */
export function discoveredCredentialId(type: CredentialType, naturalKey: string): string {
  return `cr_${createHash('sha256').update(`${type}\n${naturalKey}`).digest('hex').slice(0, 24)}`;
}

/** A fresh random id for a registered credential. */
export function newCredentialId(): string {
  return `cr_${randomBytes(12).toString('hex')}`;
}

export function isCredentialId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** All tags of a credential, VaultPilot's own over the source's. */
export function effectiveTags(credential: Pick<Credential, 'tags' | 'sourceTags'>): Record<string, string> {
  return { ...credential.sourceTags, ...credential.tags };
}
