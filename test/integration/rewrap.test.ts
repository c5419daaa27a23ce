/**
 * Re-wrapping data keys under the current key: the use case on dynalite with a file keyring
 * (payloads untouched, values still open, destroyed versions left alone, resumable cursors that
 * cannot cross tenants), the `vaultpilot rewrap` command on a data directory (progress, saved
 * position, refusal while the server runs) and `POST /admin/rewrap` through the local API.
 */
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbSecretStore } from '../../lambdas/adapters/aws/dynamodb-secret-store.js';
import { FileKeyring } from '../../lambdas/adapters/local/file-keyring.js';
import { ValidationError } from '../../lambdas/core/errors.js';
import { DataKeyCache } from '../../lambdas/core/secrets/data-key-cache.js';
import { EnvelopeCipher } from '../../lambdas/core/secrets/envelope.js';
import { SecretsService } from '../../lambdas/core/secrets/kv-service.js';
import { DataKeyRewrap } from '../../lambdas/core/secrets/rewrap.js';
import { type CliIo, runCli } from '../../lambdas/local/cli.js';
import { ensureTables, type LocalDynamo, startLocalDynamo } from '../../lambdas/local/dynamo.js';
import { type LocalRuntime, startLocalRuntime } from '../../lambdas/local/runtime.js';
import { parseLocalRuntimeConfig } from '../../lambdas/shared/config.js';
import { localTableName, TABLE_LIST } from '../../lambdas/shared/tables.js';

const REGION = 'us-east-1';
const TABLE = localTableName('secrets');
const PASSWORD = 'rewrap-password-0123456789';

function documentClient(endpoint: string): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint,
      region: REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
}

interface StoredEnvelopeItem {
  pk: string;
  sk: string;
  envelope?: { keyId: string; wrappedKey: string; iv: string; ciphertext: string; tag: string };
}

async function versionItems(client: DynamoDBDocumentClient): Promise<StoredEnvelopeItem[]> {
  const items: StoredEnvelopeItem[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: TABLE, ExclusiveStartKey }));
    items.push(...((page.Items ?? []) as StoredEnvelopeItem[]).filter((item) => item.sk.startsWith('v#')));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey !== undefined);
  return items.sort((a, b) => `${a.pk} ${a.sk}`.localeCompare(`${b.pk} ${b.sk}`));
}

describe('DataKeyRewrap on dynalite', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBDocumentClient;
  let keyring: FileKeyring;
  let service: SecretsService;
  let rewrap: DataKeyRewrap;
  let store: DynamoDbSecretStore;

  beforeAll(async () => {
    dynamo = await startLocalDynamo({ path: undefined, host: '127.0.0.1', port: 0 });
    await ensureTables(dynamo.endpoint, REGION, TABLE_LIST);
    client = documentClient(dynamo.endpoint);
    keyring = new FileKeyring({});
    const cipher = new EnvelopeCipher(keyring, new DataKeyCache());
    store = new DynamoDbSecretStore(client, TABLE);
    service = new SecretsService(store, cipher, { now: () => new Date() });
    rewrap = new DataKeyRewrap(store, cipher);
    // Two tenants; paths chosen so that one is a prefix of another (`a`, `a-b`, `a/b`).
    for (const tenant of ['acme', 'globex']) {
      for (const path of ['a', 'a-b', 'a/b', 'prod/db/password', 'z']) {
        for (let n = 1; n <= 3; n += 1) {
          await service.write('user:test', tenant, path, { value: `${tenant}:${path}:${n}` });
        }
      }
    }
    await service.destroy('acme', 'z', [2]);
  });

  afterAll(async () => {
    client.destroy();
    await dynamo.close();
  });

  it('moves every live version of one tenant to the new key in bounded, resumable steps', async () => {
    const before = await versionItems(client);
    const oldKey = before[0]?.envelope?.keyId;
    const newKey = await keyring.rotate();
    expect(newKey).not.toBe(oldKey);

    const steps = [];
    let cursor: string | undefined;
    do {
      const step = await rewrap.step('acme', { cursor, limit: 4 });
      steps.push(step);
      cursor = step.cursor;
    } while (cursor !== undefined);

    // 5 paths x 3 versions, one destroyed: 14 envelopes in steps of at most 4.
    expect(steps.map((step) => step.scanned)).toEqual([4, 4, 4, 2]);
    expect(steps.reduce((sum, step) => sum + step.rewrapped, 0)).toBe(14);
    expect(steps.every((step) => step.keyId === newKey && step.skipped === 0)).toBe(true);

    const after = await versionItems(client);
    for (const item of after) {
      const old = before.find((candidate) => candidate.pk === item.pk && candidate.sk === item.sk);
      if (item.envelope === undefined) {
        expect(old?.envelope).toBeUndefined();
        continue;
      }
      // Only the wrapped key and its key id change; the sealed payload is untouched.
      expect(item.envelope.keyId).toBe(item.pk.startsWith('acme#') ? newKey : oldKey);
      expect(item.envelope.iv).toBe(old?.envelope?.iv);
      expect(item.envelope.ciphertext).toBe(old?.envelope?.ciphertext);
      expect(item.envelope.tag).toBe(old?.envelope?.tag);
      if (item.pk.startsWith('acme#')) expect(item.envelope.wrappedKey).not.toBe(old?.envelope?.wrappedKey);
    }
    // Values still open, through a fresh cipher (no cached data key).
    const fresh = new SecretsService(store, new EnvelopeCipher(keyring, new DataKeyCache()), {
      now: () => new Date(),
    });
    for (const path of ['a', 'a-b', 'a/b', 'prod/db/password']) {
      for (let n = 1; n <= 3; n += 1) {
        expect((await fresh.read('acme', path, n)).data).toEqual({ value: `acme:${path}:${n}` });
      }
    }
    await expect(fresh.read('acme', 'z', 2)).rejects.toThrow(/destroyed/);
  });

  it('counts versions already under the current key on a second run, changing nothing', async () => {
    const before = await versionItems(client);
    const step = await rewrap.step('acme', { limit: 1000 });
    expect(step).toMatchObject({
      scanned: 14,
      rewrapped: 0,
      alreadyCurrent: 14,
      skipped: 0,
      cursor: undefined,
    });
    expect(await versionItems(client)).toEqual(before);
  });

  it('skips a version whose envelope changed after it was read, never overwriting it', async () => {
    const page = await store.envelopesAfter('globex', undefined, 1);
    const first = page.items[0];
    if (first === undefined) throw new Error('globex has no envelopes');
    await service.destroy('globex', first.path, [first.version]);
    const cipher = new EnvelopeCipher(keyring, new DataKeyCache());
    const next = await cipher.rewrap(first.envelope, {
      tenant: 'globex',
      path: first.path,
      version: String(first.version),
    });
    expect(await store.replaceEnvelope('globex', first.path, first.version, first.envelope, next)).toBe(
      false,
    );
    await expect(service.read('globex', first.path, first.version)).rejects.toThrow(/destroyed/);
  });

  it('refuses a cursor of another tenant, a damaged cursor and a bad limit with 400', async () => {
    const { cursor } = await rewrap.step('globex', { limit: 1 });
    expect(cursor).toBeDefined();
    await expect(rewrap.step('acme', { cursor })).rejects.toBeInstanceOf(ValidationError);
    await expect(rewrap.step('globex', { cursor: `${cursor ?? ''}x` })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(rewrap.step('globex', { cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(ValidationError);
    await expect(rewrap.step('globex', { limit: 0 })).rejects.toBeInstanceOf(ValidationError);
    await expect(rewrap.step('globex', { limit: 1001 })).rejects.toBeInstanceOf(ValidationError);
  });
});

async function vaultpilot(argv: string[], env: Record<string, string>) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdin: Readable.from([]),
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    env,
    cwd: mkdtempSync(join(tmpdir(), 'vp-cwd-')),
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

async function withRuntime<T>(
  dataDir: string,
  run: (url: string, token: string, runtime: LocalRuntime) => Promise<T>,
): Promise<T> {
  const runtime = await startLocalRuntime(
    parseLocalRuntimeConfig({
      PORT: '0',
      VAULTPILOT_DATA_DIR: dataDir,
      VAULTPILOT_SCHEDULER: 'false',
      VAULTPILOT_ADMIN_PASSWORD: PASSWORD,
    }),
    { info: () => undefined, error: () => undefined },
  );
  try {
    const login = (await (
      await fetch(`${runtime.url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: PASSWORD }),
      })
    ).json()) as { accessToken: string };
    return await run(runtime.url, login.accessToken, runtime);
  } finally {
    await runtime.stop();
  }
}

async function api(url: string, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const json: any = text === '' ? undefined : JSON.parse(text);
  return { status: response.status, json };
}

async function writeSecrets(url: string, token: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const answer = await api(url, token, 'POST', `/secrets/data/app/key-${i}`, {
      data: { value: `value-${i}` },
    });
    expect(answer.status).toBe(200);
  }
}

async function readSecrets(url: string, token: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const answer = await api(url, token, 'GET', `/secrets/data/app/key-${i}`);
    expect(answer.json.data.data).toEqual({ value: `value-${i}` });
  }
}

describe('vaultpilot rewrap', () => {
  it('rotates the local key, re-wraps every version with progress, and the server still reads them', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'vp-rewrap-')), 'data');
    await withRuntime(dataDir, (url, token) => writeSecrets(url, token, 5));

    const run = await vaultpilot(['rewrap', '--rotate-key', '--batch', '2'], {
      VAULTPILOT_DATA_DIR: dataDir,
    });
    expect(run.stderr).toMatch(/Added key-encryption key kek-[0-9a-f]{16}/);
    expect(run.stderr).toContain('default: 2 versions looked at, 2 re-wrapped');
    expect(run.stderr).toContain(
      'default: 5 versions looked at, 5 re-wrapped, 0 already current, 0 skipped (done)',
    );
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      rotated: true,
      resumed: false,
      tenants: 1,
      scanned: 5,
      rewrapped: 5,
      skipped: 0,
    });
    expect(existsSync(join(dataDir, 'rewrap-progress.json'))).toBe(false);
    expect(run.stdout + run.stderr).not.toContain('value-');

    await withRuntime(dataDir, async (url, token) => {
      await readSecrets(url, token, 5);
      // While the server runs, the command refuses and points at the API.
      const again = await vaultpilot(['rewrap'], { VAULTPILOT_DATA_DIR: dataDir }).catch(
        (error: unknown) => error,
      );
      expect(again).toMatchObject({ code: 1 });
      expect((again as { stderr: string }).stderr).toContain('POST /admin/rewrap');
    });
  });

  it('resumes from the saved position after an interruption', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'vp-rewrap-')), 'data');
    await withRuntime(dataDir, (url, token) => writeSecrets(url, token, 4));
    const keyring = new FileKeyring({ dataDir });
    await keyring.rotate();

    // Interrupt after the first step: the progress callback throws once a step is saved.
    const { rewrapDataDir } = await import('../../lambdas/local/rewrap.js');
    let lines = 0;
    await expect(
      rewrapDataDir({
        dataDir,
        batch: 1,
        progress: () => {
          lines += 1;
          if (lines === 2) throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');
    const saved = JSON.parse(readFileSync(join(dataDir, 'rewrap-progress.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(saved).toMatchObject({ tenant: 'default' });
    expect(typeof saved.cursor).toBe('string');

    const resumed = await vaultpilot(['rewrap', '--batch', '1'], { VAULTPILOT_DATA_DIR: dataDir });
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain('Resuming at tenant default');
    // The first version was done before the interruption; the rest now.
    expect(JSON.parse(resumed.stdout)).toMatchObject({ resumed: true, scanned: 3, rewrapped: 3 });
    await withRuntime(dataDir, (url, token) => readSecrets(url, token, 4));
  });

  it('explains bad options and a missing data directory', async () => {
    const env = { VAULTPILOT_DATA_DIR: join(mkdtempSync(join(tmpdir(), 'vp-rewrap-')), 'none') };
    expect(await vaultpilot(['rewrap', '--batch', '0'], env)).toMatchObject({ code: 2 });
    expect((await vaultpilot(['rewrap', '--tenant', 'Bad_Tenant'], env)).stderr).toContain(
      '--tenant must be',
    );
    const missing = await vaultpilot(['rewrap'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nothing to re-wrap');
  });
});

describe('POST /admin/rewrap', () => {
  it('re-wraps step by step for an admin, is refused to others, and validates its body', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'vp-rewrap-')), 'data');
    await withRuntime(dataDir, (url, token) => writeSecrets(url, token, 3));
    await new FileKeyring({ dataDir }).rotate();

    await withRuntime(dataDir, async (url, token, runtime) => {
      await runtime.identity.addUser({
        username: 'olga',
        password: PASSWORD,
        tenant: 'default',
        groups: ['operator'],
      });
      const operator = (await (
        await fetch(`${url}/auth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'olga', password: PASSWORD }),
        })
      ).json()) as { accessToken: string };
      const refused = await api(url, operator.accessToken, 'POST', '/admin/rewrap', {});
      expect(refused.status).toBe(403);

      const steps: { scanned: number; rewrapped: number; done: boolean; key_id: string }[] = [];
      let cursor: string | undefined;
      do {
        const answer = await api(url, token, 'POST', '/admin/rewrap', {
          limit: 2,
          ...(cursor ? { cursor } : {}),
        });
        expect(answer.status).toBe(200);
        steps.push(answer.json.data);
        cursor = answer.json.data.cursor ?? undefined;
      } while (cursor !== undefined);
      expect(steps.map((step) => [step.scanned, step.rewrapped, step.done])).toEqual([
        [2, 2, false],
        [1, 1, true],
      ]);
      expect(steps[0]?.key_id).toMatch(/^kek-/);
      await readSecrets(url, token, 3);

      expect((await api(url, token, 'POST', '/admin/rewrap', {})).json.data).toMatchObject({
        scanned: 3,
        rewrapped: 0,
        already_current: 3,
        done: true,
        cursor: null,
      });
      expect((await api(url, token, 'POST', '/admin/rewrap', { limit: 5000 })).status).toBe(400);
      expect((await api(url, token, 'POST', '/admin/rewrap', { extra: true })).status).toBe(400);
      expect((await api(url, token, 'POST', '/admin/rewrap', { cursor: 'garbage' })).status).toBe(400);
      expect((await api(url, 'not-a-token', 'POST', '/admin/rewrap', {})).status).toBe(401);
    });
  });
});
