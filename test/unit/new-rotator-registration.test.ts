/**
 * Registering `ses-smtp`, `webhook-token` and `github-app-token` credentials: the registration
 * schema takes their fields (`smtp`, `webhook`, `github`), the registrar keeps only the fields the
 * type reads, checks them with the type's rotator, and refuses another type's fields (400).
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { ROTATOR_TYPES } from '../../lambdas/core/rotation/policy.js';
import { parseInput, RegisterCredentialSchema } from '../../lambdas/core/credentials/credential-input.js';
import { CREDENTIAL_TYPES } from '../../lambdas/core/credentials/credential.js';
import { ValidationError } from '../../lambdas/core/errors.js';
import { InventoryRotationTargets } from '../../lambdas/core/rotation/inventory-targets.js';
import type { RotationPolicyStore } from '../../lambdas/core/rotation/rotation-store.js';
import { createRotators } from '../../lambdas/rotators/index.js';
import { RegisterCredentialRequest } from '../../lambdas/shared/contracts/credentials.js';
import { credential } from '../support/credentials.js';

const noPolicies: RotationPolicyStore = {
  get: async () => undefined,
  list: async () => [],
  put: () => Promise.reject(new Error('not used')),
  delete: () => Promise.reject(new Error('not used')),
};

const rotators = createRotators({
  iam: {
    iam: new IAMClient({ region: 'eu-west-1' }),
    sts: (credentials) => new STSClient({ region: 'eu-west-1', credentials }),
  },
  sesSmtp: { defaultRegion: 'eu-west-1' },
});
const registrar = new InventoryRotationTargets(
  { get: async () => undefined },
  async () => undefined,
  noPolicies,
  rotators,
);

async function bind(request: Record<string, unknown>) {
  const parsed = parseInput(RegisterCredentialSchema, request, 'credential');
  // The API contract takes the same request.
  expect(RegisterCredentialRequest.safeParse(request).success).toBe(true);
  return registrar.bind(credential({ type: parsed.type }), parsed);
}

async function issuePaths(request: Record<string, unknown>): Promise<string[]> {
  try {
    await bind(request);
  } catch (error: unknown) {
    if (!(error instanceof ValidationError)) throw error;
    return ((error.details?.issues ?? []) as { path: string }[]).map((issue) => issue.path);
  }
  throw new Error('expected a ValidationError');
}

const policy = { intervalDays: 30 };

describe('registering the new rotated types', () => {
  it('lists each rotated type as a credential type', () => {
    for (const type of ROTATOR_TYPES) expect(CREDENTIAL_TYPES).toContain(type);
    for (const type of [
      'ses-smtp',
      'webhook-token',
      'github-app-token',
      'github-pat',
      'secrets-manager-secret',
    ])
      expect(rotators[type]?.type).toBe(type);
  });

  it('binds ses-smtp with its user name and SMTP regions', async () => {
    const binding = await bind({
      type: 'ses-smtp',
      name: 'mailer',
      secretPath: 'mail/smtp',
      userName: 'ses-mailer',
      smtp: { regions: ['eu-west-1', 'us-east-1'] },
      rotationPolicy: policy,
    });
    expect(binding?.settings).toEqual({
      userName: 'ses-mailer',
      smtp: { regions: ['eu-west-1', 'us-east-1'] },
    });
  });

  it('binds webhook-token and github-app-token with their settings', async () => {
    const webhook = await bind({
      type: 'webhook-token',
      name: 'partner',
      secretPath: 'api/partner',
      webhook: { url: 'https://rotate.example.com/hook', signingSecretPath: 'webhooks/partner' },
      rotationPolicy: policy,
    });
    const github = await bind({
      type: 'github-app-token',
      name: 'ci',
      secretPath: 'ci/github',
      github: { appId: 12, installationId: 34, privateKeySecretPath: 'github/app' },
      rotationPolicy: policy,
    });
    expect(webhook?.settings).toEqual({
      webhook: { url: 'https://rotate.example.com/hook', signingSecretPath: 'webhooks/partner' },
    });
    expect(github?.settings).toEqual({
      github: { appId: 12, installationId: 34, privateKeySecretPath: 'github/app' },
    });
  });

  it('binds github-pat with assisted settings, due 30 days (its largest reminder) before its expiry', async () => {
    // Prepare
    const request = {
      type: 'github-pat',
      name: 'deploy',
      owner: 'alice@example.com',
      expiresAt: '2027-06-30T00:00:00.000Z',
      secretPath: 'github/deploy',
      assisted: { secondContact: 'security@example.com' },
      rotationPolicy: policy,
    };
    const parsed = parseInput(RegisterCredentialSchema, request, 'credential');
    expect(RegisterCredentialRequest.safeParse(request).success).toBe(true);
    // Act
    const binding = await registrar.bind(
      credential({ type: 'github-pat', expiresAt: parsed.expiresAt }),
      parsed,
    );
    const longer = await registrar.bind(credential({ type: 'github-pat', expiresAt: parsed.expiresAt }), {
      ...parsed,
      assisted: { reminderDays: [60, 14] },
    });
    // Assess
    expect(binding?.settings).toEqual({ assisted: { secondContact: 'security@example.com' } });
    expect(binding?.dueAt).toBe('2027-05-31T00:00:00.000Z');
    expect(longer?.dueAt).toBe('2027-05-01T00:00:00.000Z');
  });

  it('binds secrets-manager-secret with the adopted secret and a generator', async () => {
    const binding = await bind({
      type: 'secrets-manager-secret',
      name: 'payments db',
      secretPath: 'aws/sm/payments-db',
      reference: { arn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/payments/db-AbCdEf' },
      secretsManager: {
        secretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/payments/db-AbCdEf',
      },
      generator: { field: 'password', length: 32 },
      rotationPolicy: policy,
    });
    expect(binding?.settings).toEqual({
      secretsManager: {
        secretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/payments/db-AbCdEf',
      },
      generator: { field: 'password', length: 32 },
    });
    expect(
      await issuePaths({
        type: 'secrets-manager-secret',
        name: 'x',
        secretPath: 'a/b',
        secretsManager: { secretId: 'has spaces' },
      }),
    ).toEqual(['secretsManager.secretId']);
    expect(
      await issuePaths({
        type: 'github-pat',
        name: 'x',
        secretPath: 'a/b',
        assisted: { reminderDays: [7, 7] },
      }),
    ).toEqual(['assisted.reminderDays']);
  });

  it("refuses another type's fields and invalid settings, naming the field", async () => {
    expect(
      await issuePaths({
        type: 'webhook-token',
        name: 'x',
        secretPath: 'a/b',
        webhook: { url: 'https://h.example.com', signingSecretPath: 'a/k' },
        smtp: { regions: ['eu-west-1'] },
      }),
    ).toEqual(['smtp']);
    expect(
      await issuePaths({
        type: 'ses-smtp',
        name: 'x',
        secretPath: 'a/b',
        userName: 'u',
        smtp: { regions: [] },
      }),
    ).toEqual(['smtp.regions']);
    expect(
      await issuePaths({
        type: 'github-app-token',
        name: 'x',
        secretPath: 'a/b',
        github: {
          appId: 1,
          installationId: 2,
          privateKeySecretPath: 'a/k',
          baseUrl: 'http://ghe.example.com',
        },
      }),
    ).toEqual(['github.baseUrl']);
  });
});
