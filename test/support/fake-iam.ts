/**
 * A fake IAM and STS behind `aws-sdk-client-mock`, with state a test inspects after every step:
 * users and their access keys (id, secret, status, creation and last-use dates). Responses and
 * errors have the shapes of the IAM and STS API references (ListAccessKeys' AccessKeyMetadata,
 * CreateAccessKey's AccessKey, GetAccessKeyLastUsed's AccessKeyLastUsed with ServiceName "N/A"
 * for a key never used, NoSuchEntity and LimitExceeded errors, IAM's "Throttling" code, STS's
 * InvalidClientTokenId for a key it does not know yet).
 *
 * STS answers for a key only after `propagationCalls` earlier calls with it, like IAM's eventual
 * consistency; `throttle(command, n)` makes the next n calls of a command fail with Throttling.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  IAMClient,
  LimitExceededException,
  ListAccessKeysCommand,
  NoSuchEntityException,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { IAMServiceException } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import type { Clock } from '../../lambdas/core/ports.js';
import type { Rotator } from '../../lambdas/core/rotation/rotator.js';
import {
  createIamAccessKeyRotator,
  type IamKeyRotatorOptions,
  type IamKeySettings,
} from '../../lambdas/rotators/aws-iam-access-key.js';

export const ACCOUNT = '123456789012';

/** Credentials of the clients the fake answers (the mock never checks them). */
export const FAKE_CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' };

/**
 * The `aws-iam-access-key` rotator on IAM and STS clients a FakeIam answers, retrying without
 * waiting; `options` adds to or replaces those (e.g. a Secrets Manager copy target).
 */
export function fakeIamRotator(options: Partial<IamKeyRotatorOptions> = {}): Rotator<IamKeySettings> {
  return createIamAccessKeyRotator({
    iam: new IAMClient({ region: 'us-east-1', credentials: FAKE_CREDENTIALS }),
    sts: (credentials) => new STSClient({ region: 'us-east-1', credentials }),
    sleep: async () => undefined,
    ...options,
  });
}

export interface FakeKey {
  readonly userName: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  status: 'Active' | 'Inactive';
  readonly createDate: Date;
  lastUsed: Date | undefined;
  stsCalls: number;
}

const meta = (status: number) => ({ httpStatusCode: status, requestId: 'req-fake' });

function throttling(service: 'iam' | 'sts'): Error {
  const options = {
    name: 'Throttling',
    $fault: 'client' as const,
    $metadata: meta(400),
    message: 'Rate exceeded',
  };
  return service === 'iam' ? new IAMServiceException(options) : new STSServiceException(options);
}

export class FakeIam {
  readonly keys: FakeKey[] = [];
  readonly iamMock = mockClient(IAMClient);
  readonly stsMock = mockClient(STSClient);
  propagationCalls = 0;
  private readonly throttles = new Map<string, number>();
  readonly callLog: string[] = [];

  constructor(private readonly clock: Clock) {
    this.install();
  }

  /** A user with one active key (what the secret store holds before the first rotation). */
  addUser(userName: string): FakeKey {
    return this.addKey(userName, 'Active');
  }

  addKey(
    userName: string,
    status: 'Active' | 'Inactive',
    createDate = new Date(this.clock.now().getTime() - 200 * 86_400_000),
  ): FakeKey {
    const key: FakeKey = {
      userName,
      accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      status,
      createDate,
      lastUsed: undefined,
      stsCalls: 0,
    };
    this.keys.push(key);
    return key;
  }

  keysOf(userName: string): FakeKey[] {
    return this.keys.filter((key) => key.userName === userName);
  }

  /** `{ id: status }` of a user's keys, for assertions. */
  snapshot(userName: string): Record<string, string> {
    return Object.fromEntries(this.keysOf(userName).map((key) => [key.accessKeyId, key.status]));
  }

  throttle(command: string, times: number): void {
    this.throttles.set(command, times);
  }

  restore(): void {
    this.iamMock.restore();
    this.stsMock.restore();
  }

  private gate(command: string, service: 'iam' | 'sts'): void {
    this.callLog.push(command);
    const left = this.throttles.get(command) ?? 0;
    if (left > 0) {
      this.throttles.set(command, left - 1);
      throw throttling(service);
    }
  }

  private find(accessKeyId: string | undefined, userName?: string): FakeKey {
    const key = this.keys.find(
      (candidate) =>
        candidate.accessKeyId === accessKeyId && (userName === undefined || candidate.userName === userName),
    );
    if (key === undefined) {
      throw new NoSuchEntityException({
        message: `The Access Key with id ${accessKeyId ?? ''} cannot be found.`,
        $metadata: meta(404),
      });
    }
    return key;
  }

  private install(): void {
    this.iamMock.on(ListAccessKeysCommand).callsFake((input: { UserName?: string }) => {
      this.gate('ListAccessKeys', 'iam');
      return {
        AccessKeyMetadata: this.keysOf(input.UserName ?? '').map((key) => ({
          UserName: key.userName,
          AccessKeyId: key.accessKeyId,
          Status: key.status,
          CreateDate: key.createDate,
        })),
        IsTruncated: false,
      };
    });
    this.iamMock.on(CreateAccessKeyCommand).callsFake((input: { UserName?: string }) => {
      this.gate('CreateAccessKey', 'iam');
      const userName = input.UserName ?? '';
      if (this.keysOf(userName).length >= 2) {
        throw new LimitExceededException({
          message: 'Cannot exceed quota for AccessKeysPerUser: 2',
          $metadata: meta(409),
        });
      }
      const key: FakeKey = {
        userName,
        accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
        secretAccessKey: randomBytes(30).toString('base64'),
        status: 'Active',
        createDate: this.clock.now(),
        lastUsed: undefined,
        stsCalls: 0,
      };
      this.keys.push(key);
      return {
        AccessKey: {
          UserName: userName,
          AccessKeyId: key.accessKeyId,
          Status: 'Active',
          SecretAccessKey: key.secretAccessKey,
          CreateDate: key.createDate,
        },
      };
    });
    this.iamMock
      .on(UpdateAccessKeyCommand)
      .callsFake((input: { UserName?: string; AccessKeyId?: string; Status?: string }) => {
        this.gate('UpdateAccessKey', 'iam');
        this.find(input.AccessKeyId, input.UserName).status =
          input.Status === 'Active' ? 'Active' : 'Inactive';
        return {};
      });
    this.iamMock
      .on(DeleteAccessKeyCommand)
      .callsFake((input: { UserName?: string; AccessKeyId?: string }) => {
        this.gate('DeleteAccessKey', 'iam');
        const key = this.find(input.AccessKeyId, input.UserName);
        this.keys.splice(this.keys.indexOf(key), 1);
        return {};
      });
    this.iamMock.on(GetAccessKeyLastUsedCommand).callsFake((input: { AccessKeyId?: string }) => {
      this.gate('GetAccessKeyLastUsed', 'iam');
      const key = this.find(input.AccessKeyId);
      return {
        UserName: key.userName,
        AccessKeyLastUsed:
          key.lastUsed === undefined
            ? { ServiceName: 'N/A', Region: 'N/A' }
            : { LastUsedDate: key.lastUsed, ServiceName: 's3', Region: 'us-east-1' },
      };
    });
    this.stsMock
      .on(GetCallerIdentityCommand)
      .callsFake(async (_input: unknown, getClient: () => STSClient) => {
        this.gate('GetCallerIdentity', 'sts');
        const credentials = await getClient().config.credentials();
        const key = this.keys.find((candidate) => candidate.accessKeyId === credentials.accessKeyId);
        if (key !== undefined) key.stsCalls += 1;
        if (
          key === undefined ||
          key.status !== 'Active' ||
          key.secretAccessKey !== credentials.secretAccessKey ||
          key.stsCalls <= this.propagationCalls
        ) {
          throw new STSServiceException({
            name: 'InvalidClientTokenId',
            $fault: 'client',
            $metadata: meta(403),
            message: 'The security token included in the request is invalid.',
          });
        }
        key.lastUsed = this.clock.now();
        return {
          UserId: `AIDA${key.userName.toUpperCase()}`,
          Account: ACCOUNT,
          Arn: `arn:aws:iam::${ACCOUNT}:user/${key.userName}`,
        };
      });
  }
}
