/**
 * `vaultpilot rewrap` on a local data directory: re-wraps every secret data key under the local
 * keyring's current key-encryption key (optionally after adding a new one), tenant by tenant, in
 * bounded steps, printing progress. It opens the data directory itself, so the server must be
 * stopped (a running server is re-wrapped through `POST /admin/rewrap`).
 *
 * Resumable: after each step the position (tenant, cursor, target key) is written to
 * `<data dir>/rewrap-progress.json`; a later run under the same key continues there, and the
 * file is removed when every tenant is done. Starting over is always safe too: versions
 * already under the current key are only counted.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { DynamoDbAuditSink } from '../adapters/aws/dynamodb-audit-sink.js';
import { DynamoDbSecretStore } from '../adapters/aws/dynamodb-secret-store.js';
import { FileKeyring, KeyringKeysMissingError } from '../adapters/local/file-keyring.js';
import { wrappedKeyIds } from '../adapters/local/wrapped-key-census.js';
import { systemClock } from '../core/ports.js';
import { DataKeyCache } from '../core/secrets/data-key-cache.js';
import { EnvelopeCipher } from '../core/secrets/envelope.js';
import { DataKeyRewrap, type RewrapStep } from '../core/secrets/rewrap.js';
import { localTableName, TABLE_LIST } from '../shared/tables.js';
import { acquireDataDirLock } from './data-dir-lock.js';
import { ensureTables, startLocalDynamo } from './dynamo.js';
import { LocalStateError } from './local-state-error.js';

const PROGRESS_FILE = 'rewrap-progress.json';
const REGION = 'us-east-1';

const Progress = z.strictObject({
  keyId: z.string().min(1),
  tenant: z.string().min(1),
  cursor: z.string().min(1).optional(),
});
type Progress = z.infer<typeof Progress>;

export interface RewrapOptions {
  readonly dataDir: string;
  /** Only this tenant; every tenant with secrets otherwise. */
  readonly tenant?: string | undefined;
  /** Add a new key-encryption key and make it current first. */
  readonly rotateKey?: boolean;
  /** Ignore a saved position and start from the first tenant. */
  readonly restart?: boolean;
  /** Versions per step. */
  readonly batch?: number;
  readonly progress: (line: string) => void;
}

export interface RewrapSummary {
  readonly keyId: string;
  readonly rotated: boolean;
  readonly resumed: boolean;
  readonly tenants: number;
  readonly scanned: number;
  readonly rewrapped: number;
  readonly alreadyCurrent: number;
  readonly skipped: number;
}

export async function rewrapDataDir(options: RewrapOptions): Promise<RewrapSummary> {
  const dataDir = resolve(options.dataDir);
  if (!existsSync(join(dataDir, 'dynamodb'))) {
    throw new LocalStateError(`There is no VaultPilot data in ${dataDir}: nothing to re-wrap`);
  }
  let release: () => void;
  try {
    release = acquireDataDirLock(dataDir);
  } catch (error: unknown) {
    if (!(error instanceof LocalStateError)) throw error;
    throw new LocalStateError(
      `${error.message}. While the server runs, re-wrap through its API instead: POST /admin/rewrap (admin token)`,
      { cause: error },
    );
  }
  let closeDynamo: (() => Promise<void>) | undefined;
  let client: DynamoDBDocumentClient | undefined;
  try {
    const dynamo = await startLocalDynamo({
      path: join(dataDir, 'dynamodb'),
      host: '127.0.0.1',
      port: 0,
    }).catch((error: unknown) => {
      throw new LocalStateError(
        `The embedded DynamoDB could not open ${join(dataDir, 'dynamodb')}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    });
    closeDynamo = () => dynamo.close();
    await ensureTables(dynamo.endpoint, REGION, TABLE_LIST);
    client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        region: REGION,
        endpoint: dynamo.endpoint,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
      { marshallOptions: { removeUndefinedValues: true } },
    );
    const keyring = new FileKeyring({ dataDir });
    // Never add a key (or re-wrap) while data is wrapped under keys this keyring lacks.
    await keyring
      .verifyHolds(
        await wrappedKeyIds(client, {
          secrets: localTableName('secrets'),
          settings: localTableName('settings'),
        }),
      )
      .catch((error: unknown) => {
        if (!(error instanceof KeyringKeysMissingError)) throw error;
        throw new LocalStateError(
          `${error.message.replace("the data directory's keys/ folder", join(dataDir, 'keys'))}`,
          { cause: error },
        );
      });
    if (options.rotateKey === true) {
      const id = await keyring.rotate();
      options.progress(`Added key-encryption key ${id}; it is now current.`);
    }
    // No cache: a re-wrap never opens a value, and each data key is handled once.
    const cipher = new EnvelopeCipher(keyring, new DataKeyCache({ maxEntries: 0 }));
    const store = new DynamoDbSecretStore(client, localTableName('secrets'));
    const audit = new DynamoDbAuditSink(client, localTableName('audit'));
    const rewrap = new DataKeyRewrap(store, cipher);
    const keyId = await cipher.currentKeyId();

    const tenants = options.tenant === undefined ? await store.tenants() : [options.tenant];
    const saved = options.restart === true ? undefined : await readProgress(dataDir);
    const resumeAt =
      saved !== undefined && saved.keyId === keyId && tenants.includes(saved.tenant) ? saved : undefined;
    if (resumeAt !== undefined) options.progress(`Resuming at tenant ${resumeAt.tenant} (saved position).`);
    options.progress(`Re-wrapping data keys of ${tenants.length} tenant(s) under ${keyId}.`);

    const totals = { scanned: 0, rewrapped: 0, alreadyCurrent: 0, skipped: 0 };
    const start = resumeAt === undefined ? 0 : tenants.indexOf(resumeAt.tenant);
    for (const tenant of tenants.slice(start)) {
      let cursor = tenant === resumeAt?.tenant ? resumeAt.cursor : undefined;
      const perTenant = { scanned: 0, rewrapped: 0, alreadyCurrent: 0, skipped: 0 };
      do {
        const step: RewrapStep = await rewrap.step(tenant, {
          cursor,
          ...(options.batch === undefined ? {} : { limit: options.batch }),
        });
        perTenant.scanned += step.scanned;
        perTenant.rewrapped += step.rewrapped;
        perTenant.alreadyCurrent += step.alreadyCurrent;
        perTenant.skipped += step.skipped;
        cursor = step.cursor;
        await writeProgress(dataDir, cursor === undefined ? undefined : { keyId, tenant, cursor });
        options.progress(
          `  ${tenant}: ${perTenant.scanned} versions looked at, ${perTenant.rewrapped} re-wrapped, ` +
            `${perTenant.alreadyCurrent} already current, ${perTenant.skipped} skipped${cursor === undefined ? ' (done)' : ''}`,
        );
      } while (cursor !== undefined);
      await audit.record({
        eventId: randomUUID(),
        tenant,
        time: systemClock.now().toISOString(),
        actor: { kind: 'system', id: 'vaultpilot-cli' },
        action: 'secret.rewrap',
        target: {},
        outcome: 'allowed',
        reason:
          `rewrapped ${perTenant.rewrapped}, already current ${perTenant.alreadyCurrent}, skipped ${perTenant.skipped} of ${perTenant.scanned} versions under ${keyId}`.slice(
            0,
            1024,
          ),
      });
      totals.scanned += perTenant.scanned;
      totals.rewrapped += perTenant.rewrapped;
      totals.alreadyCurrent += perTenant.alreadyCurrent;
      totals.skipped += perTenant.skipped;
      // The next tenant starts from its beginning: note it, so a crash between tenants resumes there.
      const next = tenants[tenants.indexOf(tenant) + 1];
      await writeProgress(dataDir, next === undefined ? undefined : { keyId, tenant: next });
    }
    return {
      keyId,
      rotated: options.rotateKey === true,
      resumed: resumeAt !== undefined,
      tenants: tenants.length - start,
      ...totals,
    };
  } finally {
    client?.destroy();
    await closeDynamo?.().catch(() => undefined);
    release();
  }
}

async function readProgress(dataDir: string): Promise<Progress | undefined> {
  let text: string;
  try {
    text = await readFile(join(dataDir, PROGRESS_FILE), 'utf8');
  } catch (error: unknown) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return Progress.parse(JSON.parse(text));
  } catch {
    // A damaged position only costs a start from the beginning, which is safe.
    return undefined;
  }
}

async function writeProgress(dataDir: string, progress: Progress | undefined): Promise<void> {
  const file = join(dataDir, PROGRESS_FILE);
  if (progress === undefined) await rm(file, { force: true });
  else await writeFile(file, `${JSON.stringify(progress)}\n`, { mode: 0o600 });
}
