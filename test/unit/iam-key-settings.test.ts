/**
 * The `aws-iam-access-key` settings with `secretsManagerCopy`: the registration schema and the
 * rotator's own schema accept a boolean (default false) and refuse anything else with a 400
 * naming the field; the setting is refused where no Secrets Manager is configured, or for a user
 * whose name Secrets Manager cannot use; a registration keeps it in the rotation binding.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import {
  parseInput,
  RegisterCredentialSchema,
  ROTATION_INPUT_FIELDS,
} from '../../lambdas/core/credentials/credential-input.js';
import { ValidationError } from '../../lambdas/core/errors.js';
import { InventoryRotationTargets } from '../../lambdas/core/rotation/inventory-targets.js';
import type { RotationPolicyStore } from '../../lambdas/core/rotation/rotation-store.js';
import { IamKeySettingsSchema } from '../../lambdas/rotators/aws-iam-access-key-settings.js';
import {
  createIamAccessKeyRotator,
  type IamKeyRotatorOptions,
} from '../../lambdas/rotators/aws-iam-access-key.js';
import { iamKeyCopyName, iamKeyCopyToken } from '../../lambdas/rotators/iam-key-copy.js';
import { IamKeyCopyPrefixSchema, parseFunctionConfig } from '../../lambdas/shared/config.js';
import { toHttpError } from '../../lambdas/shared/http-errors.js';
import { credential } from '../support/credentials.js';

const PREFIX = 'vaultpilot-iam-keys/test/';

function rotator(copies = true) {
  const options: IamKeyRotatorOptions = {
    iam: new IAMClient({ region: 'us-east-1' }),
    sts: (credentials) => new STSClient({ region: 'us-east-1', credentials }),
    ...(copies
      ? { secretsManager: { client: new SecretsManagerClient({ region: 'us-east-1' }), prefix: PREFIX } }
      : {}),
  };
  return createIamAccessKeyRotator(options);
}

function refusal(parse: () => unknown): { status: number; paths: string[] } {
  try {
    parse();
  } catch (error: unknown) {
    if (!(error instanceof ValidationError)) throw error;
    const issues = (error.details?.issues ?? []) as { path: unknown }[];
    return {
      status: toHttpError(error, 'req-1').statusCode,
      paths: issues.map((issue) => (Array.isArray(issue.path) ? issue.path.join('.') : String(issue.path))),
    };
  }
  throw new Error('expected a ValidationError');
}

const noPolicies: RotationPolicyStore = {
  get: async () => undefined,
  list: async () => [],
  put: () => Promise.reject(new Error('not used')),
  delete: () => Promise.reject(new Error('not used')),
};

describe('aws-iam-access-key settings', () => {
  it('default secretsManagerCopy to false and accept true', () => {
    expect(rotator().parseSettings({ userName: 'svc-app' })).toEqual({
      userName: 'svc-app',
      secretsManagerCopy: false,
    });
    expect(rotator().parseSettings({ userName: 'svc-app', secretsManagerCopy: true })).toEqual({
      userName: 'svc-app',
      secretsManagerCopy: true,
    });
  });

  it('refuse an unknown field and a value that is not a boolean with a 400 naming the field', () => {
    expect(IamKeySettingsSchema.safeParse({ userName: 'svc', secretsManagerCopies: true }).success).toBe(
      false,
    );
    expect(refusal(() => rotator().parseSettings({ userName: 'svc', secretsManagerCopy: 'yes' }))).toEqual({
      status: 400,
      paths: ['secretsManagerCopy'],
    });
    expect(
      refusal(() =>
        parseInput(
          RegisterCredentialSchema,
          { type: 'aws-iam-access-key', name: 'k', userName: 'svc', secretsManagerCopies: true },
          'credential',
        ),
      ).status,
    ).toBe(400);
    expect(
      refusal(() =>
        parseInput(
          RegisterCredentialSchema,
          { type: 'aws-iam-access-key', name: 'k', userName: 'svc', secretsManagerCopy: 1 },
          'credential',
        ),
      ),
    ).toEqual({ status: 400, paths: ['secretsManagerCopy'] });
  });

  it('refuse the copy where no Secrets Manager is configured, or for a name Secrets Manager cannot use', () => {
    expect(
      refusal(() => rotator(false).parseSettings({ userName: 'svc', secretsManagerCopy: true })),
    ).toEqual({
      status: 400,
      paths: ['secretsManagerCopy'],
    });
    expect(refusal(() => rotator().parseSettings({ userName: 'a,b', secretsManagerCopy: true }))).toEqual({
      status: 400,
      paths: ['secretsManagerCopy'],
    });
    expect(rotator(false).parseSettings({ userName: 'a,b' })).toEqual({
      userName: 'a,b',
      secretsManagerCopy: false,
    });
    expect(iamKeyCopyName(PREFIX, 'svc.app@corp')).toBe(`${PREFIX}svc.app@corp`);
  });

  it('keep the setting in the rotation binding of a registration', async () => {
    const registrar = new InventoryRotationTargets(
      { get: async () => undefined },
      async () => undefined,
      noPolicies,
      { 'aws-iam-access-key': rotator() },
    );
    const request = parseInput(
      RegisterCredentialSchema,
      {
        type: 'aws-iam-access-key',
        name: 'svc key',
        secretPath: 'aws/svc',
        userName: 'svc',
        secretsManagerCopy: true,
        rotationPolicy: { intervalDays: 30 },
      },
      'credential',
    );

    const binding = await registrar.bind(credential({ type: 'aws-iam-access-key' }), request);

    expect(ROTATION_INPUT_FIELDS).toContain('secretsManagerCopy');
    expect(binding?.settings).toEqual({ userName: 'svc', secretsManagerCopy: true });
  });
});

describe('the copy prefix and tokens', () => {
  it('take a prefix that ends with a slash and has Secrets Manager name characters only', () => {
    expect(parseFunctionConfig({ VAULTPILOT_STAGE: 'prod' }).rotation.iamKeyCopyPrefix).toBe(
      'vaultpilot-iam-keys/prod/',
    );
    expect(parseFunctionConfig({ VAULTPILOT_IAM_KEY_COPY_PREFIX: 'keys/' }).rotation.iamKeyCopyPrefix).toBe(
      'keys/',
    );
    for (const bad of ['keys', 'keys /', 'keys,x/', `${'a'.repeat(128)}/`]) {
      expect(IamKeyCopyPrefixSchema.safeParse(bad).success, bad).toBe(false);
      expect(() => parseFunctionConfig({ VAULTPILOT_IAM_KEY_COPY_PREFIX: bad })).toThrow(
        /VAULTPILOT_IAM_KEY_COPY_PREFIX/,
      );
    }
  });

  it('derive one token per rotation and purpose, within Secrets Manager’s 32 to 64 characters', () => {
    const finish = iamKeyCopyToken('t1', 'rot_a', 'finish');

    expect(finish).toBe(iamKeyCopyToken('t1', 'rot_a', 'finish'));
    expect(finish).toMatch(/^[0-9a-f]{64}$/);
    expect(iamKeyCopyToken('t1', 'rot_a', 'restore')).not.toBe(finish);
    expect(iamKeyCopyToken('t1', 'rot_b', 'finish')).not.toBe(finish);
    expect(iamKeyCopyToken('t2', 'rot_a', 'finish')).not.toBe(finish);
  });
});
