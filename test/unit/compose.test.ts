/**
 * Each function composes exactly what it uses, from its manifest's configuration: what it is
 * given (use cases, the middleware's verifier and refusal sink), what the platform picks for
 * its runtime, and what stops it at cold start.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CognitoTokenVerifier } from '../../lambdas/adapters/aws/cognito-token-verifier.js';
import { EventBridgePublisher } from '../../lambdas/adapters/aws/eventbridge-publisher.js';
import { KmsDigestSigner } from '../../lambdas/adapters/aws/kms-digest-signer.js';
import { KmsKeyring } from '../../lambdas/adapters/aws/kms-keyring.js';
import { LambdaRollbackRunner } from '../../lambdas/adapters/aws/lambda-rollback-runner.js';
import { SqsRotationQueue } from '../../lambdas/adapters/aws/sqs-rotation-queue.js';
import { FileDigestSigner } from '../../lambdas/adapters/local/file-digest-signer.js';
import { FileKeyring } from '../../lambdas/adapters/local/file-keyring.js';
import { localRollbackRunner } from '../../lambdas/adapters/local/in-process-rollback-runner.js';
import { localRotationQueue } from '../../lambdas/adapters/local/in-process-rotation-queue.js';
import { LocalTokenVerifier } from '../../lambdas/adapters/local/local-token-verifier.js';
import { PolicyAdministration } from '../../lambdas/core/access/policy-admin.js';
import { AuditLog } from '../../lambdas/core/audit/audit-log.js';
import { AuditSequencer } from '../../lambdas/core/audit/audit-sequencer.js';
import { ChainingAuditSink } from '../../lambdas/core/audit/chaining-sink.js';
import { CredentialInventory } from '../../lambdas/core/credentials/inventory.js';
import { DiscoveryControl } from '../../lambdas/core/discovery/control.js';
import { DiscoveryEngine } from '../../lambdas/core/discovery/engine.js';
import { RotationEngine } from '../../lambdas/core/rotation/engine.js';
import { RotationAccess } from '../../lambdas/core/rotation/rotation-access.js';
import { RotationScheduler } from '../../lambdas/core/rotation/scheduler.js';
import { RewrapAdministration } from '../../lambdas/core/secrets/rewrap.js';
import { SecretAccess } from '../../lambdas/core/secrets/secret-access.js';
import { admin } from '../../lambdas/functions/admin/compose.js';
import { audit } from '../../lambdas/functions/audit/compose.js';
import { auditSequencer } from '../../lambdas/functions/audit-sequencer/compose.js';
import { credentials } from '../../lambdas/functions/credentials/compose.js';
import { discovery } from '../../lambdas/functions/discovery/compose.js';
import { discoveryApi } from '../../lambdas/functions/discovery-api/compose.js';
import { health } from '../../lambdas/functions/health/compose.js';
import { me } from '../../lambdas/functions/me/compose.js';
import { policies } from '../../lambdas/functions/policies/compose.js';
import { rotationScheduler } from '../../lambdas/functions/rotation-scheduler/compose.js';
import { rotationWorker } from '../../lambdas/functions/rotation-worker/compose.js';
import { rotations } from '../../lambdas/functions/rotations/compose.js';
import { secrets } from '../../lambdas/functions/secrets/compose.js';
import { resetFunctions } from '../../lambdas/platform/cold-start.js';
import * as platform from '../../lambdas/platform/index.js';
import { ConfigError, parseFunctionConfig } from '../../lambdas/shared/config.js';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';

const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/0b6c4a3e-1111-2222-3333-444455556666';

/** Every variable CDK sets on some function in AWS (lib/function-grants.ts). */
const AWS_ENV = {
  VAULTPILOT_RUNTIME: 'aws',
  AWS_REGION: 'eu-west-1',
  VAULTPILOT_AUTH_MODE: 'cognito',
  VAULTPILOT_USER_POOL_ID: 'eu-west-1_AbCdEf123',
  VAULTPILOT_USER_CLIENT_IDS: 'dashboard',
  VAULTPILOT_CORS_ORIGINS: 'https://dashboard.example.com',
  VAULTPILOT_TABLE_SECRETS: 'vp-secrets',
  VAULTPILOT_TABLE_SETTINGS: 'vp-settings',
  VAULTPILOT_TABLE_AUDIT: 'vp-audit',
  VAULTPILOT_TABLE_CREDENTIALS: 'vp-credentials',
  VAULTPILOT_TABLE_ROTATIONS: 'vp-rotations',
  VAULTPILOT_KEYRING: 'kms',
  VAULTPILOT_KMS_KEY_ID: KEY_ARN,
  VAULTPILOT_AUDIT_SIGNER: 'kms',
  VAULTPILOT_AUDIT_SIGNING_KEY_ID: KEY_ARN,
  VAULTPILOT_EVENT_BUS_NAME: 'vaultpilot-dev',
  VAULTPILOT_ROTATION_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/rotations',
  VAULTPILOT_ROTATION_WORKER_FUNCTION: 'VaultPilot-dev-RotationWorker',
};

/** What the local runtime sets (lambdas/local/runtime.ts), without a data directory. */
const LOCAL_ENV = {
  VAULTPILOT_RUNTIME: 'local',
  VAULTPILOT_AUTH_MODE: 'local',
  VAULTPILOT_LOCAL_ISSUER: 'http://127.0.0.1:1',
  VAULTPILOT_LOCAL_JWKS_URI: 'http://127.0.0.1:1/.well-known/jwks.json',
  VAULTPILOT_USER_CLIENT_IDS: 'vaultpilot-local',
  VAULTPILOT_DYNAMODB_ENDPOINT: 'http://127.0.0.1:1',
  VAULTPILOT_KEYRING: 'local',
  VAULTPILOT_AUDIT_SIGNER: 'local',
  VAULTPILOT_TABLE_SECRETS: 'vp-secrets',
  VAULTPILOT_TABLE_SETTINGS: 'vp-settings',
  VAULTPILOT_TABLE_AUDIT: 'vp-audit',
  VAULTPILOT_TABLE_CREDENTIALS: 'vp-credentials',
  VAULTPILOT_TABLE_ROTATIONS: 'vp-rotations',
};

const saved = { ...process.env };

function configure(env: Record<string, string>): void {
  for (const key of Object.keys(process.env)) if (key.startsWith('VAULTPILOT_')) delete process.env[key];
  Object.assign(process.env, { VAULTPILOT_CONFIG_FILE: '', ...env });
  resetFunctions();
}

function without(env: Record<string, string>, ...names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !names.includes(name)));
}

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error: unknown) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

afterEach(() => {
  resetFunctions();
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

describe('function compositions in AWS', () => {
  it('gives the public functions no token verifier and no audit sink', () => {
    // Prepare
    configure(AWS_ENV);

    // Act
    const composed = health();

    // Assess
    expect(composed.api.tokens).toBeUndefined();
    expect(composed.api.refusalAuditSink).toBeUndefined();
    expect(composed.api.corsOrigins).toEqual(['https://dashboard.example.com']);
    expect(composed.runtime).toBe('aws');
  });

  it('gives /me the Cognito verifier of the pool and the user clients, and nothing else', () => {
    configure(AWS_ENV);

    const composed = me();

    expect(composed.api.tokens?.verifier).toBeInstanceOf(CognitoTokenVerifier);
    expect(composed.api.tokens?.userClientIds).toEqual(['dashboard']);
    expect(composed.api.refusalAuditSink).toBeUndefined();
  });

  it('composes the secret store with its refusal sink (the durable sink, no in-process chaining)', () => {
    configure(AWS_ENV);

    const composed = secrets();

    expect(composed.access).toBeInstanceOf(SecretAccess);
    expect(composed.api.refusalAuditSink).toBeDefined();
    expect(composed.api.refusalAuditSink).not.toBeInstanceOf(ChainingAuditSink);
    expect(composed.config.tables).toMatchObject({ secrets: 'vp-secrets', settings: 'vp-settings' });
  });

  it('composes each API function onto its use cases', () => {
    configure(AWS_ENV);

    expect(policies().administration).toBeInstanceOf(PolicyAdministration);
    expect(audit().log).toBeInstanceOf(AuditLog);
    expect(credentials().inventory).toBeInstanceOf(CredentialInventory);
    expect(discoveryApi().control).toBeInstanceOf(DiscoveryControl);
    expect(rotations().access).toBeInstanceOf(RotationAccess);
    expect(admin().rewrap()).toBeInstanceOf(RewrapAdministration);
  });

  it('composes the engines and the workers onto theirs', () => {
    configure(AWS_ENV);

    expect(discovery().engine).toBeInstanceOf(DiscoveryEngine);
    expect(rotationScheduler().scheduler).toBeInstanceOf(RotationScheduler);
    expect(rotationWorker().engine).toBeInstanceOf(RotationEngine);
    expect(rotationWorker().concurrency).toEqual({ concurrency: 4, perTenant: 2 });
    expect(auditSequencer().sequencer).toBeInstanceOf(AuditSequencer);
  });

  it('builds the rotations API from what CDK gives it: no secrets table, no key', () => {
    configure(without(AWS_ENV, 'VAULTPILOT_TABLE_SECRETS', 'VAULTPILOT_KMS_KEY_ID', 'VAULTPILOT_KEYRING'));

    expect(rotations().access).toBeInstanceOf(RotationAccess);
  });

  it('fails a rollback closed, before its runner is built, when the audit store is unreachable', async () => {
    // Prepare: a DynamoDB endpoint nothing listens on.
    configure({ ...AWS_ENV, VAULTPILOT_DYNAMODB_ENDPOINT: 'http://127.0.0.1:1' });
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

    // Act: a rollback is a change, so its `attempted` audit record comes first (ADR 0004).
    const attempt = rotations().access.rollback(caller, 'rot_0123456789abcdef01234567_00000000012345678');

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('refuses re-wrapping on the Secrets Manager backend with a conflict that says why', async () => {
    // Prepare: on that backend the admin function gets no secrets table and no key use.
    configure({
      ...without(AWS_ENV, 'VAULTPILOT_TABLE_SECRETS', 'VAULTPILOT_KMS_KEY_ID'),
      VAULTPILOT_SECRET_BACKEND: 'secretsmanager',
    });

    // Act
    const refusal = (() => {
      try {
        return admin().rewrap();
      } catch (error: unknown) {
        return error;
      }
    })();

    // Assess
    expect(refusal).toMatchObject({ name: 'ConflictError' });
    expect((refusal as Error).message).toMatch(/Secrets Manager/);
  });

  it('composes the secret store with the data-key cache turned off (max age 0)', () => {
    configure({ ...AWS_ENV, VAULTPILOT_DATA_KEY_CACHE_MAX_AGE_SECONDS: '0' });

    expect(secrets().access).toBeInstanceOf(SecretAccess);
  });
});

describe('cold start', () => {
  it.each([
    ['secrets', () => secrets(), 'VAULTPILOT_TABLE_SECRETS'],
    ['secrets', () => secrets(), 'VAULTPILOT_KMS_KEY_ID'],
    ['secrets', () => secrets(), 'VAULTPILOT_USER_POOL_ID'],
    ['audit', () => audit(), 'VAULTPILOT_AUDIT_SIGNING_KEY_ID'],
    ['credentials', () => credentials(), 'VAULTPILOT_EVENT_BUS_NAME'],
    ['rotations', () => rotations(), 'VAULTPILOT_ROTATION_QUEUE_URL'],
    ['rotations', () => rotations(), 'VAULTPILOT_ROTATION_WORKER_FUNCTION'],
    ['rotation scheduler', () => rotationScheduler(), 'VAULTPILOT_TABLE_ROTATIONS'],
  ])('stops the %s function without %s, naming it', (_name, compose, variable) => {
    configure(without(AWS_ENV, variable));

    const error = configErrorOf(compose);

    expect(error.problems.map((problem) => problem.variable)).toEqual([variable]);
    expect(error.message).toContain(variable);
  });

  it('names every missing variable at once', () => {
    configure({ VAULTPILOT_RUNTIME: 'aws', VAULTPILOT_AUTH_MODE: 'cognito' });

    const error = configErrorOf(() => secrets());

    expect(error.problems.map((problem) => problem.variable).sort()).toEqual([
      // The bus it publishes integrity failures on.
      'VAULTPILOT_EVENT_BUS_NAME',
      'VAULTPILOT_KMS_KEY_ID',
      'VAULTPILOT_TABLE_AUDIT',
      'VAULTPILOT_TABLE_SECRETS',
      'VAULTPILOT_TABLE_SETTINGS',
      'VAULTPILOT_USER_CLIENT_IDS',
      'VAULTPILOT_USER_POOL_ID',
    ]);
  });

  it('needs none of the AWS-only names locally', () => {
    configure(LOCAL_ENV);

    expect(rotations().access).toBeInstanceOf(RotationAccess);
    expect(audit().log).toBeInstanceOf(AuditLog);
  });

  it('reads the environment again after a reset, as a new cold start would', () => {
    configure(AWS_ENV);
    expect(secrets().config.tables.secrets).toBe('vp-secrets');

    configure({ ...AWS_ENV, VAULTPILOT_TABLE_SECRETS: 'other-secrets' });

    expect(secrets().config.tables.secrets).toBe('other-secrets');
  });
});

describe('the platforms', () => {
  it('picks KMS, EventBridge, SQS, Lambda and Cognito in AWS', () => {
    const config = parseFunctionConfig(AWS_ENV);

    expect(platform.keyring(config)).toBeInstanceOf(KmsKeyring);
    expect(platform.digestSigner(config)).toBeInstanceOf(KmsDigestSigner);
    expect(platform.rotationQueue(config)).toBeInstanceOf(SqsRotationQueue);
    expect(platform.rollbackRunner(config)).toBeInstanceOf(LambdaRollbackRunner);
    expect(
      platform.tokenVerifier(config, {
        mode: 'cognito',
        userPoolId: 'eu-west-1_AbCdEf123',
        userClientIds: [],
      }),
    ).toBeInstanceOf(CognitoTokenVerifier);
    // Checked against the event schemas before EventBridge sees them.
    expect(platform.eventPublisher(config)).not.toBeInstanceOf(EventBridgePublisher);
  });

  it('picks the key files, the in-process queue and runner, and the local issuer locally, one keyring per process', () => {
    const config = parseFunctionConfig(LOCAL_ENV);

    expect(platform.keyring(config)).toBeInstanceOf(FileKeyring);
    expect(platform.keyring(config)).toBe(platform.keyring(config));
    expect(platform.digestSigner(config)).toBeInstanceOf(FileDigestSigner);
    expect(platform.rotationQueue(config)).toBe(localRotationQueue);
    expect(platform.rollbackRunner(config)).toBe(localRollbackRunner);
    expect(
      platform.tokenVerifier(config, {
        mode: 'local',
        issuer: 'http://127.0.0.1:1',
        jwksUri: 'http://127.0.0.1:1/jwks',
        userClientIds: [],
      }),
    ).toBeInstanceOf(LocalTokenVerifier);
  });

  it('chains audit events in-process locally, through one sink shared by every function', () => {
    configure(LOCAL_ENV);

    const sink = secrets().api.refusalAuditSink;

    expect(sink).toBeInstanceOf(ChainingAuditSink);
    expect(policies().api.refusalAuditSink).toBe(sink);
  });

  it('refuses the local issuer in AWS and Cognito locally', () => {
    expect(() =>
      platform.tokenVerifier(
        { runtime: 'aws' },
        {
          mode: 'local',
          issuer: 'http://x',
          jwksUri: 'http://x/j',
          userClientIds: [],
        },
      ),
    ).toThrow(ConfigError);
    expect(() =>
      platform.tokenVerifier(
        { runtime: 'local' },
        {
          mode: 'cognito',
          userPoolId: 'eu-west-1_AbCdEf123',
          userClientIds: [],
        },
      ),
    ).toThrow(ConfigError);
  });
});
