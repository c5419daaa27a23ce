import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  configVariables,
  ConfigError,
  parseFunctionConfig,
  parseLocalRuntimeConfig,
  readEnvironment,
  requireAuthConfig,
  SecretBackendSchema,
  SecretsManagerPrefixSchema,
} from '../../lambdas/shared/config.js';

const cognitoEnv = {
  VAULTPILOT_AUTH_MODE: 'cognito',
  VAULTPILOT_USER_POOL_ID: 'eu-west-1_AbCdEf123',
  VAULTPILOT_USER_CLIENT_IDS: 'client-a, client-b',
  VAULTPILOT_TABLE_SECRETS: 'VaultPilot-dev-Secrets',
};

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error: unknown) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('function configuration', () => {
  it('parses a Cognito deployment and splits comma lists', () => {
    // Act
    const config = parseFunctionConfig(cognitoEnv);

    // Assess
    expect(requireAuthConfig(config)).toEqual({
      mode: 'cognito',
      userPoolId: 'eu-west-1_AbCdEf123',
      userClientIds: ['client-a', 'client-b'],
    });
    expect(config.tables).toEqual({ secrets: 'VaultPilot-dev-Secrets' });
    expect(config.runtime).toBe('aws');
    expect(config.corsOrigins).toEqual([]);
  });

  it('names each missing variable and what is expected', () => {
    // Act
    const error = configErrorOf(() =>
      requireAuthConfig(parseFunctionConfig({ VAULTPILOT_AUTH_MODE: 'cognito' })),
    );

    // Assess
    expect(error.problems.map((problem) => problem.variable).sort()).toEqual([
      'VAULTPILOT_USER_CLIENT_IDS',
      'VAULTPILOT_USER_POOL_ID',
    ]);
    expect(error.message).toMatch(/VAULTPILOT_USER_POOL_ID: required when VAULTPILOT_AUTH_MODE=cognito/);
  });

  it('rejects a malformed value and quotes it', () => {
    // Act
    const error = configErrorOf(() =>
      parseFunctionConfig({ ...cognitoEnv, VAULTPILOT_USER_POOL_ID: 'not a pool' }),
    );

    // Assess
    expect(error.message).toContain('VAULTPILOT_USER_POOL_ID: expected a Cognito user pool id');
    expect(error.message).toContain('(got "not a pool")');
  });

  it('requires the issuer and JWKS in local auth mode', () => {
    // Act
    const error = configErrorOf(() =>
      requireAuthConfig(parseFunctionConfig({ VAULTPILOT_AUTH_MODE: 'local' })),
    );

    // Assess
    expect(error.problems.map((problem) => problem.variable)).toEqual(
      expect.arrayContaining(['VAULTPILOT_LOCAL_ISSUER', 'VAULTPILOT_LOCAL_JWKS_URI']),
    );
  });

  it('lets functions that verify no tokens start without auth settings', () => {
    // The Cognito trigger cannot be given the user pool id (the pool refers to the trigger).
    const config = parseFunctionConfig({ VAULTPILOT_TABLE_SETTINGS: 'settings-table' });
    expect(config.tables.settings).toBe('settings-table');
    expect(() => requireAuthConfig(config)).toThrow(ConfigError);
  });

  it('rejects an unknown auth mode', () => {
    const error = configErrorOf(() => parseFunctionConfig({ ...cognitoEnv, VAULTPILOT_AUTH_MODE: 'ldap' }));
    expect(error.problems[0]?.variable).toBe('VAULTPILOT_AUTH_MODE');
  });

  it('reads the secret backend with the schemas the CDK setting reuses', () => {
    // Act
    const defaults = parseFunctionConfig(cognitoEnv);
    const secretsManager = parseFunctionConfig({
      ...cognitoEnv,
      VAULTPILOT_SECRET_BACKEND: 'secretsmanager',
      VAULTPILOT_SECRETS_MANAGER_PREFIX: 'vaultpilot/prod/',
    });
    const badPrefix = configErrorOf(() =>
      parseFunctionConfig({ ...cognitoEnv, VAULTPILOT_SECRETS_MANAGER_PREFIX: 'vault pilot/' }),
    );

    // Assess
    expect(defaults.secretBackend).toEqual({ kind: 'dynamodb', secretsManagerPrefix: 'vaultpilot/' });
    expect(secretsManager.secretBackend).toEqual({
      kind: 'secretsmanager',
      secretsManagerPrefix: 'vaultpilot/prod/',
    });
    expect(badPrefix.problems[0]?.variable).toBe('VAULTPILOT_SECRETS_MANAGER_PREFIX');
    expect(SecretBackendSchema.safeParse('vault').success).toBe(false);
    expect(SecretsManagerPrefixSchema.safeParse('vault pilot/').success).toBe(false);
    expect(SecretsManagerPrefixSchema.safeParse('vaultpilot/prod/').success).toBe(true);
  });
});

describe('local runtime configuration', () => {
  it('has sane defaults', () => {
    expect(parseLocalRuntimeConfig({})).toEqual({
      port: 3000,
      host: '127.0.0.1',
      dataDir: '.vaultpilot',
      inMemory: false,
      dynamodbPort: 0,
      adminPassword: undefined,
      scheduler: true,
      logFormat: 'pretty',
      tokenTtlSeconds: 3600,
    });
  });

  it.each([
    ['PORT', 'abc', 'expected a port number'],
    ['PORT', '70000', 'expected a port between 0 and 65535'],
    ['VAULTPILOT_IN_MEMORY', 'yes', 'VAULTPILOT_IN_MEMORY'],
    ['VAULTPILOT_TOKEN_TTL_SECONDS', '5', 'expected at least 60 seconds'],
  ])('rejects %s=%s', (variable, value, expected) => {
    const error = configErrorOf(() => parseLocalRuntimeConfig({ [variable]: value }));
    expect(error.problems[0]?.variable).toBe(variable);
    expect(error.message).toContain(expected);
  });

  it('never echoes a rejected password', () => {
    // Act
    const error = configErrorOf(() => parseLocalRuntimeConfig({ VAULTPILOT_ADMIN_PASSWORD: 'short-pw' }));

    // Assess
    expect(error.message).toContain('VAULTPILOT_ADMIN_PASSWORD: expected at least 12 characters');
    expect(error.message).not.toContain('short-pw');
  });

  it('treats empty values as unset', () => {
    expect(parseLocalRuntimeConfig({ PORT: '' }).port).toBe(3000);
  });
});

describe('config file', () => {
  it('fills variables the environment does not set, and the environment wins', () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'vp-config-'));
    writeFileSync(
      join(dir, 'vaultpilot.config.json'),
      JSON.stringify({ PORT: 4100, VAULTPILOT_HOST: '0.0.0.0' }),
    );

    // Act
    const env = readEnvironment({ VAULTPILOT_HOST: '127.0.0.2' }, dir);

    // Assess
    expect(parseLocalRuntimeConfig(env)).toMatchObject({ port: 4100, host: '127.0.0.2' });
  });

  it('reports a missing explicit file and invalid JSON by variable name', () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'vp-config-'));
    writeFileSync(join(dir, 'broken.json'), '{ nope');

    // Act / Assess
    expect(
      configErrorOf(() => readEnvironment({ VAULTPILOT_CONFIG_FILE: 'missing.json' }, dir)).message,
    ).toMatch(/VAULTPILOT_CONFIG_FILE: file not found/);
    expect(
      configErrorOf(() => readEnvironment({ VAULTPILOT_CONFIG_FILE: 'broken.json' }, dir)).message,
    ).toMatch(/VAULTPILOT_CONFIG_FILE: .*broken.json is not valid JSON/);
  });

  it('lists every variable it reads', () => {
    expect(configVariables()).toEqual(
      expect.arrayContaining([
        'PORT',
        'VAULTPILOT_DATA_DIR',
        'VAULTPILOT_ADMIN_PASSWORD',
        'VAULTPILOT_TABLE_AUDIT',
      ]),
    );
  });

  it('documents every variable in the README', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    expect(configVariables().filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
  });
});
