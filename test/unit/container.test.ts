/**
 * The container builds what each configuration asks for, from the environment alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { container, resetContainer } from '../../lambdas/shared/container.js';

const BASE = {
  VAULTPILOT_RUNTIME: 'local',
  VAULTPILOT_KEYRING: 'local',
  VAULTPILOT_TABLE_SECRETS: 'vaultpilot-secrets',
  VAULTPILOT_TABLE_SETTINGS: 'vaultpilot-settings',
  VAULTPILOT_TABLE_AUDIT: 'vaultpilot-audit',
  VAULTPILOT_DYNAMODB_ENDPOINT: 'http://127.0.0.1:1',
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
});
