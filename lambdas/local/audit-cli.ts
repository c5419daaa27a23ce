/**
 * The `vaultpilot audit` commands (ADR 0004):
 * - `audit verify --file F [--public-key K]` verifies an NDJSON export offline (no data directory,
 *   no server, no AWS account): what an auditor runs on a file they were handed;
 * - `audit verify --tenant T`, `audit export --tenant T` and `audit public-key` work on the local
 *   data directory (the first two open its database, so the server must be stopped; while it
 *   runs, use `GET /audit/verify` and `GET /audit/export`).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbAuditChainStore } from '../adapters/aws/dynamodb-audit-chain-store.js';
import { FileDigestSigner } from '../adapters/local/file-digest-signer.js';
import { publicKeyFingerprint } from '../core/audit/audit-digest.js';
import {
  AuditExportFormatError,
  type ExportVerification,
  verifyAuditExport,
} from '../core/audit/audit-export.js';
import { AuditDigestService } from '../core/audit/audit-digests.js';
import { AuditLog, type ExportFormat } from '../core/audit/audit-log.js';
import { AuditSequencer } from '../core/audit/audit-sequencer.js';
import type { VerificationResult } from '../core/audit/chain-verifier.js';
import { systemClock } from '../core/ports.js';
import { localTableName, TABLE_LIST } from '../shared/tables.js';
import { acquireDataDirLock } from './data-dir-lock.js';
import { ensureTables, startLocalDynamo } from './dynamo.js';
import { LocalStateError } from './local-state-error.js';

const REGION = 'us-east-1';

/** Reads a public key given as a PEM file path (or as PEM text). */
export async function readPublicKey(keyOrFile: string): Promise<KeyObject> {
  let pem = keyOrFile;
  if (!keyOrFile.trimStart().startsWith('-----BEGIN')) {
    try {
      pem = await readFile(keyOrFile, 'utf8');
    } catch (error: unknown) {
      throw new LocalStateError(`The public key file ${keyOrFile} cannot be read`, { cause: error });
    }
  }
  try {
    return createPublicKey(pem);
  } catch (error: unknown) {
    throw new LocalStateError(`${keyOrFile} is not a PEM public key`, { cause: error });
  }
}

function fileLines(file: string): () => AsyncIterable<string> {
  return () => createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
}

/** Verifies an NDJSON export file; throws `LocalStateError` for a file that is not an export. */
export async function verifyExportFile(
  file: string,
  publicKey: KeyObject | undefined,
): Promise<ExportVerification> {
  if (!existsSync(file)) throw new LocalStateError(`The file ${file} does not exist`);
  try {
    return await verifyAuditExport(fileLines(file), {
      publicKey,
      now: Math.floor(Date.now() / 1000),
    });
  } catch (error: unknown) {
    if (error instanceof AuditExportFormatError)
      throw new LocalStateError(`${file}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** The lines `audit verify` prints for a result. */
export function describeVerification(
  result: VerificationResult,
  key: { readonly fingerprint: string | undefined; readonly fromExport: boolean },
): string {
  if (result.firstBad !== null) {
    const { seq, reason, detail } = result.firstBad;
    return `NOT INTACT: first bad seq ${seq}: ${reason} (${detail}); ${result.checked} entries verified before it\n`;
  }
  const range = result.firstSeq === undefined ? 'no entries' : `seq ${result.firstSeq}..${result.lastSeq}`;
  const keyLine =
    key.fingerprint === undefined
      ? ''
      : key.fromExport
        ? `\nDigests were checked with the public key inside the export (SHA-256 ${key.fingerprint}); compare it with GET /audit/public-key, or pass --public-key.`
        : `\nDigests were checked with the given public key (SHA-256 ${key.fingerprint}).`;
  return `INTACT: ${result.checked} entries (${range}), ${result.digestsVerified} signed digests verified.${keyLine}\n`;
}

interface LocalAudit {
  readonly log: AuditLog;
  readonly signer: FileDigestSigner;
  close(): Promise<void>;
}

/** Opens the data directory's audit log (its lock and database) for the CLI. */
async function openLocalAudit(dataDir: string, what: string): Promise<LocalAudit> {
  const directory = resolve(dataDir);
  if (!existsSync(join(directory, 'dynamodb'))) {
    throw new LocalStateError(`There is no VaultPilot data in ${directory}`);
  }
  let release: () => void;
  try {
    release = acquireDataDirLock(directory);
  } catch (error: unknown) {
    if (!(error instanceof LocalStateError)) throw error;
    throw new LocalStateError(`${error.message}. While the server runs, use ${what} instead`, {
      cause: error,
    });
  }
  try {
    const dynamo = await startLocalDynamo({ path: join(directory, 'dynamodb'), host: '127.0.0.1', port: 0 });
    await ensureTables(dynamo.endpoint, REGION, TABLE_LIST);
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        region: REGION,
        endpoint: dynamo.endpoint,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
      { marshallOptions: { removeUndefinedValues: true } },
    );
    const chain = new DynamoDbAuditChainStore(client, localTableName('audit'));
    const signer = new FileDigestSigner({ dataDir: directory });
    const unused = (): never => {
      throw new Error('Not available from the CLI');
    };
    // Verification and export need the chain, the signer, a clock and (to seal exports) digests.
    const digests = new AuditDigestService(
      chain,
      new AuditSequencer(chain, undefined),
      signer,
      systemClock,
      undefined,
    );
    const log = new AuditLog({
      chain,
      signer,
      clock: systemClock,
      digests,
      events: { query: unused },
      settings: { get: unused, put: unused },
      hasher: { hmac: unused } as never,
      sink: { record: unused },
    });
    return {
      log,
      signer,
      close: async () => {
        client.destroy();
        await dynamo.close().catch((error: unknown) => {
          if (error !== null) throw error;
        });
        release();
      },
    };
  } catch (error: unknown) {
    release();
    throw error;
  }
}

export async function verifyLocalChain(
  dataDir: string,
  tenant: string,
): Promise<VerificationResult & { fingerprint: string }> {
  const local = await openLocalAudit(dataDir, 'GET /audit/verify');
  try {
    const result = await local.log.verifyChain(tenant);
    return { ...result, fingerprint: publicKeyFingerprint(await local.signer.publicKeyPem()) };
  } finally {
    await local.close();
  }
}

export async function exportLocalChain(
  dataDir: string,
  tenant: string,
  format: ExportFormat,
  out: string | undefined,
  write: (text: string) => void,
): Promise<void> {
  const local = await openLocalAudit(dataDir, 'GET /audit/export');
  try {
    const exported = await local.log.exportChain(tenant, { format }, undefined);
    if (out === undefined) write(exported.body);
    else await writeFile(out, exported.body, { mode: 0o600 });
  } finally {
    await local.close();
  }
}

/** The local digest signing key's public half (created on first use, like the server does). */
export async function localPublicKey(dataDir: string): Promise<string> {
  return new FileDigestSigner({ dataDir: resolve(dataDir) }).publicKeyPem();
}
