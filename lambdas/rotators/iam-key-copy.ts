/**
 * The optional Secrets Manager copy of an IAM user's current access key (`aws-iam-access-key`
 * with `secretsManagerCopy: true`): the secret `<prefix><userName>`, which only that user may
 * read, holding `{"accessKeyId","secretAccessKey"}` as its `AWSCURRENT` version.
 *
 * - The secret is created without a value, tagged `vaultpilot:managed=true` and
 *   `vaultpilot:iam-user=<userName>`, encrypted with the AWS managed key `aws/secretsmanager`. A
 *   secret of that name that does not carry both tags is not ours: it is never taken over.
 * - Its resource policy is put before every value (so no value is ever there under a broader
 *   policy): it denies `GetSecretValue` to every principal but the user (`aws:PrincipalArn`) and
 *   allows the user `GetSecretValue` and `DescribeSecret`; `BlockPublicPolicy` is on. VaultPilot
 *   itself cannot read the copy back.
 * - Each value is written with a `ClientRequestToken` derived from the rotation, so a repeat
 *   after a crash is recognised by Secrets Manager (same token and value: no new version).
 *
 * Errors never carry the value: refusals name the secret, the operation and the error code.
 */
import { createHash } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  PutResourcePolicyCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DependencyUnavailableError } from '../core/errors.js';
import { RotationRefusedError } from '../core/rotation/rotator.js';

/** Where the copies go: a Secrets Manager client and the secrets' name prefix (ends with `/`). */
export interface IamKeyCopyTarget {
  readonly client: SecretsManagerClient;
  readonly prefix: string;
}

export interface IamKeyValue {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** One call, retried while throttled (the rotator's `call`). */
export type RetryingCall = <T>(operation: string, send: () => Promise<T>) => Promise<T>;

export const IAM_KEY_COPY_TAGS = { managed: 'vaultpilot:managed', user: 'vaultpilot:iam-user' } as const;

/** Secrets Manager's name characters and length. */
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
/** An IAM user's ARN, as STS GetCallerIdentity answers for a user's access key. */
const USER_ARN = /^arn:aws[a-z-]*:iam::\d{12}:user\/[\w+=,.@/-]{1,512}$/;

/** The name of the copy of `userName`'s key; undefined when Secrets Manager cannot name it (a comma). */
export function iamKeyCopyName(prefix: string, userName: string): string | undefined {
  const name = `${prefix}${userName}`;
  return SECRET_NAME.test(name) ? name : undefined;
}

/** The resource policy: only `userArn` may read the secret's value. */
export function iamKeyCopyPolicy(userArn: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'OnlyTheKeyOwnerReadsTheValue',
        Effect: 'Deny',
        Principal: '*',
        Action: 'secretsmanager:GetSecretValue',
        Resource: '*',
        Condition: { StringNotEquals: { 'aws:PrincipalArn': userArn } },
      },
      {
        Sid: 'TheKeyOwnerReadsTheValue',
        Effect: 'Allow',
        Principal: { AWS: userArn },
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: '*',
      },
    ],
  });
}

/**
 * The `ClientRequestToken` of one write: 64 hex digits from the tenant, the rotation and the
 * purpose (`finish`, `restore`), so a repeat of the same write is the same version.
 */
export function iamKeyCopyToken(tenant: string, rotationId: string, purpose: 'finish' | 'restore'): string {
  return createHash('sha256').update(`iam-key-copy\n${tenant}\n${rotationId}\n${purpose}`).digest('hex');
}

export function isIamUserArn(arn: string): boolean {
  return USER_ARN.test(arn);
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'UnknownError';
}

const ACCESS_DENIED = new Set(['AccessDeniedException', 'AccessDenied']);
const POLICY_REFUSED = new Set(['MalformedPolicyDocumentException', 'PublicPolicyException']);

export class IamKeyCopies {
  constructor(
    private readonly target: IamKeyCopyTarget,
    private readonly call: RetryingCall,
  ) {}

  /** The copy's secret name; `RotationRefusedError` when Secrets Manager cannot name it. */
  nameOf(userName: string): string {
    const name = iamKeyCopyName(this.target.prefix, userName);
    if (name === undefined) {
      throw new RotationRefusedError(
        `The Secrets Manager copy of ${userName}'s key cannot be named: secret names allow A-Z a-z 0-9 / _ + = . @ -`,
      );
    }
    return name;
  }

  /**
   * Read-only: what a write would find. Undefined when the secret is ours or missing; otherwise
   * why the write would be refused.
   */
  async problem(userName: string): Promise<string | undefined> {
    try {
      await this.ownedOrMissing(this.nameOf(userName), userName);
      return undefined;
    } catch (error: unknown) {
      if (error instanceof RotationRefusedError) return error.message;
      throw error;
    }
  }

  /**
   * Makes `value` the current version of the user's copy (creating the secret and putting its
   * resource policy first). Safe to repeat with the same token and value.
   */
  async write(userName: string, userArn: string, value: IamKeyValue, token: string): Promise<void> {
    const name = await this.prepare(userName, userArn);
    await this.send('PutSecretValue', name, () =>
      this.target.client.send(
        new PutSecretValueCommand({
          SecretId: name,
          ClientRequestToken: token,
          SecretString: JSON.stringify({
            accessKeyId: value.accessKeyId,
            secretAccessKey: value.secretAccessKey,
          }),
        }),
      ),
    );
  }

  /**
   * Everything but the value: the secret exists, is ours, and only the user may read it. The
   * rotator runs this before the new key becomes current (in `test`), so a copy that cannot be
   * written rolls the rotation back instead of failing it after promotion. Safe to repeat.
   */
  async prepare(userName: string, userArn: string): Promise<string> {
    if (!isIamUserArn(userArn)) {
      throw new RotationRefusedError(
        `The key of ${userName} answers for ${userArn}, not an IAM user; no Secrets Manager copy is written`,
      );
    }
    const name = this.nameOf(userName);
    if ((await this.ownedOrMissing(name, userName)) === 'missing') await this.create(name, userName);
    await this.send('PutResourcePolicy', name, () =>
      this.target.client.send(
        new PutResourcePolicyCommand({
          SecretId: name,
          ResourcePolicy: iamKeyCopyPolicy(userArn),
          BlockPublicPolicy: true,
        }),
      ),
    );
    return name;
  }

  /** `owned` or `missing`; `RotationRefusedError` for a secret of that name that is not our copy. */
  private async ownedOrMissing(name: string, userName: string): Promise<'owned' | 'missing'> {
    let described: DescribeSecretCommandOutput;
    try {
      described = await this.send('DescribeSecret', name, () =>
        this.target.client.send(new DescribeSecretCommand({ SecretId: name })),
      );
    } catch (error: unknown) {
      if (errorName(error) === 'ResourceNotFoundException') return 'missing';
      throw error;
    }
    const tags = new Map((described.Tags ?? []).map((tag) => [tag.Key, tag.Value]));
    if (tags.get(IAM_KEY_COPY_TAGS.managed) !== 'true' || tags.get(IAM_KEY_COPY_TAGS.user) !== userName) {
      throw new RotationRefusedError(
        `The Secrets Manager secret ${name} exists and is not VaultPilot's copy of ${userName}'s key (tags ${IAM_KEY_COPY_TAGS.managed}=true and ${IAM_KEY_COPY_TAGS.user}=${userName}); it is left alone`,
      );
    }
    if (described.DeletedDate !== undefined) {
      throw new RotationRefusedError(
        `The Secrets Manager secret ${name} is scheduled for deletion; restore it (RestoreSecret) or let the deletion finish`,
      );
    }
    return 'owned';
  }

  private async create(name: string, userName: string): Promise<void> {
    try {
      // No value yet: the first value follows the resource policy.
      await this.send('CreateSecret', name, () =>
        this.target.client.send(
          new CreateSecretCommand({
            Name: name,
            Description: `VaultPilot: the current access key of the IAM user ${userName}, readable only by that user`,
            Tags: [
              { Key: IAM_KEY_COPY_TAGS.managed, Value: 'true' },
              { Key: IAM_KEY_COPY_TAGS.user, Value: userName },
            ],
          }),
        ),
      );
    } catch (error: unknown) {
      // Another attempt created it meanwhile: whether it is ours is checked as for any secret.
      if (errorName(error) !== 'ResourceExistsException') throw error;
      await this.ownedOrMissing(name, userName);
    }
  }

  /** One Secrets Manager call: retried while throttled; refusals named without any value. */
  private async send<T>(operation: string, name: string, send: () => Promise<T>): Promise<T> {
    try {
      return await this.call(`Secrets Manager ${operation}`, send);
    } catch (error: unknown) {
      if (error instanceof DependencyUnavailableError) throw error;
      const code = errorName(error);
      if (ACCESS_DENIED.has(code)) {
        throw new RotationRefusedError(
          `VaultPilot may not call ${operation} on the Secrets Manager secret ${name} (${code})`,
          { cause: error },
        );
      }
      if (POLICY_REFUSED.has(code)) {
        throw new RotationRefusedError(`Secrets Manager refused the resource policy of ${name} (${code})`, {
          cause: error,
        });
      }
      if (code === 'InvalidRequestException') {
        throw new RotationRefusedError(
          `Secrets Manager refused ${operation} on ${name} (${code}: is the secret scheduled for deletion?)`,
          { cause: error },
        );
      }
      if (code === 'ResourceExistsException' && operation === 'PutSecretValue') {
        throw new RotationRefusedError(
          `A version of ${name} with this rotation's token already holds another value (${code})`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}
