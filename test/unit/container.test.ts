/**
 * The container builds what each configuration asks for, from the environment alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { container, resetContainer } from '../../lambdas/shared/container.js';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';

const BASE = {
  VAULTPILOT_RUNTIME: 'local',
  VAULTPILOT_KEYRING: 'local',
  VAULTPILOT_TABLE_SECRETS: 'vaultpilot-secrets',
  VAULTPILOT_TABLE_SETTINGS: 'vaultpilot-settings',
  VAULTPILOT_TABLE_AUDIT: 'vaultpilot-audit',
  VAULTPILOT_DYNAMODB_ENDPOINT: 'http://127.0.0.1:1',
};

/** As lib/api-stack.ts configures the rotations function (rollbacks run in the worker). */
const ROTATIONS_API = {
  VAULTPILOT_RUNTIME: 'aws',
  VAULTPILOT_TABLE_ROTATIONS: 'vaultpilot-rotations',
  VAULTPILOT_TABLE_CREDENTIALS: 'vaultpilot-credentials',
  VAULTPILOT_TABLE_SETTINGS: 'vaultpilot-settings',
  VAULTPILOT_TABLE_AUDIT: 'vaultpilot-audit',
  VAULTPILOT_EVENT_BUS_NAME: 'vaultpilot-dev',
};

const saved = { ...process.env };

function configure(env: Record<string, string>): void {
  for (const key of Object.keys(process.env)) if (key.startsWith('VAULTPILOT_')) delete process.env[key];
  Object.assign(process.env, { VAULTPILOT_CONFIG_FILE: '', ...env });
  resetContainer();
}

afterEach(() => {
  resetContainer();
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

describe('container', () => {
  it('builds the secret store with the data-key cache turned off (max age 0)', () => {
    configure({ ...BASE, VAULTPILOT_DATA_KEY_CACHE_MAX_AGE_SECONDS: '0' });
    expect(() => container().secretAccess()).not.toThrow();
    expect(() => container().rewrapAdministration()).not.toThrow();
  });

  it('refuses re-wrapping on the Secrets Manager backend with a conflict that says why', () => {
    configure({ ...BASE, VAULTPILOT_SECRET_BACKEND: 'secretsmanager' });
    expect(() => container().rewrapAdministration()).toThrow(/Secrets Manager/);
  });

  it('needs the bus name for events in AWS, and uses the in-process bus locally', () => {
    configure({ ...BASE, VAULTPILOT_RUNTIME: 'aws' });
    expect(() => container().events()).toThrow(/VAULTPILOT_EVENT_BUS_NAME/);
    configure({ ...BASE, VAULTPILOT_RUNTIME: 'aws', VAULTPILOT_EVENT_BUS_NAME: 'vaultpilot-dev' });
    expect(() => container().events()).not.toThrow();
    configure(BASE);
    expect(() => container().events()).not.toThrow();
  });

  it('builds the rotations API from the settings CDK gives it: no secrets table, no key, no provider rights', () => {
    configure({
      ...ROTATIONS_API,
      VAULTPILOT_ROTATION_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/rotations',
      VAULTPILOT_ROTATION_WORKER_FUNCTION: 'VaultPilot-dev-RotationWorker',
    });
    expect(() => container().rotation().access).not.toThrow();
  });

  it('fails a rollback closed, before its runner is built, when the audit store is unreachable', async () => {
    configure(ROTATIONS_API);
    const { access } = container().rotation();
    const caller = {
      principal: {
        kind: 'user' as const,
        subject: 'sub-1',
        username: 'olga',
        tenant: 'acme',
        roles: ['admin' as const],
        scopes: [],
        clientId: 'dashboard',
      },
    };
    // A rollback is a change: its `attempted` audit record comes first (ADR 0004), and with no
    // reachable audit store here it fails closed (503) before the runner, and its setting, is needed.
    await expect(
      access.rollback(caller, 'rot_0123456789abcdef01234567_00000000012345678'),
    ).rejects.toBeInstanceOf(DependencyUnavailableError);
  });
});
