/**
 * `aws-iam-access-key`: an IAM user's access key. The value in the secret store has the fields
 * `accessKeyId` and `secretAccessKey` (others are kept).
 *
 * - `create` makes a new key (IAM generates the secret, so the key exists at IAM from here on).
 *   A user may hold two keys: when the other key is inactive and unused it is removed first;
 *   when it is active or was used recently the rotation fails clearly instead (the old key is
 *   never deleted to make room). A re-run after a crash first deletes what an earlier attempt
 *   created and did not record (keys created after the rotation began that are not current).
 * - `set` has nothing to do: a new key is active at once.
 * - `test` calls STS `GetCallerIdentity` with the new key, retrying while IAM's eventual
 *   consistency still refuses it, and checks it answers for the right user; it records the
 *   user's ARN (an identifier) as `userArn`.
 * - `finish` leaves the old key active; retirement deactivates it after the grace period, only if
 *   IAM reports no use within `nonUseGateHours`, and deletes it after the second grace period.
 *   With `secretsManagerCopy`, it also makes the new key the current value of the user's Secrets
 *   Manager copy, readable only by that user (./iam-key-copy.ts).
 * - rollback before `finish` deletes the new key (nothing was copied yet); after `finish` it
 *   re-activates the old key, makes it the copy's current value again, and deactivates the new
 *   one (deleted after the delete grace period).
 *
 * Clients honour the SDK's standard configuration (credential chain, `AWS_REGION`,
 * `AWS_ENDPOINT_URL_IAM` / `_STS` / `_SECRETS_MANAGER`). Throttling is retried here with backoff;
 * what stays throttled is a `DependencyUnavailableError`, which the engine retries later.
 */
import {
  type AccessKeyMetadata,
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  type IAMClient,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { DependencyUnavailableError } from '../core/errors.js';
import type { ProviderState } from '../core/rotation/rotation.js';
import {
  type RetireOutcome,
  RotationRefusedError,
  RotationTestFailedError,
  type Rotator,
  type RotatorContext,
} from '../core/rotation/rotator.js';
import type { SecretData } from '../core/secrets/kv-service.js';
import { type IamKeySettings, parseIamKeySettings } from './aws-iam-access-key-settings.js';
import { IamKeyCopies, type IamKeyCopyTarget, iamKeyCopyToken } from './iam-key-copy.js';

const HOUR_MS = 3_600_000;
/** Clock skew allowed between IAM's CreateDate and ours when looking for our own keys. */
const CREATE_SKEW_MS = 60_000;

// The settings live apart so that functions that only check them bundle no SDK client.
export type { IamKeySettings } from './aws-iam-access-key-settings.js';

export interface StaticCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface IamKeyRotatorOptions {
  readonly iam: IAMClient;
  /** An STS client that signs with `credentials` (the new key). */
  readonly sts: (credentials: StaticCredentials) => STSClient;
  /** Where `secretsManagerCopy` writes; without it, that setting is refused. */
  readonly secretsManager?: IamKeyCopyTarget;
  /** Attempts of one IAM/STS call while throttled (default 6). */
  readonly maxAttempts?: number;
  /** Attempts of the test while IAM has not yet propagated the new key (default 10). */
  readonly consistencyAttempts?: number;
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);
const TRANSIENT = new Set([
  'ServiceUnavailable',
  'ServiceFailure',
  'InternalFailure',
  'RequestTimeout',
  'TimeoutError',
  'InternalServiceError',
]);
/** STS's answers while a new key has not reached every endpoint yet. */
const NOT_YET_VALID = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'ExpiredToken',
]);

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'UnknownError';
}

function isThrottled(error: unknown): boolean {
  const e = error as { $metadata?: { httpStatusCode?: number }; $retryable?: { throttling?: boolean } };
  return (
    THROTTLING.has(errorName(error)) ||
    e.$retryable?.throttling === true ||
    e.$metadata?.httpStatusCode === 429
  );
}

function isTransient(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return isThrottled(error) || TRANSIENT.has(errorName(error)) || (status !== undefined && status >= 500);
}

function keyOf(value: SecretData | undefined): StaticCredentials | undefined {
  const accessKeyId = value?.accessKeyId;
  const secretAccessKey = value?.secretAccessKey;
  return accessKeyId === undefined || secretAccessKey === undefined
    ? undefined
    : { accessKeyId, secretAccessKey };
}

export function createIamAccessKeyRotator(options: IamKeyRotatorOptions): Rotator<IamKeySettings> {
  const maxAttempts = options.maxAttempts ?? 6;
  const consistencyAttempts = options.consistencyAttempts ?? 10;
  const baseDelayMs = options.baseDelayMs ?? 250;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  /** One IAM/STS call, retried with exponential backoff and full jitter while throttled. */
  async function call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await send();
      } catch (error: unknown) {
        if (!isTransient(error)) throw error;
        if (attempt >= maxAttempts) {
          throw new DependencyUnavailableError(`${operation} stayed unavailable (${errorName(error)})`, 30, {
            cause: error,
          });
        }
        await sleep(Math.random() * Math.min(20_000, baseDelayMs * 2 ** (attempt - 1)));
      }
    }
  }

  const copies =
    options.secretsManager === undefined ? undefined : new IamKeyCopies(options.secretsManager, call);

  /** The ARN STS answers for a key; `RotationTestFailedError` when it is not `userName`'s. */
  async function callerArn(sts: STSClient, userName: string): Promise<string> {
    const identity = await call('STS GetCallerIdentity', () => sts.send(new GetCallerIdentityCommand({})));
    const arn = identity.Arn ?? '';
    if (!arn.endsWith(`/${userName}`)) {
      throw new RotationTestFailedError(`The new key answers for another identity than ${userName}`);
    }
    return arn;
  }

  /**
   * The user's ARN: the one `test` recorded, else (a rotation recorded before it was kept) what
   * STS answers for the first of `keys` it accepts, returned as provider state to keep.
   */
  async function userArnOf(
    context: RotatorContext<IamKeySettings>,
    keys: readonly (StaticCredentials | undefined)[],
  ): Promise<{ arn: string; provider: ProviderState }> {
    const recorded = context.provider.userArn;
    if (typeof recorded === 'string') return { arn: recorded, provider: {} };
    let lastError: unknown = new RotationRefusedError('No access key to ask STS for the IAM user ARN');
    for (const key of keys) {
      if (key === undefined) continue;
      try {
        const arn = await callerArn(options.sts(key), context.settings.userName);
        return { arn, provider: { userArn: arn } };
      } catch (error: unknown) {
        if (!NOT_YET_VALID.has(errorName(error))) throw error;
        lastError = error;
      }
    }
    throw lastError;
  }

  /**
   * With `secretsManagerCopy`: makes `value`'s key the current value of the user's Secrets
   * Manager copy, with a token from the rotation and `purpose` (a repeat adds no version).
   */
  async function copyKey(
    context: RotatorContext<IamKeySettings>,
    value: SecretData,
    stsKeys: readonly (StaticCredentials | undefined)[],
    purpose: 'finish' | 'restore',
  ): Promise<ProviderState> {
    if (!context.settings.secretsManagerCopy) return {};
    if (copies === undefined) {
      throw new RotationRefusedError('secretsManagerCopy is set, but no Secrets Manager is configured here');
    }
    const key = keyOf(value);
    if (key === undefined) {
      throw new RotationRefusedError(
        `The ${purpose === 'finish' ? 'new' : 'previous'} value has no access key`,
      );
    }
    const { arn, provider } = await userArnOf(context, stsKeys);
    await copies.write(
      context.settings.userName,
      arn,
      key,
      iamKeyCopyToken(context.tenant, context.rotationId, purpose),
    );
    return provider;
  }

  async function listKeys(userName: string): Promise<AccessKeyMetadata[]> {
    try {
      const keys: AccessKeyMetadata[] = [];
      let marker: string | undefined;
      do {
        const page = await call('IAM ListAccessKeys', () =>
          options.iam.send(new ListAccessKeysCommand({ UserName: userName, Marker: marker })),
        );
        keys.push(...(page.AccessKeyMetadata ?? []));
        marker = page.IsTruncated === true ? page.Marker : undefined;
      } while (marker !== undefined);
      return keys;
    } catch (error: unknown) {
      if (errorName(error) === 'NoSuchEntityException') {
        throw new RotationRefusedError(`The IAM user ${userName} does not exist`, { cause: error });
      }
      if (errorName(error) === 'AccessDeniedException' || errorName(error) === 'AccessDenied') {
        throw new RotationRefusedError(`VaultPilot may not manage the keys of ${userName} (AccessDenied)`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  async function lastUsed(accessKeyId: string): Promise<Date | undefined | 'gone'> {
    try {
      const answer = await call('IAM GetAccessKeyLastUsed', () =>
        options.iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId })),
      );
      return answer.AccessKeyLastUsed?.LastUsedDate;
    } catch (error: unknown) {
      if (errorName(error) === 'NoSuchEntityException') return 'gone';
      throw error;
    }
  }

  async function deleteKey(userName: string, accessKeyId: string): Promise<void> {
    try {
      await call('IAM DeleteAccessKey', () =>
        options.iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId })),
      );
    } catch (error: unknown) {
      if (errorName(error) !== 'NoSuchEntityException') throw error;
    }
  }

  async function setStatus(
    userName: string,
    accessKeyId: string,
    status: 'Active' | 'Inactive',
  ): Promise<boolean> {
    try {
      await call('IAM UpdateAccessKey', () =>
        options.iam.send(
          new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: status }),
        ),
      );
      return true;
    } catch (error: unknown) {
      if (errorName(error) === 'NoSuchEntityException') return false;
      throw error;
    }
  }

  /**
   * Keys this rotation created and never recorded as pending: created after the rotation was
   * recorded and neither the current key nor the one the pending value names.
   */
  function leftovers(
    context: RotatorContext<IamKeySettings>,
    keys: readonly AccessKeyMetadata[],
    keep: readonly (string | undefined)[],
  ): AccessKeyMetadata[] {
    const since = context.rotationCreatedAt.getTime() - CREATE_SKEW_MS;
    const recorded = context.provider.newAccessKeyId;
    return keys.filter(
      (key) =>
        key.AccessKeyId !== undefined &&
        !keep.includes(key.AccessKeyId) &&
        (key.AccessKeyId === recorded || (key.CreateDate !== undefined && key.CreateDate.getTime() >= since)),
    );
  }

  /** Makes room for a new key, or explains why it cannot. */
  async function makeRoom(
    context: RotatorContext<IamKeySettings>,
    keys: AccessKeyMetadata[],
    currentId: string | undefined,
  ): Promise<string[]> {
    const notes: string[] = [];
    if (keys.length < 2) return notes;
    const others = keys.filter((key) => key.AccessKeyId !== currentId);
    // Of the keys that are not current, the inactive one, else the least recently used.
    const candidates = await Promise.all(
      others.map(async (key) => ({ key, used: await lastUsed(key.AccessKeyId ?? '') })),
    );
    candidates.sort((a, b) => usedAt(a.used) - usedAt(b.used));
    const inactive = candidates.find((candidate) => candidate.key.Status === 'Inactive') ?? candidates[0];
    if (inactive === undefined) {
      throw new RotationRefusedError('The user already has two keys and neither is known to be replaceable');
    }
    const id = inactive.key.AccessKeyId ?? '';
    if (inactive.key.Status !== 'Inactive') {
      throw new RotationRefusedError(
        `The user already has two keys and the other one (${id}) is active; deactivate it or let its retirement finish first`,
      );
    }
    const used = inactive.used;
    const gate = context.policy.nonUseGateHours * HOUR_MS;
    if (used instanceof Date && context.clock.now().getTime() - used.getTime() < gate) {
      throw new RotationRefusedError(
        `The inactive key ${id} was used within the last ${context.policy.nonUseGateHours} hours`,
      );
    }
    notes.push(`removes the inactive, unused key ${id}`);
    return notes;
  }

  return {
    type: 'aws-iam-access-key',

    parseSettings(raw) {
      return parseIamKeySettings(raw, options.secretsManager?.prefix);
    },

    async preflight(context) {
      const { userName } = context.settings;
      const keys = await listKeys(userName);
      const currentId = context.current.accessKeyId;
      const notes = [`${userName} has ${keys.length} key(s)`];
      try {
        notes.push(
          ...(await makeRoom(context, keys, currentId)),
          'would create a new key and test it with STS',
        );
        if (context.settings.secretsManagerCopy) {
          if (copies === undefined)
            throw new RotationRefusedError('no Secrets Manager is configured for copies');
          const problem = await copies.problem(userName);
          if (problem !== undefined) throw new RotationRefusedError(problem);
          notes.push(
            `would make the new key the current value of the Secrets Manager secret ${copies.nameOf(userName)}, readable only by ${userName}`,
          );
        }
      } catch (error: unknown) {
        if (!(error instanceof RotationRefusedError)) throw error;
        notes.push(`would fail: ${error.message}`);
      }
      return notes;
    },

    async create(context) {
      const { userName } = context.settings;
      const currentId = context.current.accessKeyId;
      let keys = await listKeys(userName);
      if (context.attempt > 1) {
        // An earlier attempt may have created a key whose secret was never stored: it is useless.
        for (const key of leftovers(context, keys, [currentId]))
          await deleteKey(userName, key.AccessKeyId ?? '');
        keys = await listKeys(userName);
      }
      if (keys.length >= 2) {
        await makeRoom(context, keys, currentId);
        const others = keys.filter((key) => key.AccessKeyId !== currentId && key.Status === 'Inactive');
        const removable = others[0];
        if (removable?.AccessKeyId !== undefined) await deleteKey(userName, removable.AccessKeyId);
      }
      let created;
      try {
        created = await call('IAM CreateAccessKey', () =>
          options.iam.send(new CreateAccessKeyCommand({ UserName: userName })),
        );
      } catch (error: unknown) {
        if (errorName(error) === 'LimitExceededException') {
          throw new RotationRefusedError('The user already has the maximum number of access keys', {
            cause: error,
          });
        }
        throw error;
      }
      const key = created.AccessKey;
      if (key?.AccessKeyId === undefined || key.SecretAccessKey === undefined) {
        throw new DependencyUnavailableError('IAM CreateAccessKey answered without a key', 30);
      }
      return {
        pending: { ...context.current, accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey },
        provider: {
          newAccessKeyId: key.AccessKeyId,
          ...(currentId === undefined ? {} : { previousAccessKeyId: currentId }),
        },
      };
    },

    async set() {
      return {};
    },

    async test(context) {
      const credentials = keyOf(context.pending);
      if (credentials === undefined) throw new RotationTestFailedError('The pending value has no access key');
      const sts = options.sts(credentials);
      let lastError: unknown;
      for (let attempt = 1; attempt <= consistencyAttempts; attempt += 1) {
        let userArn: string;
        try {
          // The ARN is an identifier, kept for the Secrets Manager copy's resource policy.
          userArn = await callerArn(sts, context.settings.userName);
        } catch (error: unknown) {
          if (!NOT_YET_VALID.has(errorName(error))) throw error;
          lastError = error;
          await sleep(Math.min(5_000, baseDelayMs * 2 ** (attempt - 1)));
          continue;
        }
        // The copy's secret and resource policy before the key becomes current: a copy that
        // cannot be written rolls the rotation back here, not after promotion.
        if (context.settings.secretsManagerCopy) {
          if (copies === undefined) {
            throw new RotationRefusedError(
              'secretsManagerCopy is set, but no Secrets Manager is configured here',
            );
          }
          await copies.prepare(context.settings.userName, userArn);
        }
        return { provider: { userArn } };
      }
      throw new RotationTestFailedError(
        `STS did not accept the new key after ${consistencyAttempts} attempts (${errorName(lastError)})`,
        { cause: lastError },
      );
    },

    async finish(context) {
      const provider = await copyKey(context, context.pending, [keyOf(context.pending)], 'finish');
      const old = context.current.accessKeyId;
      const fresh = context.pending.accessKeyId;
      return old === undefined || old === fresh ? { provider } : { provider, retire: { accessKeyId: old } };
    },

    async retire(context, phase, ref): Promise<RetireOutcome> {
      const { userName } = context.settings;
      const accessKeyId = typeof ref.accessKeyId === 'string' ? ref.accessKeyId : undefined;
      if (accessKeyId === undefined) return { status: 'done' };
      const used = await lastUsed(accessKeyId);
      if (used === 'gone') return { status: 'done' };
      const gate = context.policy.nonUseGateHours * HOUR_MS;
      if (used !== undefined && context.clock.now().getTime() - used.getTime() < gate) {
        return {
          status: 'postponed',
          until: new Date(used.getTime() + gate),
          note: `the key was used at ${used.toISOString()}, within the last ${context.policy.nonUseGateHours} hours`,
        };
      }
      if (phase === 'deactivate') {
        await setStatus(userName, accessKeyId, 'Inactive');
        return { status: 'done' };
      }
      const key = (await listKeys(userName)).find((candidate) => candidate.AccessKeyId === accessKeyId);
      if (key === undefined) return { status: 'done' };
      if (key.Status === 'Active') {
        return { status: 'blocked', note: `the key ${accessKeyId} is active again; it is not deleted` };
      }
      await deleteKey(userName, accessKeyId);
      return { status: 'done' };
    },

    async discard(context) {
      const { userName } = context.settings;
      const currentId = context.current.accessKeyId;
      const keys = await listKeys(userName);
      const fresh = [context.pending?.accessKeyId, context.provider.newAccessKeyId].filter(
        (id): id is string => typeof id === 'string' && id !== currentId,
      );
      const doomed = new Set([
        ...fresh,
        ...leftovers(context, keys, [currentId]).map((key) => key.AccessKeyId ?? ''),
      ]);
      for (const id of doomed) if (id !== '') await deleteKey(userName, id);
      return {};
    },

    async restore(context) {
      const { userName } = context.settings;
      const previous = context.previous.accessKeyId;
      const fresh = context.pending.accessKeyId;
      if (previous === undefined || !(await setStatus(userName, previous, 'Active'))) {
        throw new RotationRefusedError('The previous access key no longer exists at IAM');
      }
      // Before the new key is deactivated: STS may be asked for the ARN with it.
      const provider = await copyKey(
        context,
        context.previous,
        [keyOf(context.pending), keyOf(context.previous)],
        'restore',
      );
      if (fresh !== undefined && fresh !== previous) {
        await setStatus(userName, fresh, 'Inactive');
        return { provider, retire: { accessKeyId: fresh } };
      }
      return { provider };
    },
  };
}

function usedAt(value: Date | undefined | 'gone'): number {
  return value instanceof Date ? value.getTime() : 0;
}
