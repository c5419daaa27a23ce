/**
 * The secret store behaviour suite against the Secrets Manager backend, with
 * aws-sdk-client-mock in front of a small stateful fake of the Secrets Manager calls the
 * backend makes. The fake's responses copy the shapes of the AWS Secrets Manager API
 * reference, and its errors follow the documented behaviour: ResourceNotFoundException for a
 * missing secret or label, ResourceExistsException for a reused ClientRequestToken with other
 * content (the same content is a no-op), AWSCURRENT on the first version and AWSPREVIOUS moved
 * with it, the staging-label quota (20 per secret) and the version quota (unlabelled versions
 * are only removed past 100 and after 24 hours).
 */
import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  LimitExceededException,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  SECRETS_MANAGER_MAX_VERSIONS,
  SecretsManagerSecretStore,
} from '../../lambdas/adapters/aws/secrets-manager-secret-store.js';
import { FileKeyring } from '../../lambdas/adapters/local/file-keyring.js';
import {
  DependencyUnavailableError,
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
} from '../../lambdas/core/errors.js';
import { DataKeyCache } from '../../lambdas/core/secrets/data-key-cache.js';
import { EnvelopeCipher } from '../../lambdas/core/secrets/envelope.js';
import { SecretsService } from '../../lambdas/core/secrets/kv-service.js';
import { parseSecretPath } from '../../lambdas/core/secrets/secret-path.js';
import {
  type SecretStoreHarness,
  type StoredVersionRef,
  describeSecretStoreBehaviour,
} from '../support/secret-store-behaviour.js';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const LABEL_QUOTA = 20;
const VERSION_QUOTA = 100;
const DAY_MS = 24 * 60 * 60 * 1000;

interface FakeVersion {
  readonly versionId: string;
  secretString: string;
  readonly stages: Set<string>;
  readonly createdDate: Date;
}

interface FakeSecret {
  readonly arn: string;
  readonly name: string;
  readonly description: string | undefined;
  readonly tags: { Key?: string; Value?: string }[];
  readonly createdDate: Date;
  lastChangedDate: Date;
  readonly versions: Map<string, FakeVersion>;
}

const metadata = { $metadata: {} };

/** A stateful Secrets Manager for one region, driven through aws-sdk-client-mock. */
class FakeSecretsManager {
  readonly secrets = new Map<string, FakeSecret>();
  /** Every call, by command name, for assertions on what the backend asked for. */
  readonly calls: string[] = [];

  install(client: SecretsManagerClient): void {
    const mock = mockClient(client);
    mock
      .on(CreateSecretCommand)
      .callsFake(async (input) => this.run('CreateSecret', () => this.create(input)));
    mock
      .on(PutSecretValueCommand)
      .callsFake(async (input) => this.run('PutSecretValue', () => this.put(input)));
    mock
      .on(GetSecretValueCommand)
      .callsFake(async (input) => this.run('GetSecretValue', () => this.get(input)));
    mock
      .on(DescribeSecretCommand)
      .callsFake(async (input) => this.run('DescribeSecret', () => this.describe(input)));
    mock
      .on(UpdateSecretVersionStageCommand)
      .callsFake(async (input) => this.run('UpdateSecretVersionStage', () => this.updateStage(input)));
    mock.on(ListSecretsCommand).callsFake(async (input) => this.run('ListSecrets', () => this.list(input)));
    mock
      .on(DeleteSecretCommand)
      .callsFake(async (input) => this.run('DeleteSecret', () => this.delete(input)));
  }

  /** Each call yields first, so concurrent callers interleave as they would over the network. */
  private async run<T>(name: string, operation: () => T): Promise<T> {
    this.calls.push(name);
    await new Promise((resolve) => setImmediate(resolve));
    return operation();
  }

  private secret(id: string | undefined): FakeSecret {
    const secret = id === undefined ? undefined : this.secrets.get(id);
    if (secret === undefined) {
      throw new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret.",
        ...metadata,
      });
    }
    return secret;
  }

  private create(input: {
    Name?: string;
    Description?: string;
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
    const now = new Date();
    const suffix = randomUUID().replace(/-/g, '').slice(0, 6);
    const secret: FakeSecret = {
      arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-${suffix}`,
      name,
      description: input.Description,
      tags: input.Tags ?? [],
      createdDate: now,
      lastChangedDate: now,
      versions: new Map(),
    };
    this.secrets.set(name, secret);
    // Without SecretString or SecretBinary, CreateSecret creates a secret with no versions.
    return { ARN: secret.arn, Name: name, ...metadata };
  }

  private put(input: {
    SecretId?: string;
    ClientRequestToken?: string;
    SecretString?: string;
    VersionStages?: string[];
  }) {
    const secret = this.secret(input.SecretId);
    const versionId = input.ClientRequestToken ?? randomUUID();
    const secretString = input.SecretString ?? '';
    if (Buffer.byteLength(secretString) > 65_536) {
      throw new InvalidParameterException({ message: 'SecretString exceeds 65536 bytes.', ...metadata });
    }
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
    if (secret.versions.size === 0) stages.add('AWSCURRENT');
    const labels = new Set([...secret.versions.values()].flatMap((version) => [...version.stages]));
    for (const stage of stages) labels.add(stage);
    if (stages.has('AWSCURRENT') && secret.versions.size > 0) labels.add('AWSPREVIOUS');
    if (labels.size > LABEL_QUOTA) {
      throw new LimitExceededException({ message: 'Staging labels quota exceeded.', ...metadata });
    }
    this.makeRoomForVersion(secret);
    for (const stage of stages) this.detach(secret, stage);
    const version: FakeVersion = { versionId, secretString, stages, createdDate: new Date() };
    secret.versions.set(versionId, version);
    secret.lastChangedDate = version.createdDate;
    return { ARN: secret.arn, Name: secret.name, VersionId: versionId, VersionStages: [...stages] };
  }

  /** Secrets Manager removes unlabelled versions past 100, but none younger than 24 hours. */
  private makeRoomForVersion(secret: FakeSecret): void {
    if (secret.versions.size < VERSION_QUOTA) return;
    const deprecated = [...secret.versions.values()]
      .filter((version) => version.stages.size === 0 && Date.now() - version.createdDate.getTime() > DAY_MS)
      .sort((a, b) => a.createdDate.getTime() - b.createdDate.getTime())[0];
    if (deprecated === undefined) {
      throw new LimitExceededException({
        message: 'You have exceeded the quota for secret versions.',
        ...metadata,
      });
    }
    secret.versions.delete(deprecated.versionId);
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

  private get(input: { SecretId?: string; VersionId?: string; VersionStage?: string }) {
    const secret = this.secret(input.SecretId);
    const stage = input.VersionStage ?? (input.VersionId === undefined ? 'AWSCURRENT' : undefined);
    const version = [...secret.versions.values()].find(
      (candidate) =>
        (input.VersionId === undefined || candidate.versionId === input.VersionId) &&
        (stage === undefined || candidate.stages.has(stage)),
    );
    if (version === undefined) {
      throw new ResourceNotFoundException({
        message: `Secrets Manager can't find the specified secret value for ${stage === undefined ? 'VersionId' : `staging label: ${stage}`}`,
        ...metadata,
      });
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.versionId,
      SecretString: version.secretString,
      VersionStages: [...version.stages],
      CreatedDate: version.createdDate,
      ...metadata,
    };
  }

  private versionsToStages(secret: FakeSecret): Record<string, string[]> {
    return Object.fromEntries(
      [...secret.versions.values()]
        .filter((version) => version.stages.size > 0)
        .map((version) => [version.versionId, [...version.stages]]),
    );
  }

  private describe(input: { SecretId?: string }) {
    const secret = this.secret(input.SecretId);
    return {
      ARN: secret.arn,
      Name: secret.name,
      Description: secret.description,
      Tags: secret.tags,
      CreatedDate: secret.createdDate,
      LastChangedDate: secret.lastChangedDate,
      VersionIdsToStages: this.versionsToStages(secret),
      ...metadata,
    };
  }

  private updateStage(input: {
    SecretId?: string;
    VersionStage?: string;
    MoveToVersionId?: string;
    RemoveFromVersionId?: string;
  }) {
    const secret = this.secret(input.SecretId);
    const stage = input.VersionStage ?? '';
    const holder = [...secret.versions.values()].find((version) => version.stages.has(stage));
    const invalid = (message: string) => new InvalidParameterException({ message, ...metadata });
    if (input.RemoveFromVersionId !== undefined && holder?.versionId !== input.RemoveFromVersionId) {
      throw invalid(`The staging label ${stage} is not attached to version ${input.RemoveFromVersionId}.`);
    }
    if (input.MoveToVersionId === undefined) {
      if (stage === 'AWSCURRENT') throw invalid('You can only move AWSCURRENT, not remove it.');
      holder?.stages.delete(stage);
    } else {
      const target = secret.versions.get(input.MoveToVersionId);
      if (target === undefined) throw invalid(`Version ${input.MoveToVersionId} does not exist.`);
      if (holder !== undefined && holder !== target && input.RemoveFromVersionId === undefined) {
        throw invalid(
          `The staging label ${stage} is attached to another version; specify RemoveFromVersionId.`,
        );
      }
      this.detach(secret, stage);
      target.stages.add(stage);
    }
    return { ARN: secret.arn, Name: secret.name, ...metadata };
  }

  private list(input: {
    Filters?: { Key?: string; Values?: string[] }[];
    MaxResults?: number;
    NextToken?: string;
  }) {
    const prefixes = (input.Filters ?? []).filter((f) => f.Key === 'name').flatMap((f) => f.Values ?? []);
    // The name filter is a case-insensitive prefix match; the order is unspecified (newest first here).
    const matching = [...this.secrets.values()]
      .filter((secret) =>
        prefixes.every((prefix) => secret.name.toLowerCase().startsWith(prefix.toLowerCase())),
      )
      .reverse();
    const start = input.NextToken === undefined ? 0 : Number(input.NextToken);
    const size = input.MaxResults ?? 100;
    const page = matching.slice(start, start + size);
    return {
      SecretList: page.map((secret) => ({
        ARN: secret.arn,
        Name: secret.name,
        Description: secret.description,
        Tags: secret.tags,
        CreatedDate: secret.createdDate,
        LastChangedDate: secret.lastChangedDate,
        SecretVersionsToStages: this.versionsToStages(secret),
      })),
      NextToken: start + size < matching.length ? String(start + size) : undefined,
      ...metadata,
    };
  }

  private delete(input: { SecretId?: string; ForceDeleteWithoutRecovery?: boolean }) {
    const secret = this.secret(input.SecretId);
    if (input.ForceDeleteWithoutRecovery !== true) {
      throw new InvalidParameterException({
        message: 'This fake only deletes without recovery.',
        ...metadata,
      });
    }
    this.secrets.delete(secret.name);
    return { ARN: secret.arn, Name: secret.name, DeletionDate: new Date(), ...metadata };
  }

  /** The version a VaultPilot version number lives in, with or without its label. */
  valueVersion(name: string, versionId: string): FakeVersion | undefined {
    return this.secrets.get(name)?.versions.get(versionId);
  }
}

interface SecretsManagerParts {
  readonly fake: FakeSecretsManager;
  readonly store: SecretsManagerSecretStore;
  readonly service: SecretsService;
  readonly client: SecretsManagerClient;
}

function startSecretsManager(): SecretsManagerParts {
  const client = new SecretsManagerClient({
    region: REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const fake = new FakeSecretsManager();
  fake.install(client);
  const store = new SecretsManagerSecretStore(client);
  const cipher = new EnvelopeCipher(new FileKeyring({}), new DataKeyCache());
  const service = new SecretsService(store, cipher, { now: () => new Date() });
  return { fake, store, service, client };
}

function storedVersion(parts: SecretsManagerParts, ref: StoredVersionRef): FakeVersion | undefined {
  return parts.fake.valueVersion(
    parts.store.secretName(ref.tenant, ref.path),
    SecretsManagerSecretStore.valueVersionId(ref.tenant, ref.path, ref.version),
  );
}

function envelopeOf(version: FakeVersion | undefined): unknown {
  if (version === undefined) return undefined;
  const body = JSON.parse(version.secretString) as { envelope?: unknown };
  return body.envelope;
}

async function makeSecretsManagerHarness(): Promise<SecretStoreHarness> {
  const parts = startSecretsManager();
  return {
    service: parts.service,
    // Whatever Secrets Manager still holds, labelled or not: a destroyed version's ciphertext stays.
    storedEnvelope: (ref) => Promise.resolve(envelopeOf(storedVersion(parts, ref))),
    copyEnvelope(from, to) {
      const source = envelopeOf(storedVersion(parts, from));
      const target = storedVersion(parts, to);
      if (source === undefined || target === undefined) return Promise.reject(new Error('Nothing to copy'));
      // Bypasses the API: Secrets Manager versions are immutable, but the test plays an attacker.
      const body = JSON.parse(target.secretString) as Record<string, unknown>;
      target.secretString = JSON.stringify({ ...body, envelope: source });
      return Promise.resolve();
    },
    dumpStorage() {
      const secrets = [...parts.fake.secrets.values()].map((secret) => ({
        ...secret,
        versions: [...secret.versions.values()].map((v) => ({ ...v, stages: [...v.stages] })),
      }));
      return Promise.resolve(JSON.stringify(secrets));
    },
    close() {
      parts.client.destroy();
      return Promise.resolve();
    },
  };
}

describeSecretStoreBehaviour('Secrets Manager (aws-sdk-client-mock)', makeSecretsManagerHarness, {
  maxVersions: SECRETS_MANAGER_MAX_VERSIONS,
  removesCiphertextAtOnce: false,
});

describe('Secrets Manager secret store mapping', () => {
  it('names the secret <prefix><tenant>/<path> and labels versions v<n>, AWSCURRENT on the latest', async () => {
    // Prepare
    const parts = startSecretsManager();

    // Act
    for (const v of ['1', '2', '3']) await parts.service.write('alice', 'acme', 'prod/db/password', { v });

    // Assess
    const secret = parts.fake.secrets.get('vaultpilot/acme/prod/db/password');
    expect(secret).toBeDefined();
    const stagesOf = (n: number) =>
      [
        ...(storedVersion(parts, { tenant: 'acme', path: 'prod/db/password', version: n })?.stages ?? []),
      ].sort();
    expect(stagesOf(3)).toEqual(['AWSCURRENT', 'v3']);
    expect(stagesOf(2)).toEqual(['AWSPREVIOUS', 'v2']);
    expect(stagesOf(1)).toEqual(['v1']);
    expect(secret?.tags).toContainEqual({ Key: 'vaultpilot:tenant', Value: 'acme' });
  });

  it('concurrent writers within the label quota get distinct, readable versions', async () => {
    const parts = startSecretsManager();
    await parts.service.writeMetadata('acme', 'app/hot', { maxVersions: SECRETS_MANAGER_MAX_VERSIONS });

    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        parts.service.write(`w-${i}`, 'acme', 'app/hot', { w: String(i) }),
      ),
    );

    const versions = results.map((result) => result.version).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    for (const [i, result] of results.entries()) {
      expect((await parts.service.read('acme', 'app/hot', result.version)).data).toEqual({ w: String(i) });
    }
    expect((await parts.service.readMetadata('acme', 'app/hot')).currentVersion).toBe(12);
  });

  it('destroy refuses reads and drops the label, but the ciphertext stays in Secrets Manager', async () => {
    const parts = startSecretsManager();
    await parts.service.write('alice', 'acme', 'app/key', { v: '1' });
    await parts.service.write('alice', 'acme', 'app/key', { v: '2' });

    await parts.service.destroy('acme', 'app/key', [1]);
    await parts.service.undelete('acme', 'app/key', [1]);
    const error = await parts.service.read('acme', 'app/key', 1).catch((e: unknown) => e);

    const kept = storedVersion(parts, { tenant: 'acme', path: 'app/key', version: 1 });
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toMatch(/destroyed/);
    expect((await parts.service.readMetadata('acme', 'app/key')).versions['1']?.destroyed).toBe(true);
    expect(kept?.stages.has('v1')).toBe(false);
    expect(envelopeOf(kept)).toBeDefined();
  });

  it('a retried PutSecretValue is a no-op and a second writer of the same number is refused', async () => {
    const parts = startSecretsManager();
    await parts.service.write('alice', 'acme', 'app/key', { v: '1' });
    const name = parts.store.secretName('acme', 'app/key');
    const token = SecretsManagerSecretStore.valueVersionId('acme', 'app/key', 1);
    const original = storedVersion(parts, { tenant: 'acme', path: 'app/key', version: 1 });

    const retried = await parts.client.send(
      new PutSecretValueCommand({
        SecretId: name,
        ClientRequestToken: token,
        SecretString: original?.secretString,
      }),
    );
    const other = await parts.client
      .send(new PutSecretValueCommand({ SecretId: name, ClientRequestToken: token, SecretString: '{}' }))
      .catch((e: unknown) => e);

    expect(retried.VersionId).toBe(token);
    expect(other).toBeInstanceOf(ResourceExistsException);
    expect(SecretsManagerSecretStore.valueVersionId('acme', 'app/key', 1)).toBe(token);
    expect(SecretsManagerSecretStore.valueVersionId('acme', 'app/key', 2)).not.toBe(token);
    expect(token).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('adopts a version whose writer crashed before recording it', async () => {
    const parts = startSecretsManager();
    await parts.service.write('alice', 'acme', 'app/key', { v: '1' });
    // A writer that put v2 and crashed: the version exists, the metadata still says 1.
    const name = parts.store.secretName('acme', 'app/key');
    const cipher = new EnvelopeCipher(new FileKeyring({}), new DataKeyCache());
    const envelope = await cipher.seal(Buffer.from('{"v":"2"}'), {
      tenant: 'acme',
      path: 'app/key',
      version: '2',
    });
    const body = {
      kind: 'value',
      version: 2,
      createdTime: new Date().toISOString(),
      createdBy: 'crashed',
      envelope,
    };
    await parts.client.send(
      new PutSecretValueCommand({
        SecretId: name,
        ClientRequestToken: SecretsManagerSecretStore.valueVersionId('acme', 'app/key', 2),
        SecretString: JSON.stringify(body),
        VersionStages: ['v2'],
      }),
    );

    const next = await parts.service.write('alice', 'acme', 'app/key', { v: '3' });
    const meta = await parts.service.readMetadata('acme', 'app/key');

    expect(next.version).toBe(3);
    expect(Object.keys(meta.versions)).toEqual(['1', '2', '3']);
    expect(meta.versions['2']?.createdBy).toBe('crashed');
  });

  it('refuses what Secrets Manager cannot hold: maxVersions above the cap, oversize envelopes, odd tenants', async () => {
    const parts = startSecretsManager();

    const tooMany = await parts.service
      .writeMetadata('acme', 'app/key', { maxVersions: SECRETS_MANAGER_MAX_VERSIONS + 1 })
      .catch((e: unknown) => e);
    // 48 KiB of plaintext fits our 64 KiB limit, but its base64 envelope does not fit a SecretString.
    const tooBig = await parts.service
      .write('alice', 'acme', 'app/key', { v: 'x'.repeat(48 * 1024) })
      .catch((e: unknown) => e);
    const tenant = await parts.store.getMetadata('a/b', parseSecretPath('app/key')).catch((e: unknown) => e);

    expect(tooMany).toBeInstanceOf(ValidationError);
    expect(tooBig).toBeInstanceOf(PayloadTooLargeError);
    expect(tenant).toBeInstanceOf(ValidationError);
  });

  it('lists only its own tenant although the name filter ignores case', async () => {
    const parts = startSecretsManager();
    await parts.service.write('alice', 'acme', 'app/one', { v: '1' });
    await parts.service.write('alice', 'ACME', 'app/two', { v: '1' });

    const listed = await parts.service.list('acme', 'app/');

    expect(listed.keys).toEqual(['one']);
  });
});

describe('Secrets Manager secret store throttling', () => {
  it.each(['ThrottlingException', 'LimitExceededException', 'InternalServiceError'])(
    'maps %s to DependencyUnavailableError (503, Retry-After)',
    async (name) => {
      // Prepare: a client whose every call fails with this error.
      const client = new SecretsManagerClient({ region: REGION });
      const mock = mockClient(client);
      const failure = Object.assign(new Error('Rate exceeded'), { name });
      mock.onAnyCommand().rejects(failure);
      const store = new SecretsManagerSecretStore(client);

      // Act
      const error = await store.getMetadata('t', parseSecretPath('app/key')).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(DependencyUnavailableError);
      expect((error as DependencyUnavailableError).retryAfterSeconds).toBeGreaterThan(0);
      expect((error as Error).cause).toBe(failure);
      mock.restore();
    },
  );
});
