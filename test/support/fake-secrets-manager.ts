/**
 * A fake Secrets Manager behind `aws-sdk-client-mock` for rotating adopted secrets, with the
 * version and staging-label rules of the Secrets Manager API reference:
 *
 * - DescribeSecret answers `{ARN, Name, Tags, RotationEnabled, RotationLambdaARN?,
 *   VersionIdsToStages}` listing only versions that carry a label (unlabelled ones are deprecated);
 * - GetSecretValue by VersionId and/or VersionStage answers `{ARN, Name, VersionId, SecretString,
 *   VersionStages, CreatedDate}`, ResourceNotFoundException when no version matches;
 * - PutSecretValue with ClientRequestToken and VersionStages: a label moves to the new version
 *   (AWSCURRENT leaves AWSPREVIOUS behind); the same token with the same value is a no-op, with
 *   another value ResourceExistsException;
 * - UpdateSecretVersionStage with MoveToVersionId / RemoveFromVersionId (InvalidParameterException
 *   when RemoveFromVersionId does not hold the label);
 * - RotateSecret with a rotation function: InvalidRequestException while another version holds
 *   AWSPENDING ("A previous rotation isn't complete"); otherwise the function's createSecret
 *   step stages the token's version AWSPENDING, and at the `functionSteps`-th DescribeSecret call
 *   after it its finishSecret step makes it AWSCURRENT — unless `functionFails`, when it stops there and
 *   leaves AWSPENDING behind, as a failed rotation Lambda does.
 *
 * `throttle(command, n)` fails the next n calls with ThrottlingException.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  InvalidRequestException,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  RotateSecretCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';

const metadata = { $metadata: { httpStatusCode: 400, requestId: 'req-fake-sm' } };

interface Version {
  readonly secretString: string;
  readonly stages: Set<string>;
  readonly createdDate: Date;
}

export interface AdoptedSecret {
  readonly arn: string;
  readonly name: string;
  readonly tags: Record<string, string>;
  rotationLambdaArn: string | undefined;
  readonly versions: Map<string, Version>;
  /** A rotation the function is working on: its token and how many DescribeSecret calls it still takes. */
  running: { token: string; stepsLeft: number } | undefined;
}

type Command =
  'DescribeSecret' | 'GetSecretValue' | 'PutSecretValue' | 'UpdateSecretVersionStage' | 'RotateSecret';

export class FakeSecretsManager {
  readonly secrets = new Map<string, AdoptedSecret>();
  readonly calls: string[] = [];
  /** DescribeSecret calls a rotation function takes to finish. */
  functionSteps = 1;
  functionFails = false;
  private readonly mock = mockClient(SecretsManagerClient);
  private readonly throttles = new Map<string, number>();

  constructor() {
    this.mock
      .on(DescribeSecretCommand)
      .callsFake((input) => this.run('DescribeSecret', () => this.describe(input)));
    this.mock
      .on(GetSecretValueCommand)
      .callsFake((input) => this.run('GetSecretValue', () => this.get(input)));
    this.mock
      .on(PutSecretValueCommand)
      .callsFake((input) => this.run('PutSecretValue', () => this.put(input)));
    this.mock
      .on(UpdateSecretVersionStageCommand)
      .callsFake((input) => this.run('UpdateSecretVersionStage', () => this.stage(input)));
    this.mock
      .on(RotateSecretCommand)
      .callsFake((input) => this.run('RotateSecret', () => this.rotate(input)));
  }

  restore(): void {
    this.mock.restore();
  }

  throttle(command: Command, times: number): void {
    this.throttles.set(command, times);
  }

  /** A secret with a JSON value, tagged as given, with or without a rotation function. */
  seed(
    name: string,
    value: Record<string, string>,
    tags: Record<string, string>,
    rotationLambdaArn?: string,
  ) {
    const secret: AdoptedSecret = {
      arn: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-${randomBytes(3).toString('hex')}`,
      name,
      tags,
      rotationLambdaArn,
      versions: new Map(),
      running: undefined,
    };
    secret.versions.set(randomUUID(), {
      secretString: JSON.stringify(value),
      stages: new Set(['AWSCURRENT']),
      createdDate: new Date(),
    });
    this.secrets.set(name, secret);
    return secret;
  }

  /** Version ids by the label they hold. */
  labels(name: string): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [id, version] of this.secrets.get(name)?.versions ?? []) {
      for (const stage of version.stages) out[stage] = [...(out[stage] ?? []), id];
    }
    return out;
  }

  value(name: string, stage = 'AWSCURRENT'): Record<string, string> | undefined {
    const version = [...(this.secrets.get(name)?.versions.values() ?? [])].find((item) =>
      item.stages.has(stage),
    );
    return version === undefined ? undefined : (JSON.parse(version.secretString) as Record<string, string>);
  }

  private async run<T>(command: Command, operation: () => T): Promise<T> {
    this.calls.push(command);
    await new Promise((resolve) => setImmediate(resolve));
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
    return operation();
  }

  private secret(id: string | undefined): AdoptedSecret {
    const secret = [...this.secrets.values()].find((item) => item.name === id || item.arn === id);
    if (secret === undefined) {
      throw new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret.",
        ...metadata,
      });
    }
    return secret;
  }

  private detach(secret: AdoptedSecret, stage: string): void {
    for (const version of secret.versions.values()) {
      if (version.stages.delete(stage) && stage === 'AWSCURRENT') {
        this.detach(secret, 'AWSPREVIOUS');
        version.stages.add('AWSPREVIOUS');
      }
    }
  }

  /** The rotation function's finishSecret step, once its time has come. */
  private advanceFunction(secret: AdoptedSecret): void {
    const running = secret.running;
    if (running === undefined) return;
    if (this.functionFails) {
      // The function gave up after createSecret: AWSPENDING stays where it is.
      secret.running = undefined;
      return;
    }
    running.stepsLeft -= 1;
    if (running.stepsLeft > 0) return;
    this.detach(secret, 'AWSCURRENT');
    const version = secret.versions.get(running.token);
    version?.stages.delete('AWSPENDING');
    version?.stages.add('AWSCURRENT');
    secret.running = undefined;
  }

  private describe(input: { SecretId?: string }) {
    const secret = this.secret(input.SecretId);
    this.advanceFunction(secret);
    return {
      ARN: secret.arn,
      Name: secret.name,
      RotationEnabled: secret.rotationLambdaArn !== undefined,
      ...(secret.rotationLambdaArn === undefined ? {} : { RotationLambdaARN: secret.rotationLambdaArn }),
      Tags: Object.entries(secret.tags).map(([Key, Value]) => ({ Key, Value })),
      VersionIdsToStages: Object.fromEntries(
        [...secret.versions.entries()]
          .filter(([, version]) => version.stages.size > 0)
          .map(([id, version]) => [id, [...version.stages]]),
      ),
      ...metadata,
    };
  }

  private get(input: { SecretId?: string; VersionId?: string; VersionStage?: string }) {
    const secret = this.secret(input.SecretId);
    const stage = input.VersionStage ?? (input.VersionId === undefined ? 'AWSCURRENT' : undefined);
    const found = [...secret.versions.entries()].find(
      ([id, version]) =>
        (input.VersionId === undefined || id === input.VersionId) &&
        (stage === undefined || version.stages.has(stage)),
    );
    if (found === undefined) {
      throw new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret value for staging label: " + (stage ?? ''),
        ...metadata,
      });
    }
    const [id, version] = found;
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: id,
      SecretString: version.secretString,
      VersionStages: [...version.stages],
      CreatedDate: version.createdDate,
    };
  }

  private put(input: {
    SecretId?: string;
    ClientRequestToken?: string;
    SecretString?: string;
    VersionStages?: string[];
  }) {
    const secret = this.secret(input.SecretId);
    const id = input.ClientRequestToken ?? randomUUID();
    if (id.length < 32 || id.length > 64) {
      throw new InvalidParameterException({ message: 'Invalid ClientRequestToken.', ...metadata });
    }
    const existing = secret.versions.get(id);
    if (existing !== undefined) {
      if (existing.secretString === input.SecretString) {
        return { ARN: secret.arn, Name: secret.name, VersionId: id, VersionStages: [...existing.stages] };
      }
      throw new ResourceExistsException({
        message: 'You can’t modify an existing version, you can only create a new version.',
        ...metadata,
      });
    }
    const stages = new Set(input.VersionStages ?? ['AWSCURRENT']);
    for (const stage of stages) this.detach(secret, stage);
    secret.versions.set(id, { secretString: input.SecretString ?? '', stages, createdDate: new Date() });
    return { ARN: secret.arn, Name: secret.name, VersionId: id, VersionStages: [...stages] };
  }

  private stage(input: {
    SecretId?: string;
    VersionStage?: string;
    MoveToVersionId?: string;
    RemoveFromVersionId?: string;
  }) {
    const secret = this.secret(input.SecretId);
    const stage = input.VersionStage ?? '';
    const holder = [...secret.versions.entries()].find(([, version]) => version.stages.has(stage))?.[0];
    if (holder !== undefined && holder !== input.RemoveFromVersionId && holder !== input.MoveToVersionId) {
      throw new InvalidParameterException({
        message: `The staging label ${stage} is currently attached to version ${holder}, so you must explicitly reference that version in RemoveFromVersionId.`,
        ...metadata,
      });
    }
    if (input.RemoveFromVersionId !== undefined) {
      const from = secret.versions.get(input.RemoveFromVersionId);
      if (from === undefined || !from.stages.has(stage)) {
        throw new InvalidParameterException({
          message: 'The version does not hold the staging label.',
          ...metadata,
        });
      }
    }
    if (input.MoveToVersionId !== undefined) {
      const to = secret.versions.get(input.MoveToVersionId);
      if (to === undefined) throw new ResourceNotFoundException({ message: 'No such version.', ...metadata });
      this.detach(secret, stage);
      to.stages.add(stage);
    } else if (input.RemoveFromVersionId !== undefined) {
      secret.versions.get(input.RemoveFromVersionId)?.stages.delete(stage);
    }
    return { ARN: secret.arn, Name: secret.name };
  }

  private rotate(input: { SecretId?: string; ClientRequestToken?: string }) {
    const secret = this.secret(input.SecretId);
    if (secret.rotationLambdaArn === undefined) {
      throw new InvalidRequestException({
        message: 'No Lambda rotation function ARN is associated with this secret.',
        ...metadata,
      });
    }
    const token = input.ClientRequestToken ?? randomUUID();
    const pending = [...secret.versions.entries()].find(([, version]) =>
      version.stages.has('AWSPENDING'),
    )?.[0];
    if (pending !== undefined && pending !== token) {
      throw new InvalidRequestException({
        message: "A previous rotation isn't complete. That rotation will be reattempted.",
        ...metadata,
      });
    }
    if (!secret.versions.has(token)) {
      // The function's createSecret step.
      secret.versions.set(token, {
        secretString: JSON.stringify({ password: randomBytes(16).toString('hex') }),
        stages: new Set(['AWSPENDING']),
        createdDate: new Date(),
      });
      secret.running = this.functionFails ? undefined : { token, stepsLeft: this.functionSteps };
    }
    return { ARN: secret.arn, Name: secret.name, VersionId: token };
  }
}
