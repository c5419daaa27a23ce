/**
 * A lost `keys/` folder, through the local runtime on a real data directory: start-up refuses
 * with the missing key id; while running, writes and uncached reads fail closed (503) and no new
 * key is made; once the folder is restored, everything is readable again. The audit signing key
 * is not replaced either when it alone is deleted.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SIGNING_KEY_FILE } from '../../lambdas/adapters/local/file-digest-signer.js';
import { KEY_LEDGER } from '../../lambdas/adapters/local/file-keyring.js';
import { LocalStateError } from '../../lambdas/local/local-state-error.js';
import { startLocalRuntime, type LocalRuntime } from '../../lambdas/local/runtime.js';
import { parseLocalRuntimeConfig } from '../../lambdas/shared/config.js';
import { apiCall, signInLocal } from '../support/local-api.js';

const ADMIN_PASSWORD = 'correct-horse-battery-staple-42';
const SILENT = { info: () => undefined, error: () => undefined };
const running: LocalRuntime[] = [];

function start(dataDir: string): Promise<LocalRuntime> {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  return startLocalRuntime(
    parseLocalRuntimeConfig({
      PORT: '0',
      VAULTPILOT_DATA_DIR: dataDir,
      VAULTPILOT_DYNAMODB_PORT: '0',
      VAULTPILOT_SCHEDULER: 'false',
      VAULTPILOT_ADMIN_PASSWORD: ADMIN_PASSWORD,
      VAULTPILOT_LOG_FORMAT: 'json',
    }),
    SILENT,
  ).then((runtime) => {
    running.push(runtime);
    return runtime;
  });
}

async function stop(runtime: LocalRuntime): Promise<void> {
  running.splice(running.indexOf(runtime), 1);
  await runtime.stop();
}

afterEach(async () => {
  for (const runtime of running.splice(0)) await runtime.stop();
});

function keyFiles(dataDir: string): string[] {
  return readdirSync(join(dataDir, 'keys')).filter((file) => file.startsWith('kek-'));
}

describe('local runtime with a lost keys/ folder', () => {
  it('refuses to start without the key the data is wrapped under, and starts again once keys/ is restored', async () => {
    // Prepare
    const dataDir = mkdtempSync(join(tmpdir(), 'vp-keyloss-'));
    const first = await start(dataDir);
    const token = await signInLocal(first.url, 'admin', ADMIN_PASSWORD);
    const written = await apiCall(first.url, token, 'POST', '/secrets/data/prod/db', {
      data: { password: 'p-1' },
    });
    await stop(first);
    const [keyFile] = keyFiles(dataDir);
    const keyId = keyFile?.replace(/\.key$/, '');
    const backup = mkdtempSync(join(tmpdir(), 'vp-keyloss-backup-'));
    cpSync(join(dataDir, 'keys'), backup, { recursive: true });
    // The ledger beside keys/ goes too: the check against the stored data must still hold.
    rmSync(join(dataDir, 'keys'), { recursive: true });
    rmSync(join(dataDir, KEY_LEDGER));

    // Act
    const refusal = await start(dataDir).catch((error: unknown) => error);
    cpSync(backup, join(dataDir, 'keys'), { recursive: true });
    const restored = await start(dataDir);
    const again = await signInLocal(restored.url, 'admin', ADMIN_PASSWORD);
    const read = await apiCall(restored.url, again, 'GET', '/secrets/data/prod/db');

    // Assess
    expect(written.status).toBe(200);
    expect(keyId).toMatch(/^kek-[0-9a-f]{16}$/);
    expect(refusal).toBeInstanceOf(LocalStateError);
    expect((refusal as Error).message).toContain(keyId);
    expect((refusal as Error).message).toContain(join(dataDir, 'keys'));
    expect((refusal as Error).message).not.toContain('p-1');
    expect(read.status).toBe(200);
    expect(read.json.data.data).toEqual({ password: 'p-1' });
    expect(keyFiles(dataDir)).toEqual([keyFile]);
  });

  it('refuses to start when only the audit signing key was deleted, instead of signing with a new one', async () => {
    // Prepare: a data directory whose audit signing key exists (GET /audit/public-key makes it).
    const dataDir = mkdtempSync(join(tmpdir(), 'vp-signerloss-'));
    const first = await start(dataDir);
    const token = await signInLocal(first.url, 'admin', ADMIN_PASSWORD);
    const before = await apiCall(first.url, token, 'GET', '/audit/public-key');
    await stop(first);
    const keyFile = join(dataDir, 'keys', SIGNING_KEY_FILE);
    const backup = readFileSync(keyFile);
    rmSync(keyFile);

    // Act
    const refusal = await start(dataDir).catch((error: unknown) => error);
    writeFileSync(keyFile, backup, { mode: 0o600 });
    const restored = await start(dataDir);
    const again = await signInLocal(restored.url, 'admin', ADMIN_PASSWORD);
    const after = await apiCall(restored.url, again, 'GET', '/audit/public-key');

    // Assess
    expect(before.status).toBe(200);
    expect(refusal).toBeInstanceOf(LocalStateError);
    expect((refusal as Error).message).toContain(keyFile);
    expect((refusal as Error).message).toContain('Restore keys/');
    expect(after.status).toBe(200);
    expect(after.text).toBe(before.text);
  });

  it('fails writes and reads closed while keys/ is gone, and serves them again once it is restored', async () => {
    // Prepare: a secret written in an earlier run.
    const dataDir = mkdtempSync(join(tmpdir(), 'vp-keyloss-'));
    const earlier = await start(dataDir);
    const earlierToken = await signInLocal(earlier.url, 'admin', ADMIN_PASSWORD);
    await apiCall(earlier.url, earlierToken, 'POST', '/secrets/data/prod/db', { data: { password: 'p-1' } });
    await stop(earlier);
    const runtime = await start(dataDir);
    const token = await signInLocal(runtime.url, 'admin', ADMIN_PASSWORD);
    // Read once while the keys are there: no cached data key may keep serving after they are gone.
    const warm = await apiCall(runtime.url, token, 'GET', '/secrets/data/prod/db');
    const keysBefore = keyFiles(dataDir);
    const backup = mkdtempSync(join(tmpdir(), 'vp-keyloss-backup-'));
    cpSync(join(dataDir, 'keys'), backup, { recursive: true });

    // Act
    rmSync(join(dataDir, 'keys'), { recursive: true });
    const write = await apiCall(runtime.url, token, 'POST', '/secrets/data/prod/other', {
      data: { k: 'v-2' },
    });
    const read = await apiCall(runtime.url, token, 'GET', '/secrets/data/prod/db');
    cpSync(backup, join(dataDir, 'keys'), { recursive: true });
    const readAfter = await apiCall(runtime.url, token, 'GET', '/secrets/data/prod/db');
    const writeAfter = await apiCall(runtime.url, token, 'POST', '/secrets/data/prod/other', {
      data: { k: 'v-2' },
    });
    const readBack = await apiCall(runtime.url, token, 'GET', '/secrets/data/prod/other');

    // Assess
    expect(warm.status).toBe(200);
    expect(write.status).toBe(503);
    expect(write.headers.get('retry-after')).not.toBeNull();
    expect(write.text).toContain(keysBefore[0]?.replace(/\.key$/, ''));
    expect(read.status).toBe(503);
    expect(read.text).not.toContain('p-1');
    expect(readAfter.status).toBe(200);
    expect(readAfter.json.data.data).toEqual({ password: 'p-1' });
    expect(writeAfter.status).toBe(200);
    expect(writeAfter.json.data.version).toBe(1);
    expect(readBack.json.data.data).toEqual({ k: 'v-2' });
    expect(keyFiles(dataDir)).toEqual(keysBefore);
  });
});
