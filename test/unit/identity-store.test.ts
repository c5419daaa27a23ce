/**
 * The identity store's file: validated on every read, written atomically, guarded by a lock
 * file that a crashed writer cannot leave behind for ever.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IdentityStore, SecretHasher } from '../../lambdas/local/identity-store.js';
import { LocalStateError } from '../../lambdas/local/local-state-error.js';

const FAST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 };
const PASSWORD = 'correct-horse-battery-staple';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'vp-store-'));
}

function openStore(dataDir: string | undefined, lockTiming?: { staleAfterMs: number; waitMs: number }) {
  return IdentityStore.open({
    dataDir,
    scryptCost: FAST_SCRYPT,
    ...(lockTiming === undefined ? {} : { lockTiming }),
  });
}

/** A pid that is certainly not running: above the kernel's pid limit. */
const DEAD_PID = 2 ** 22 + 1;

describe('IdentityStore file', () => {
  it.each([
    ['not JSON', '{"version": 1, "users": ['],
    ['the wrong shape', JSON.stringify({ version: 1, users: [{ username: 'x' }], clients: [] })],
    [
      'a plain-text password',
      JSON.stringify({
        version: 1,
        users: [
          {
            sub: '2b7f1c5e-4a8d-4c3e-9f1a-0d5e6b7c8a9b',
            username: 'alice',
            tenant: 'acme',
            groups: ['admin'],
            passwordHash: 'hunter2hunter2',
            createdAt: '2030-01-01T00:00:00.000Z',
          },
        ],
        clients: [],
      }),
    ],
  ])('refuses a file holding %s with a LocalStateError naming it', async (_case, content) => {
    // Prepare
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'identity.json'), content, { mode: 0o600 });

    // Act
    const opened = openStore(dataDir);

    // Assess
    await expect(opened).rejects.toBeInstanceOf(LocalStateError);
    await expect(opened).rejects.toThrow(`The identity store ${join(dataDir, 'identity.json')} is corrupt`);
  });

  it('notices a file corrupted after it was opened, at the next sign-in', async () => {
    // Prepare
    const dataDir = tempDir();
    const store = await openStore(dataDir);
    await store.addUser({ username: 'alice', password: PASSWORD, tenant: 'acme', groups: ['viewer'] });
    writeFileSync(join(dataDir, 'identity.json'), 'garbage');

    // Act / Assess
    await expect(store.authenticateUser('alice', PASSWORD)).rejects.toBeInstanceOf(LocalStateError);
  });

  it('creates the data directory 0700 and the file 0600, leaving no temporary or lock file', async () => {
    // Prepare
    const dataDir = join(tempDir(), 'nested', 'data');
    const store = await openStore(dataDir);

    // Act
    await store.addClient({ tenant: 'acme', scopes: ['vaultpilot/read'], name: 'ci' });

    // Assess
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'identity.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dataDir)).toEqual(['identity.json']);
    expect(JSON.parse(readFileSync(join(dataDir, 'identity.json'), 'utf8'))).toMatchObject({
      version: 1,
      users: [],
      clients: [{ name: 'ci', tenant: 'acme', scopes: ['vaultpilot/read'] }],
    });
  });

  it('takes over a lock left behind by a process that is gone', async () => {
    // Prepare
    const dataDir = tempDir();
    const store = await openStore(dataDir, { staleAfterMs: 60_000, waitMs: 2_000 });
    const lockFile = join(dataDir, 'identity.json.lock');
    writeFileSync(lockFile, JSON.stringify({ pid: DEAD_PID, host: hostname(), nonce: 'crashed' }));

    // Act
    await store.addUser({ username: 'alice', password: PASSWORD, tenant: 'acme', groups: ['viewer'] });

    // Assess
    expect((await store.listUsers()).map((user) => user.username)).toEqual(['alice']);
    expect(readdirSync(dataDir)).toEqual(['identity.json']);
  });

  it('takes over a lock older than the stale timeout', async () => {
    // Prepare: the owner looks alive (this very process), but the lock is old.
    const dataDir = tempDir();
    const store = await openStore(dataDir, { staleAfterMs: 1_000, waitMs: 2_000 });
    const lockFile = join(dataDir, 'identity.json.lock');
    writeFileSync(lockFile, JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'hung' }));
    const old = new Date(Date.now() - 5_000);
    utimesSync(lockFile, old, old);

    // Act
    await store.addUser({ username: 'alice', password: PASSWORD, tenant: 'acme', groups: ['viewer'] });

    // Assess
    expect(await store.listUsers()).toHaveLength(1);
  });

  it('waits for a live lock and then gives up with a message naming the lock file', async () => {
    // Prepare
    const dataDir = tempDir();
    const store = await openStore(dataDir, { staleAfterMs: 60_000, waitMs: 200 });
    const lockFile = join(dataDir, 'identity.json.lock');
    writeFileSync(lockFile, JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'busy' }));

    // Act
    const adding = store.addUser({
      username: 'alice',
      password: PASSWORD,
      tenant: 'acme',
      groups: ['viewer'],
    });

    // Assess
    await expect(adding).rejects.toBeInstanceOf(LocalStateError);
    await expect(adding).rejects.toThrow(lockFile);
    expect(await store.listUsers()).toEqual([]);
    expect(readFileSync(lockFile, 'utf8')).toContain('busy');
  });

  it('keeps an in-memory store in memory', async () => {
    // Prepare
    const store = await openStore(undefined);

    // Act
    await store.addUser({ username: 'alice', password: PASSWORD, tenant: 'acme', groups: ['viewer'] });

    // Assess
    expect(store.file).toBeUndefined();
    expect(await store.authenticateUser('alice', PASSWORD)).toMatchObject({ username: 'alice' });
  });
});

describe('SecretHasher', () => {
  it('stores a self-describing salted hash and verifies only the right secret', async () => {
    // Prepare
    const hasher = new SecretHasher(FAST_SCRYPT);

    // Act
    const first = await hasher.hash(PASSWORD);
    const second = await hasher.hash(PASSWORD);

    // Assess
    expect(first).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(second).not.toBe(first);
    expect(await hasher.verify(PASSWORD, first)).toBe(true);
    expect(await hasher.verify(`${PASSWORD}!`, first)).toBe(false);
    expect(await hasher.verify(PASSWORD, undefined)).toBe(false);
    expect(await hasher.verify(PASSWORD, 'scrypt$1$1$1$x$y')).toBe(false);
  });

  it('defaults to N=2^15, r=8, p=1', async () => {
    expect(await new SecretHasher().hash('x'.repeat(12))).toMatch(/^scrypt\$32768\$8\$1\$/);
  });

  it('refuses a cost that a tampered file could use to exhaust memory', async () => {
    // Prepare
    const hasher = new SecretHasher(FAST_SCRYPT);
    const tampered = (await hasher.hash(PASSWORD)).replace('scrypt$1024$8$', 'scrypt$1048576$32$');

    // Act / Assess
    expect(await hasher.verify(PASSWORD, tampered)).toBe(false);
    expect(() => new SecretHasher({ N: 1000, r: 8, p: 1 })).toThrow(RangeError);
  });
});
