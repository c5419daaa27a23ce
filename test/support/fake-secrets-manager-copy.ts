/**
 * A fake Secrets Manager behind `aws-sdk-client-mock` for the copies of rotated IAM keys, with
 * state a test inspects: secrets with tags, description, KMS key, resource policy and versions
 * (staging labels). Responses and errors have the shapes of the Secrets Manager API reference:
 * CreateSecret answers `{ARN, Name}` (and `VersionId` only when given a value) and throws
 * ResourceExistsException for a taken name; DescribeSecret answers `{ARN, Name, Description,
 * Tags, VersionIdsToStages, …}` or ResourceNotFoundException; PutResourcePolicy answers
 * `{ARN, Name}` and refuses a public policy with PublicPolicyException when BlockPublicPolicy is
 * set; PutSecretValue answers `{ARN, Name, VersionId, VersionStages}`, moves AWSCURRENT (the
 * version it leaves gets AWSPREVIOUS), is a no-op for a token it knows with the same value and
 * throws ResourceExistsException for a known token with another value.
 *
 * `throttle(command, n)` fails the next n calls with ThrottlingException, `deny(command)` fails
 * every call with AccessDeniedException. With `faults`, each command consults them before
 * (`sm.<Command>`) and after (`sm.<Command>.after`) it changes state, like the harness's store.
 * `canRead` evaluates a secret's resource policy for GetSecretValue (for the test's eyes only:
 * the rotator never reads a copy).
 */
import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  MalformedPolicyDocumentException,
  PublicPolicyException,
  PutResourcePolicyCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { ACCOUNT } from './fake-iam.js';
import type { Faults } from './rotation-harness.js';

const REGION = 'us-east-1';
const metadata = { $metadata: { httpStatusCode: 400, requestId: 'req-fake-sm' } };

export interface FakeVersion {
  readonly versionId: string;
  readonly secretString: string;
  readonly stages: Set<string>;
}

export interface FakeSecret {
  readonly arn: string;
  readonly name: string;
  readonly description: string | undefined;
  readonly kmsKeyId: string | undefined;
  readonly tags: Record<string, string>;
  policy: string | undefined;
  blockPublicPolicy: boolean | undefined;
  readonly versions: Map<string, FakeVersion>;
}

interface PolicyStatement {
  Effect: 'Allow' | 'Deny';
  Principal: '*' | { AWS: string | string[] };
  Action: string | string[];
  Condition?: Record<string, Record<string, string>>;
}

type Command = 'CreateSecret' | 'DescribeSecret' | 'PutResourcePolicy' | 'PutSecretValue' | 'GetSecretValue';

export class FakeSecretsManagerCopy {
  readonly secrets = new Map<string, FakeSecret>();
  /** Every call, by command name. */
  readonly calls: string[] = [];
  /** Every PutSecretValue's input, for assertions on tokens. */
  readonly puts: { SecretId?: string; ClientRequestToken?: string }[] = [];
  private readonly mock = mockClient(SecretsManagerClient);
  private readonly throttles = new Map<string, number>();
  private readonly denied = new Set<string>();

  constructor(private readonly faults?: Faults) {
    this.install();
  }

  throttle(command: Command, times: number): void {
    this.throttles.set(command, times);
  }

  deny(command: Command): void {
    this.denied.add(command);
  }

  allow(command: Command): void {
    this.denied.delete(command);
  }

  restore(): void {
    this.mock.restore();
  }

  /** A secret made by someone else (no VaultPilot tags unless given), with a value. */
  seed(name: string, tags: Record<string, string>, secretString: string): FakeSecret {
    const secret = this.newSecret(name, undefined, undefined, tags);
    const versionId = randomUUID();
    secret.versions.set(versionId, { versionId, secretString, stages: new Set(['AWSCURRENT']) });
    return secret;
  }

  /** The parsed value holding `stage` (AWSCURRENT by default); undefined when there is none. */
  value(name: string, stage = 'AWSCURRENT'): unknown {
    const version = [...(this.secrets.get(name)?.versions.values() ?? [])].find((candidate) =>
      candidate.stages.has(stage),
    );
    return version === undefined ? undefined : JSON.parse(version.secretString);
  }

  /**
   * Whether `principalArn` may read the value: an explicit deny in the resource policy wins, an
   * allow grants it, and otherwise `identityAllows` (what the principal's own policies say).
   */
  canRead(name: string, principalArn: string, identityAllows = true): boolean {
    const policy = this.secrets.get(name)?.policy;
    const statements =
      policy === undefined ? [] : (JSON.parse(policy) as { Statement: PolicyStatement[] }).Statement;
    const applies = statements.filter(
      (statement) =>
        actionMatches(statement.Action, 'secretsmanager:GetSecretValue') &&
        principalMatches(statement.Principal, principalArn) &&
        conditionHolds(statement.Condition, principalArn),
    );
    if (applies.some((statement) => statement.Effect === 'Deny')) return false;
    return applies.some((statement) => statement.Effect === 'Allow') || identityAllows;
  }

  private install(): void {
    this.mock
      .on(CreateSecretCommand)
      .callsFake(async (input) => this.run('CreateSecret', () => this.create(input)));
    this.mock
      .on(DescribeSecretCommand)
      .callsFake(async (input) => this.run('DescribeSecret', () => this.describe(input)));
    this.mock
      .on(PutResourcePolicyCommand)
      .callsFake(async (input) => this.run('PutResourcePolicy', () => this.putPolicy(input)));
    this.mock
      .on(PutSecretValueCommand)
      .callsFake(async (input) => this.run('PutSecretValue', () => this.put(input)));
    this.mock
      .on(GetSecretValueCommand)
      .callsFake(async () => this.run('GetSecretValue', () => ({ ...metadata })));
  }

  private async run<T>(command: Command, operation: () => T): Promise<T> {
    this.calls.push(command);
    await new Promise((resolve) => setImmediate(resolve));
    this.faults?.hit(`sm.${command}`);
    const left = this.throttles.get(command) ?? 0;
    if (left > 0) {
      this.throttles.set(command, left - 1);
      throw new SecretsManagerServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        message: 'Rate exceeded',
        ...metadata,
      });
    }
    if (this.denied.has(command)) {
      throw new SecretsManagerServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/RotationWorker/worker is not authorized to perform: secretsmanager:${command} because no identity-based policy allows the secretsmanager:${command} action`,
        ...metadata,
      });
    }
    const result = operation();
    this.faults?.hit(`sm.${command}.after`);
    return result;
  }

  private secret(id: string | undefined): FakeSecret {
    const secret = [...this.secrets.values()].find(
      (candidate) => candidate.name === id || candidate.arn === id,
    );
    if (secret === undefined) {
      throw new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret.",
        ...metadata,
      });
    }
    return secret;
  }

  private newSecret(
    name: string,
    description: string | undefined,
    kmsKeyId: string | undefined,
    tags: Record<string, string>,
  ): FakeSecret {
    const suffix = randomUUID().replace(/-/g, '').slice(0, 6);
    const secret: FakeSecret = {
      arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-${suffix}`,
      name,
      description,
      kmsKeyId,
      tags,
      policy: undefined,
      blockPublicPolicy: undefined,
      versions: new Map(),
    };
    this.secrets.set(name, secret);
    return secret;
  }

  private create(input: {
    Name?: string;
    Description?: string;
    KmsKeyId?: string;
    Tags?: { Key?: string; Value?: string }[];
    SecretString?: string;
  }) {
    const name = input.Name ?? '';
    if (!/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(name)) {
      throw new InvalidParameterException({ message: 'Invalid name.', ...metadata });
    }
    if (this.secrets.has(name)) {
      throw new ResourceExistsException({
        message: `The operation failed because the secret ${name} already exists.`,
        ...metadata,
      });
    }
    const tags = Object.fromEntries((input.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
    const secret = this.newSecret(name, input.Description, input.KmsKeyId, tags);
    if (input.SecretString === undefined) return { ARN: secret.arn, Name: name };
    const versionId = randomUUID();
    secret.versions.set(versionId, {
      versionId,
      secretString: input.SecretString,
      stages: new Set(['AWSCURRENT']),
    });
    return { ARN: secret.arn, Name: name, VersionId: versionId };
  }

  private describe(input: { SecretId?: string }) {
    const secret = this.secret(input.SecretId);
    return {
      ARN: secret.arn,
      Name: secret.name,
      Description: secret.description,
      KmsKeyId: secret.kmsKeyId,
      Tags: Object.entries(secret.tags).map(([Key, Value]) => ({ Key, Value })),
      VersionIdsToStages: Object.fromEntries(
        [...secret.versions.values()].map((version) => [version.versionId, [...version.stages]]),
      ),
      CreatedDate: new Date(),
    };
  }

  private putPolicy(input: { SecretId?: string; ResourcePolicy?: string; BlockPublicPolicy?: boolean }) {
    const secret = this.secret(input.SecretId);
    let statements: PolicyStatement[];
    try {
      statements = (JSON.parse(input.ResourcePolicy ?? '') as { Statement: PolicyStatement[] }).Statement;
      if (!Array.isArray(statements)) throw new Error('no statements');
    } catch {
      throw new MalformedPolicyDocumentException({
        message: 'This resource policy contains a syntax error.',
        ...metadata,
      });
    }
    const isPublic = statements.some(
      (statement) =>
        statement.Effect === 'Allow' && statement.Principal === '*' && statement.Condition === undefined,
    );
    if (input.BlockPublicPolicy === true && isPublic) {
      throw new PublicPolicyException({
        message: 'This resource policy will grant public access to the secret.',
        ...metadata,
      });
    }
    secret.policy = input.ResourcePolicy;
    secret.blockPublicPolicy = input.BlockPublicPolicy;
    return { ARN: secret.arn, Name: secret.name };
  }

  private put(input: {
    SecretId?: string;
    ClientRequestToken?: string;
    SecretString?: string;
    VersionStages?: string[];
  }) {
    this.puts.push({ SecretId: input.SecretId, ClientRequestToken: input.ClientRequestToken });
    const secret = this.secret(input.SecretId);
    const versionId = input.ClientRequestToken ?? randomUUID();
    if (versionId.length < 32 || versionId.length > 64) {
      throw new InvalidParameterException({ message: 'Invalid ClientRequestToken.', ...metadata });
    }
    const secretString = input.SecretString ?? '';
    const existing = secret.versions.get(versionId);
    if (existing !== undefined) {
      if (existing.secretString === secretString) {
        return {
          ARN: secret.arn,
          Name: secret.name,
          VersionId: versionId,
          VersionStages: [...existing.stages],
        };
      }
      throw new ResourceExistsException({
        message: 'You can’t modify an existing version, you can only create a new version.',
        ...metadata,
      });
    }
    const stages = new Set(input.VersionStages ?? ['AWSCURRENT']);
    for (const stage of stages) this.detach(secret, stage);
    secret.versions.set(versionId, { versionId, secretString, stages });
    return { ARN: secret.arn, Name: secret.name, VersionId: versionId, VersionStages: [...stages] };
  }

  /** Takes a label off whichever version holds it; AWSCURRENT leaves AWSPREVIOUS behind. */
  private detach(secret: FakeSecret, stage: string): void {
    for (const version of secret.versions.values()) {
      if (!version.stages.delete(stage)) continue;
      if (stage === 'AWSCURRENT') {
        this.detach(secret, 'AWSPREVIOUS');
        version.stages.add('AWSPREVIOUS');
      }
    }
  }
}

function actionMatches(actions: string | string[], action: string): boolean {
  return ([] as string[]).concat(actions).some((candidate) => candidate === action || candidate === '*');
}

function principalMatches(principal: PolicyStatement['Principal'], arn: string): boolean {
  return principal === '*' || ([] as string[]).concat(principal.AWS).includes(arn);
}

function conditionHolds(condition: PolicyStatement['Condition'], principalArn: string): boolean {
  for (const [operator, pairs] of Object.entries(condition ?? {})) {
    for (const [key, expected] of Object.entries(pairs)) {
      if (key !== 'aws:PrincipalArn') throw new Error(`The fake does not evaluate ${key}`);
      const equal = principalArn === expected;
      if (operator === 'StringEquals' && !equal) return false;
      if (operator === 'StringNotEquals' && equal) return false;
      if (operator !== 'StringEquals' && operator !== 'StringNotEquals') {
        throw new Error(`The fake does not evaluate ${operator}`);
      }
    }
  }
  return true;
}
