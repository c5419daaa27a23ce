/**
 * `secrets-manager-secret`: an AWS Secrets Manager secret VaultPilot adopted (from its inventory
 * item or its "rotation disabled" finding) and rotates with Secrets Manager's own protocol. The
 * value stays in Secrets Manager: VaultPilot's store keeps only `{ versionId }`, the version that
 * is AWSCURRENT, so nothing is copied out of the secret.
 *
 * The secret must carry the tag `vaultpilot:managed` = `true` (the owner's consent, and what the
 * worker's IAM policy is scoped by). Each rotation uses one ClientRequestToken derived from its
 * rotation id, so every step is safe to repeat:
 *
 * - with a rotation function (`RotationLambdaARN` in DescribeSecret): `create` calls
 *   `RotateSecret` with the token; `test` follows DescribeSecret until the token's version is
 *   AWSCURRENT (still AWSPENDING: try again later; neither: the function failed, roll back);
 * - without one: `create` puts a generated value (the `generator` fields replaced in the JSON
 *   value, other keys kept) as AWSPENDING with the token (`PutSecretValue`); `test` reads it back
 *   by version and stage; `finish` moves AWSCURRENT to it (`UpdateSecretVersionStage`, so the old
 *   version becomes AWSPREVIOUS) and takes AWSPENDING off it.
 *
 * AWSPENDING is never left behind: `finish`, a rollback (`discard`) and a retried `create` take
 * it off this rotation's version (aws-secrets-manager-rotation-lambdas#168). After `finish`, a
 * rollback moves AWSCURRENT back to the previous version. Throttling and unavailable service are
 * transient; AccessDenied, a missing secret or a missing tag refuse the rotation.
 */
import { createHash } from 'node:crypto';
import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { DependencyUnavailableError } from '../core/errors.js';
import { generateSecret } from '../core/rotation/generator.js';
import {
  type RetireOutcome,
  RotationRefusedError,
  RotationTestFailedError,
  type Rotator,
  type RotatorContext,
} from '../core/rotation/rotator.js';
import {
  parseSecretsManagerSecretSettings,
  type SecretsManagerSecretSettings,
} from './secrets-manager-secret-settings.js';

const TYPE = 'secrets-manager-secret';
export const MANAGED_TAG = 'vaultpilot:managed';
const PENDING = 'AWSPENDING';
const CURRENT = 'AWSCURRENT';
const TRANSIENT = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'InternalServiceError',
  'ServiceUnavailableException',
  'RequestTimeout',
  'TimeoutError',
]);

export interface SecretsManagerRotatorOptions {
  /** The client for a region (the deployment's when the settings name none). */
  readonly client: (region: string | undefined) => SecretsManagerClient;
}

/** This rotation's ClientRequestToken: a UUID derived from its id, the same on every retry. */
export function clientRequestToken(rotationId: string): string {
  const hex = createHash('sha256').update(`secrets-manager-secret\n${rotationId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'UnknownError';
}

export function createSecretsManagerSecretRotator(
  options: SecretsManagerRotatorOptions,
): Rotator<SecretsManagerSecretSettings> {
  /** One SDK call; transient trouble becomes a `DependencyUnavailableError`, a refusal a `RotationRefusedError`. */
  async function send<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error: unknown) {
      const name = errorName(error);
      if (TRANSIENT.has(name) || !(error instanceof Error) || !('$metadata' in error)) {
        throw new DependencyUnavailableError(`Secrets Manager ${what} failed (${name})`, 30, {
          cause: error,
        });
      }
      throw new RotationRefusedError(`Secrets Manager refused ${what} (${name})`, { cause: error });
    }
  }

  const client = (context: RotatorContext<SecretsManagerSecretSettings>) =>
    options.client(context.settings.region);

  async function describe(
    context: RotatorContext<SecretsManagerSecretSettings>,
  ): Promise<DescribeSecretCommandOutput> {
    const secret = await send('DescribeSecret', () =>
      client(context).send(new DescribeSecretCommand({ SecretId: context.settings.secretId })),
    );
    const managed = (secret.Tags ?? []).some((tag) => tag.Key === MANAGED_TAG && tag.Value === 'true');
    if (!managed) {
      throw new RotationRefusedError(
        `The secret is not tagged ${MANAGED_TAG}=true: tag it to let VaultPilot rotate it`,
      );
    }
    if (secret.DeletedDate !== undefined)
      throw new RotationRefusedError('The secret is scheduled for deletion');
    return secret;
  }

  const stagesOf = (secret: DescribeSecretCommandOutput, versionId: string): readonly string[] =>
    secret.VersionIdsToStages?.[versionId] ?? [];

  const currentVersion = (secret: DescribeSecretCommandOutput): string | undefined =>
    Object.entries(secret.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes(CURRENT))?.[0];

  /** Takes AWSPENDING off `versionId` if it holds it. */
  async function clearPending(
    context: RotatorContext<SecretsManagerSecretSettings>,
    secret: DescribeSecretCommandOutput,
    versionId: string,
  ): Promise<void> {
    if (!stagesOf(secret, versionId).includes(PENDING)) return;
    await send('UpdateSecretVersionStage', () =>
      client(context).send(
        new UpdateSecretVersionStageCommand({
          SecretId: context.settings.secretId,
          VersionStage: PENDING,
          RemoveFromVersionId: versionId,
        }),
      ),
    );
  }

  /** Moves AWSCURRENT to `versionId` (from whichever version holds it). */
  async function makeCurrent(
    context: RotatorContext<SecretsManagerSecretSettings>,
    secret: DescribeSecretCommandOutput,
    versionId: string,
  ): Promise<void> {
    const from = currentVersion(secret);
    if (from === versionId) return;
    await send('UpdateSecretVersionStage', () =>
      client(context).send(
        new UpdateSecretVersionStageCommand({
          SecretId: context.settings.secretId,
          VersionStage: CURRENT,
          MoveToVersionId: versionId,
          ...(from === undefined ? {} : { RemoveFromVersionId: from }),
        }),
      ),
    );
  }

  /** The generated next value: the generator's fields replaced in the current JSON value, others kept. */
  async function nextValue(context: RotatorContext<SecretsManagerSecretSettings>): Promise<string> {
    const current = await send('GetSecretValue', () =>
      client(context).send(
        new GetSecretValueCommand({ SecretId: context.settings.secretId, VersionStage: CURRENT }),
      ),
    );
    let fields: Record<string, string> = {};
    if (current.SecretString !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(current.SecretString);
      } catch {
        parsed = undefined;
      }
      const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
      if (!isObject) {
        throw new RotationRefusedError(
          'The secret is not a JSON object: give it a rotation function, or store key/value pairs',
        );
      }
      fields = Object.fromEntries(
        Object.entries(parsed as Record<string, unknown>).map(([key, value]) => [
          key,
          typeof value === 'string' ? value : JSON.stringify(value),
        ]),
      );
    }
    const next: Record<string, unknown> = { ...fields, ...generateSecret(context.settings.generator, {}) };
    return JSON.stringify(next);
  }

  return {
    type: TYPE,
    // The value lives in Secrets Manager: VaultPilot's store starts with the first version id.
    generatesFirstValue: true,

    parseSettings: parseSecretsManagerSecretSettings,

    async preflight(context) {
      const secret = await describe(context);
      return secret.RotationLambdaARN === undefined
        ? [
            `would put a generated ${Object.keys(context.settings.generator.fields).join(', ')} as AWSPENDING, read it back and make it AWSCURRENT`,
          ]
        : ["would start the secret's rotation function (RotateSecret) and follow it until AWSCURRENT"];
    },

    async create(context) {
      const token = clientRequestToken(context.rotationId);
      const secret = await describe(context);
      const withFunction = secret.RotationLambdaARN !== undefined;
      // An AWSPENDING left by an earlier, crashed rotation blocks RotateSecret ("a previous
      // rotation isn't complete"): it was never current, so it is taken off first.
      for (const [versionId, stages] of Object.entries(secret.VersionIdsToStages ?? {})) {
        if (versionId !== token && stages.includes(PENDING) && !stages.includes(CURRENT))
          await clearPending(context, secret, versionId);
      }
      if (!(token in (secret.VersionIdsToStages ?? {}))) {
        if (withFunction) {
          await send('RotateSecret', () =>
            client(context).send(
              new RotateSecretCommand({
                SecretId: context.settings.secretId,
                ClientRequestToken: token,
                RotateImmediately: true,
              }),
            ),
          );
        } else {
          const value = await nextValue(context);
          await send('PutSecretValue', () =>
            client(context).send(
              new PutSecretValueCommand({
                SecretId: context.settings.secretId,
                ClientRequestToken: token,
                SecretString: value,
                VersionStages: [PENDING],
              }),
            ),
          );
        }
      }
      // An earlier attempt's version (same token) is reused as it is: nothing is put twice.
      return { pending: { versionId: token }, provider: { versionId: token, withFunction } };
    },

    async set() {
      // An adopted secret's consumers read it from Secrets Manager: nothing to apply elsewhere.
      return {};
    },

    async test(context) {
      const token = context.pending.versionId ?? '';
      const secret = await describe(context);
      const stages = stagesOf(secret, token);
      if (context.provider.withFunction === true) {
        if (stages.includes(CURRENT)) return {};
        if (stages.includes(PENDING)) {
          throw new DependencyUnavailableError('The rotation function has not finished yet', 30);
        }
        throw new RotationTestFailedError(
          "The secret's rotation function did not make the new version current",
        );
      }
      if (!stages.includes(PENDING) && !stages.includes(CURRENT)) {
        throw new RotationTestFailedError('The new version is not staged AWSPENDING');
      }
      const read = await send('GetSecretValue', () =>
        client(context).send(
          new GetSecretValueCommand({ SecretId: context.settings.secretId, VersionId: token }),
        ),
      );
      if (read.VersionId !== token || (read.SecretString ?? '') === '') {
        throw new RotationTestFailedError('The new version cannot be read back');
      }
      return {};
    },

    async finish(context) {
      const token = context.pending.versionId ?? '';
      const secret = await describe(context);
      await makeCurrent(context, secret, token);
      await clearPending(context, secret, token);
      // Secrets Manager keeps the old version as AWSPREVIOUS: nothing to retire.
      return {};
    },

    async retire(): Promise<RetireOutcome> {
      return { status: 'done' };
    },

    async discard(context) {
      const token = clientRequestToken(context.rotationId);
      const secret = await describe(context);
      await clearPending(context, secret, token);
      return {};
    },

    async restore(context) {
      const previous = context.previous.versionId;
      if (previous === undefined) {
        throw new RotationRefusedError('The previous Secrets Manager version is not known');
      }
      const secret = await describe(context);
      if (!(previous in (secret.VersionIdsToStages ?? {}))) {
        throw new RotationRefusedError('The previous version no longer exists in Secrets Manager');
      }
      await makeCurrent(context, secret, previous);
      return {};
    },
  };
}
