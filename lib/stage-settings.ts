/**
 * What a deployment of VaultPilot may vary, read once from CDK context (`cdk.json` or
 * `-c key=value`). Everything else is fixed in the stacks, so two stages differ only here.
 */
import { Aws } from 'aws-cdk-lib';
import type { Node } from 'constructs';
import {
  DEFAULT_VAULT_MOUNT,
  SecretBackendSchema,
  SecretsManagerPrefixSchema,
  VaultMountSchema,
} from '../lambdas/shared/config.js';

/**
 * Where the API keeps secret versions (issue 3, docs/secrets-manager-backend.md): DynamoDB (the
 * default) or one Secrets Manager secret per path, named under `prefix`.
 */
export type SecretBackendSetting =
  { readonly kind: 'dynamodb' } | { readonly kind: 'secretsmanager'; readonly prefix: string };

export interface StageSettings {
  /** Stage name: part of stack names, resource names and `VAULTPILOT_STAGE`. */
  readonly stage: string;
  /** Prefix of the Cognito hosted domain (`<prefix>.auth.<region>.amazoncognito.com`). */
  readonly cognitoDomainPrefix: string;
  /** Further browser origins allowed to call the API and sign in, e.g. a local dashboard dev server. */
  readonly extraOrigins: readonly string[];
  /** Custom domain of the dashboard and its ACM certificate (us-east-1); both or neither. */
  readonly webDomain?: { readonly domainName: string; readonly certificateArn: string };
  /** An address that receives the alarm notifications, subscribed to the alarm topic. */
  readonly alarmEmail?: string;
  /** The From address of alert emails (`notifyFrom`): a verified SES identity of the account. */
  readonly notifyFrom?: string;
  /** The secret store backend of the API (`secretBackend`, `secretsManagerPrefix`). */
  readonly secretBackend: SecretBackendSetting;
  /** The Vault KV v2 mount served under `/v1/` (`vaultMount`, default `secret`; docs/vault-api.md). */
  readonly vaultMount: string;
  /** What the discovery engine may reach (ADR 0005). */
  readonly discovery: DiscoverySettingsOfStage;
  /** Where the rotation worker runs to reach databases in private subnets; undefined: no VPC. */
  readonly rotationVpc?: RotationVpcSettings;
  /** Cognito threat protection (`cognitoThreatProtection`): `enforced` (default), `audit` or `off`. */
  readonly cognitoThreatProtection: 'enforced' | 'audit' | 'off';
}

/**
 * The rotation worker's VPC placement (`rotationVpcId`, `rotationSubnetIds`, optional
 * `rotationSecurityGroupIds`): given as ids, so synth needs no lookup and no credentials.
 */
export interface RotationVpcSettings {
  readonly vpcId: string;
  readonly subnetIds: readonly string[];
  /** Empty: the stack creates a security group for the worker (outbound only). */
  readonly securityGroupIds: readonly string[];
}

export interface DiscoverySettingsOfStage {
  /**
   * Roles the discovery function may assume in member accounts (`discoveryRoleArns`); `*` may
   * stand for the account. Default: the role the member-account template creates, in any account.
   */
  readonly roleArns: readonly string[];
  /** The tenant whose first account is the deployment's own (`discoveryAmbientTenant`, `none` for none). */
  readonly ambientTenant: string;
}

/** The role name the member-account template (lib/discovery-member-role-stack.ts) creates. */
export const DISCOVERY_MEMBER_ROLE_NAME = 'VaultPilotDiscoveryReadOnly';
const DISCOVERY_ROLE_ARN_PATTERN = /^arn:aws(?:-[a-z]+)*:iam::(?:\d{12}|\*):role\/[\w+=,.@/*-]{1,512}$/;
const AMBIENT_TENANT_PATTERN = /^(none|[a-z0-9][a-z0-9-]{0,62})$/;

function discoveryFrom(node: Node): DiscoverySettingsOfStage {
  const roleArns = stringList(node, 'discoveryRoleArns');
  for (const arn of roleArns) {
    if (!DISCOVERY_ROLE_ARN_PATTERN.test(arn)) {
      throw new StageSettingsError(
        `Context "discoveryRoleArns" takes IAM role ARNs such as arn:aws:iam::123456789012:role/${DISCOVERY_MEMBER_ROLE_NAME} ("*" may stand for the account) (got "${arn}")`,
      );
    }
  }
  const ambientTenant = optionalString(node, 'discoveryAmbientTenant') ?? 'default';
  if (!AMBIENT_TENANT_PATTERN.test(ambientTenant)) {
    throw new StageSettingsError(
      `Context "discoveryAmbientTenant" must be a tenant id or "none" (got "${ambientTenant}")`,
    );
  }
  return {
    roleArns:
      roleArns.length > 0 ? roleArns : [`arn:${Aws.PARTITION}:iam::*:role/${DISCOVERY_MEMBER_ROLE_NAME}`],
    ambientTenant,
  };
}

function rotationVpcFrom(node: Node): RotationVpcSettings | undefined {
  const vpcId = optionalString(node, 'rotationVpcId');
  const subnetIds = stringList(node, 'rotationSubnetIds');
  const securityGroupIds = stringList(node, 'rotationSecurityGroupIds');
  if (vpcId === undefined) {
    if (subnetIds.length > 0 || securityGroupIds.length > 0) {
      throw new StageSettingsError(
        'Context "rotationSubnetIds" and "rotationSecurityGroupIds" need "rotationVpcId": set the VPC too',
      );
    }
    return undefined;
  }
  if (!/^vpc-[0-9a-f]{8,17}$/.test(vpcId)) {
    throw new StageSettingsError(
      `Context "rotationVpcId" must be a VPC id such as vpc-0123456789abcdef0 (got "${vpcId}")`,
    );
  }
  if (subnetIds.length === 0) {
    throw new StageSettingsError(
      'Context "rotationVpcId" needs "rotationSubnetIds": the private subnets the worker runs in (comma-separated)',
    );
  }
  for (const id of subnetIds) {
    if (!/^subnet-[0-9a-f]{8,17}$/.test(id)) {
      throw new StageSettingsError(
        `Context "rotationSubnetIds" takes subnet ids such as subnet-0123456789abcdef0 (got "${id}")`,
      );
    }
  }
  for (const id of securityGroupIds) {
    if (!/^sg-[0-9a-f]{8,17}$/.test(id)) {
      throw new StageSettingsError(
        `Context "rotationSecurityGroupIds" takes security group ids such as sg-0123456789abcdef0 (got "${id}")`,
      );
    }
  }
  if (securityGroupIds.length > 5) {
    throw new StageSettingsError(
      'Context "rotationSecurityGroupIds" takes at most 5 security groups (a Lambda limit)',
    );
  }
  return { vpcId, subnetIds, securityGroupIds };
}

export class StageSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StageSettingsError';
  }
}

/** The same rule as `VAULTPILOT_STAGE` in lambdas/shared/config.ts, so every stage name also runs. */
const STAGE_PATTERN = /^[a-z0-9-]{1,20}$/;
const ORIGIN_PATTERN = /^(https:\/\/[a-z0-9.-]+|http:\/\/(localhost|127\.0\.0\.1))(:\d{1,5})?$/;
const DOMAIN_PREFIX_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function optionalString(node: Node, key: string): string | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new StageSettingsError(`Context "${key}" must be a string`);
  return value.trim();
}

/** A list from context: a JSON array in cdk.json, or a comma-separated string from `-c`. */
function stringList(node: Node, key: string): string[] {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return [];
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined;
  if (items === undefined || !items.every((item) => typeof item === 'string')) {
    throw new StageSettingsError(`Context "${key}" must be a list of strings or a comma-separated string`);
  }
  return items.map((item) => item.trim()).filter((item) => item.length > 0);
}

/**
 * `secretBackend` and `secretsManagerPrefix`, checked with the schemas the functions read
 * `VAULTPILOT_SECRET_BACKEND` and `VAULTPILOT_SECRETS_MANAGER_PREFIX` with, so a deployment
 * cannot hand its functions a value they refuse at cold start.
 */
function secretBackendFrom(node: Node, stage: string): SecretBackendSetting {
  const requested = optionalString(node, 'secretBackend') ?? 'dynamodb';
  const backend = SecretBackendSchema.safeParse(requested);
  if (!backend.success) {
    const kinds = SecretBackendSchema.options.map((kind) => `"${kind}"`).join(' or ');
    throw new StageSettingsError(`Context "secretBackend" must be ${kinds} (got "${requested}")`);
  }
  const explicitPrefix = optionalString(node, 'secretsManagerPrefix');
  if (backend.data === 'dynamodb') {
    if (explicitPrefix !== undefined) {
      throw new StageSettingsError(
        'Context "secretsManagerPrefix" applies only with "secretBackend=secretsmanager"; set both or drop the prefix',
      );
    }
    return { kind: 'dynamodb' };
  }
  // The stage is part of the default, so stages sharing an account never share secrets or grants.
  const candidate = explicitPrefix ?? `vaultpilot/${stage}/`;
  const prefix = SecretsManagerPrefixSchema.safeParse(candidate);
  if (!prefix.success) {
    const expected = prefix.error.issues.map((issue) => issue.message).join('; ');
    throw new StageSettingsError(`Context "secretsManagerPrefix": ${expected} (got "${candidate}")`);
  }
  // The grant is `secret:<prefix>*`; without a closing slash it would also cover sibling names
  // (`vaultpilot*` matches `vaultpilot-billing/...`).
  if (!prefix.data.endsWith('/')) {
    throw new StageSettingsError(
      `Context "secretsManagerPrefix" must end with "/" so its IAM grant covers no other secrets (got "${prefix.data}")`,
    );
  }
  return { kind: 'secretsmanager', prefix: prefix.data };
}

export function stageSettingsFrom(node: Node): StageSettings {
  const stage = optionalString(node, 'stage') ?? 'dev';
  if (!STAGE_PATTERN.test(stage)) {
    throw new StageSettingsError(
      `Context "stage" must be 1-20 lowercase letters, digits or dashes (got "${stage}")`,
    );
  }

  const explicitPrefix = optionalString(node, 'cognitoDomainPrefix');
  if (explicitPrefix !== undefined && !DOMAIN_PREFIX_PATTERN.test(explicitPrefix)) {
    throw new StageSettingsError(
      `Context "cognitoDomainPrefix" must be lowercase letters, digits and inner dashes (got "${explicitPrefix}")`,
    );
  }
  // Cognito domain prefixes are unique per region across all AWS customers, so the default
  // carries the account id (resolved by CloudFormation; synth needs no credentials).
  const cognitoDomainPrefix = explicitPrefix ?? `vaultpilot-${stage}-${Aws.ACCOUNT_ID}`;

  const extraOrigins = stringList(node, 'extraOrigins');
  for (const origin of extraOrigins) {
    if (!ORIGIN_PATTERN.test(origin)) {
      throw new StageSettingsError(
        `Context "extraOrigins" takes origins such as https://app.example.com or http://localhost:5173 (got "${origin}")`,
      );
    }
  }

  const domainName = optionalString(node, 'webDomainName');
  const certificateArn = optionalString(node, 'webCertificateArn');
  if ((domainName === undefined) !== (certificateArn === undefined)) {
    throw new StageSettingsError(
      'Context "webDomainName" and "webCertificateArn" go together: set both or neither',
    );
  }
  if (certificateArn !== undefined && !certificateArn.startsWith('arn:aws')) {
    throw new StageSettingsError(
      `Context "webCertificateArn" must be an ACM certificate ARN (got "${certificateArn}")`,
    );
  }

  const rotationVpc = rotationVpcFrom(node);

  const alarmEmail = optionalString(node, 'alarmEmail');
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+$/.test(alarmEmail)) {
    throw new StageSettingsError(`Context "alarmEmail" must be an email address (got "${alarmEmail}")`);
  }

  const notifyFrom = optionalString(node, 'notifyFrom');
  if (notifyFrom !== undefined && !/^([^<>\r\n]*<)?[^\s@<>]+@[^\s@<>]+>?$/.test(notifyFrom)) {
    throw new StageSettingsError(
      `Context "notifyFrom" must be an email address, optionally "Name <address>" (got "${notifyFrom}")`,
    );
  }

  const vaultMount = optionalString(node, 'vaultMount') ?? DEFAULT_VAULT_MOUNT;
  const mountCheck = VaultMountSchema.safeParse(vaultMount);
  if (!mountCheck.success) {
    const expected = mountCheck.error.issues.map((issue) => issue.message).join('; ');
    throw new StageSettingsError(`Context "vaultMount": ${expected} (got "${vaultMount}")`);
  }

  const threatProtection = optionalString(node, 'cognitoThreatProtection') ?? 'enforced';
  if (threatProtection !== 'enforced' && threatProtection !== 'audit' && threatProtection !== 'off') {
    throw new StageSettingsError(
      `Context "cognitoThreatProtection" must be "enforced", "audit" or "off" (got "${threatProtection}")`,
    );
  }

  return {
    stage,
    cognitoDomainPrefix,
    cognitoThreatProtection: threatProtection,
    extraOrigins,
    ...(domainName !== undefined && certificateArn !== undefined
      ? { webDomain: { domainName, certificateArn } }
      : {}),
    ...(alarmEmail !== undefined ? { alarmEmail } : {}),
    ...(notifyFrom !== undefined ? { notifyFrom } : {}),
    secretBackend: secretBackendFrom(node, stage),
    vaultMount,
    discovery: discoveryFrom(node),
    ...(rotationVpc === undefined ? {} : { rotationVpc }),
  };
}
