/**
 * The `vaultpilot` client end to end against a real local runtime (in memory, port 0): sign-in by
 * password, by client credentials and through the browser flow (PKCE, loopback callback, driven
 * over HTTP here instead of a browser), kv, run, a rotation followed with `credentials watch`,
 * audit, and the failures a user meets (server down, expired or refused tokens, loose files).
 */
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { client, clientProcess, freshConfigDir, type CliRunOptions } from '../support/cli-client.js';
import { startInMemoryRuntime } from '../support/local-api.js';

const ADMIN_PASSWORD = 'cli-suite-admin-password';

let runtime: LocalRuntime;
/** The config directory of the admin's profile, signed in once for most tests. */
let adminConfig: string;

function asAdmin(options: CliRunOptions = {}): CliRunOptions {
  return { ...options, env: { VAULTPILOT_CONFIG_DIR: adminConfig, ...options.env } };
}

function tokensOf(configDir: string): Record<string, any> {
  return JSON.parse(readFileSync(join(configDir, 'tokens.json'), 'utf8')) as Record<string, any>;
}

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

/** Marks the stored access token as expired, as an hour later. */
function expireToken(configDir: string, profile = 'default'): string {
  const file = join(configDir, 'tokens.json');
  const tokens = tokensOf(configDir);
  const before = tokens[profile].accessToken as string;
  tokens[profile].expiresAt = Date.now() - 1000;
  writeFileSync(file, JSON.stringify(tokens), { mode: 0o600 });
  return before;
}

/** A port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  runtime = await startInMemoryRuntime({ adminPassword: ADMIN_PASSWORD, logLevel: 'ERROR' });
  adminConfig = freshConfigDir();
});

afterAll(async () => {
  await runtime?.stop();
});

describe('vaultpilot login with a password', () => {
  it('signs in, saves the profile and tokens 0600, and whoami names the user', async () => {
    // Act
    const login = await client(['login', '-address', runtime.url, '-username', 'admin'], {
      stdin: `${ADMIN_PASSWORD}\n`,
      env: { VAULTPILOT_CONFIG_DIR: adminConfig },
    });
    const whoami = await client(['whoami', '--json'], asAdmin());

    // Assess
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toContain("saved as profile 'default'");
    expect(login.stdout).toBe('');
    expect(mode(join(adminConfig, 'profiles.json'))).toBe(0o600);
    expect(mode(join(adminConfig, 'tokens.json'))).toBe(0o600);
    expect(mode(adminConfig)).toBe(0o700);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ username: 'admin', kind: 'user', tenant: 'default' });
    // The password is nowhere on disk.
    expect(readFileSync(join(adminConfig, 'tokens.json'), 'utf8')).not.toContain(ADMIN_PASSWORD);
    expect(readFileSync(join(adminConfig, 'profiles.json'), 'utf8')).not.toContain(ADMIN_PASSWORD);
  });

  it('refuses a wrong password with the API message and exit 1', async () => {
    const login = await client(['login', '-address', runtime.url, '-username', 'admin'], {
      stdin: 'not-the-password',
      env: { VAULTPILOT_CONFIG_DIR: freshConfigDir() },
    });
    expect(login.code).toBe(1);
    expect(login.stderr).toMatch(/^vaultpilot login: 401 /);
    expect(login.stderr).toMatch(/request id /);
    expect(login.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('asks for sign-in again when a password session expires (no refresh token)', async () => {
    // Prepare
    const configDir = freshConfigDir();
    await client(['login', '-address', runtime.url, '-username', 'admin'], {
      stdin: ADMIN_PASSWORD,
      env: { VAULTPILOT_CONFIG_DIR: configDir },
    });
    expireToken(configDir);

    // Act
    const whoami = await client(['whoami'], { env: { VAULTPILOT_CONFIG_DIR: configDir } });

    // Assess
    expect(whoami.code).toBe(1);
    expect(whoami.stderr).toContain("run 'vaultpilot login'");
  });
});

describe('vaultpilot kv', () => {
  it('puts from stdin and files, gets all fields or one, lists, patches and reads metadata', async () => {
    // Prepare
    const cwd = freshConfigDir();
    writeFileSync(join(cwd, 'user.txt'), 'app-user');
    writeFileSync(join(cwd, 'extra.json'), JSON.stringify({ host: 'db.internal' }));

    // Act
    const put = await client(
      ['kv', 'put', 'cli/db', 'password=-', 'user=@user.txt', '@extra.json'],
      asAdmin({ stdin: 's3cret-value\n', cwd }),
    );
    const field = await client(['kv', 'get', '-field=password', 'cli/db'], asAdmin());
    const json = await client(['kv', 'get', '--format', 'json', 'cli/db'], asAdmin());
    const table = await client(['kv', 'get', 'cli/db'], asAdmin());
    const list = await client(['kv', 'list', '-format=json', 'cli'], asAdmin());
    const root = await client(['kv', 'list', '--json'], asAdmin());
    const patch = await client(['kv', 'patch', 'cli/db', 'user=-'], asAdmin({ stdin: 'other-user' }));
    const patched = await client(['kv', 'get', '--json', 'cli/db'], asAdmin());
    const metadata = await client(['kv', 'metadata', 'get', '--json', 'cli/db'], asAdmin());

    // Assess
    expect(put.code, put.stderr).toBe(0);
    expect(put.stderr).not.toContain('Warning');
    expect(field).toEqual({ code: 0, stdout: 's3cret-value', stderr: '' });
    expect(JSON.parse(json.stdout)).toMatchObject({
      data: { password: 's3cret-value', user: 'app-user', host: 'db.internal' },
      metadata: { version: 1 },
    });
    expect(table.stdout).toMatch(/====== Data ======\nKey\s+Value\n-+\s+-+\n/);
    expect(table.stdout).toMatch(/password\s+s3cret-value/);
    expect(JSON.parse(list.stdout)).toEqual(['db']);
    expect(JSON.parse(root.stdout)).toContain('cli/');
    expect(patch.code, patch.stderr).toBe(0);
    expect(JSON.parse(patched.stdout)).toMatchObject({
      data: { password: 's3cret-value', user: 'other-user', host: 'db.internal' },
      metadata: { version: 2 },
    });
    expect(JSON.parse(metadata.stdout)).toMatchObject({ current_version: 2 });
  });

  it('warns that key=value lands in shell history, and refuses a stale -cas', async () => {
    const put = await client(['kv', 'put', 'cli/literal', 'token=abc'], asAdmin());
    const stale = await client(['kv', 'put', '-cas=0', 'cli/literal', 'token=-'], asAdmin({ stdin: 'def' }));
    expect(put.code).toBe(0);
    expect(put.stderr).toContain('shell history');
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/^vaultpilot kv put: conflict: /);
    expect(stale.stderr).not.toContain('def');
  });

  it('deletes, undeletes, destroys and deletes the metadata', async () => {
    // Prepare
    await client(['kv', 'put', 'cli/cycle', 'v=-'], asAdmin({ stdin: 'one' }));
    await client(['kv', 'put', 'cli/cycle', 'v=-'], asAdmin({ stdin: 'two' }));

    // Act & Assess, step by step
    expect((await client(['kv', 'delete', 'cli/cycle'], asAdmin())).code).toBe(0);
    const gone = await client(['kv', 'get', 'cli/cycle'], asAdmin());
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/404 /);
    expect((await client(['kv', 'undelete', '-versions=2', 'cli/cycle'], asAdmin())).code).toBe(0);
    expect((await client(['kv', 'get', '-field', 'v', 'cli/cycle'], asAdmin())).stdout).toBe('two');
    expect((await client(['kv', 'destroy', '-versions', '1', 'cli/cycle'], asAdmin())).code).toBe(0);
    const old = await client(['kv', 'get', '-version=1', 'cli/cycle'], asAdmin());
    expect(old.code).toBe(1);
    const metadata = await client(['kv', 'metadata', 'get', '--json', 'cli/cycle'], asAdmin());
    expect(JSON.parse(metadata.stdout).versions['1'].destroyed).toBe(true);
    expect((await client(['kv', 'metadata', 'put', '-max-versions=5', 'cli/cycle'], asAdmin())).code).toBe(0);
    expect(
      JSON.parse((await client(['kv', 'metadata', 'get', '--json', 'cli/cycle'], asAdmin())).stdout)
        .max_versions,
    ).toBe(5);
    expect((await client(['kv', 'metadata', 'delete', 'cli/cycle'], asAdmin())).code).toBe(0);
    expect((await client(['kv', 'metadata', 'get', 'cli/cycle'], asAdmin())).code).toBe(1);
  });

  it('answers put with no value with a usage error and exit 2, before any request', async () => {
    const run = await client(['kv', 'put', 'cli/empty'], {
      env: { VAULTPILOT_CONFIG_DIR: freshConfigDir() },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no value given');
  });
});

describe('vaultpilot run (the real executable)', () => {
  it('passes the fields as variables and the exit code through', async () => {
    // Prepare
    await client(['kv', 'put', 'cli/run/db', 'db-password=-'], asAdmin({ stdin: 'pw-1' }));
    await client(
      ['kv', 'put', 'cli/run/api', '@-'.slice(1)],
      asAdmin({ stdin: JSON.stringify({ 'api.key': 'k-2' }) }),
    );

    // Act
    const run = await clientProcess(
      [
        'run',
        '--path',
        'cli/run/db',
        '--path',
        'cli/run/api',
        '--',
        process.execPath,
        '-e',
        'process.stdout.write(process.env.DB_PASSWORD + " " + process.env.API_KEY); process.exit(7)',
      ],
      asAdmin(),
    );

    // Assess
    expect(run.code, run.stderr).toBe(7);
    expect(run.stdout).toBe('pw-1 k-2');
  });

  it('reports a command ended by a signal as 128 + its number', async () => {
    const run = await clientProcess(
      ['run', '--path', 'cli/run/db', '--', process.execPath, '-e', 'process.kill(process.pid, "SIGTERM")'],
      asAdmin(),
    );
    expect(run.code).toBe(143);
  });

  it('refuses two fields that map to one variable, naming both paths', async () => {
    // Prepare
    await client(['kv', 'put', 'cli/run/other', 'DB_PASSWORD=-'], asAdmin({ stdin: 'pw-2' }));

    // Act
    const run = await clientProcess(
      [
        'run',
        '--path',
        'cli/run/db',
        '--path',
        'cli/run/other',
        '--',
        process.execPath,
        '-e',
        'process.exit(0)',
      ],
      asAdmin(),
    );

    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('cli/run/db');
    expect(run.stderr).toContain('cli/run/other');
    expect(run.stderr).not.toContain('pw-');
  });
});

describe('vaultpilot login with client credentials', () => {
  it('signs a machine client in with the secret from stdin and renews its token when it expires', async () => {
    // Prepare
    const { clientId, clientSecret } = await runtime.identity.addClient({
      tenant: 'default',
      scopes: ['vaultpilot/read', 'vaultpilot/write'],
      name: 'cli-suite',
    });
    const configDir = freshConfigDir();
    const env = { VAULTPILOT_CONFIG_DIR: configDir };

    // Act
    const login = await client(['login', '-address', runtime.url, '-client-id', clientId, '-profile', 'ci'], {
      stdin: clientSecret,
      env,
    });
    const whoami = await client(['whoami', '-profile=ci', '--json'], { env });
    const before = expireToken(configDir, 'ci');
    const again = await client(['whoami', '-profile=ci', '--json'], { env });

    // Assess
    expect(login.code, login.stderr).toBe(0);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ kind: 'machine', clientId });
    expect(again.code, again.stderr).toBe(0);
    expect(tokensOf(configDir).ci.accessToken).not.toBe(before);
    expect(login.stderr + whoami.stderr + again.stderr).not.toContain(clientSecret);
  });

  it('refuses a client secret given as an argument', async () => {
    const run = await client(['login', '-address', runtime.url, '-client-id', 'x', '--client-secret', 'y'], {
      env: { VAULTPILOT_CONFIG_DIR: freshConfigDir() },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).not.toContain(' y');
  });
});

describe('vaultpilot login in the browser (PKCE with a loopback redirect)', () => {
  it('receives the code on 127.0.0.1, exchanges it, refreshes with the refresh token, and logs out', async () => {
    // Prepare: the user's side of the browser, driven over HTTP.
    const configDir = freshConfigDir();
    const env = { VAULTPILOT_CONFIG_DIR: configDir, CI: 'true' };
    let resolveUrl: (url: string) => void = () => undefined;
    const printed = new Promise<string>((resolve) => (resolveUrl = resolve));
    const browser = (async () => {
      const url = await printed;
      const page = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } });
      const html = await page.text();
      const fields: Record<string, string> = {};
      for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
        fields[match[1] ?? ''] = (match[2] ?? '').replace(/&amp;/g, '&').replace(/&quot;/g, '"');
      const cookie = (page.headers.get('set-cookie') ?? '').split(';', 1)[0] ?? '';
      const signIn = await fetch(`${runtime.url}/oauth2/authorize`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: runtime.url, cookie },
        body: new URLSearchParams({ ...fields, username: 'admin', password: ADMIN_PASSWORD }).toString(),
      });
      const location = signIn.headers.get('location') ?? '';
      const callback = await fetch(location);
      return { location, status: callback.status, body: await callback.text() };
    })();

    // Act
    const login = await client(['login', '-address', runtime.url], {
      env,
      onStderr: (text) => {
        const match = /https?:\/\/\S+\/oauth2\/authorize\?\S+/.exec(text);
        if (match !== null) resolveUrl(match[0]);
      },
    });
    const landed = await browser;
    const stored = tokensOf(configDir).default;
    expireToken(configDir);
    // Three commands find the token expired at once: one refresh, or the issuer would see the
    // rotated refresh token used twice and end the session.
    const [whoami, ...others] = await Promise.all([
      client(['whoami', '--json'], { env }),
      client(['whoami', '--json'], { env }),
      client(['whoami', '--json'], { env }),
    ]);
    const refreshed = tokensOf(configDir).default;
    const logout = await client(['logout'], { env });
    const after = await client(['whoami'], { env });

    // Assess
    expect(login.code, login.stderr).toBe(0);
    expect(landed.location).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?code=/);
    expect(landed.status).toBe(200);
    expect(landed.body).toContain('Signed in');
    expect(stored.refreshToken).toEqual(expect.any(String));
    expect(whoami.code, whoami.stderr).toBe(0);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ username: 'admin' });
    expect(others.map((run) => run.code)).toEqual([0, 0]);
    // The local issuer rotates refresh tokens; the CLI keeps the new one.
    expect(refreshed.refreshToken).not.toBe(stored.refreshToken);
    expect(refreshed.accessToken).not.toBe(stored.accessToken);
    expect(logout.code).toBe(0);
    expect(tokensOf(configDir).default).toBeUndefined();
    expect(after.code).toBe(1);
    expect(after.stderr).toContain("run 'vaultpilot login'");
    // The revoked refresh token no longer works at the issuer.
    const reuse = await fetch(`${runtime.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: JSON.parse(readFileSync(join(configDir, 'profiles.json'), 'utf8')).profiles.default.auth
          .clientId,
        refresh_token: refreshed.refreshToken,
      }).toString(),
    });
    expect(reuse.status).toBe(400);
  });
});

describe('vaultpilot credentials list', () => {
  it('passes every filter, the sort and the page size of GET /credentials, and follows pages with -all', async () => {
    // Prepare: three tokens of one owner expiring in 5, 2 and 3 days (the soon window), one later.
    const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
    for (const [name, days] of [
      ['list b', 5],
      ['list c', 2],
      ['list a', 3],
      ['list far', 200],
    ] as const) {
      const register = await client(['credentials', 'register', '-from', '-', '--json'], {
        ...asAdmin({
          stdin: JSON.stringify({ type: 'api-token', name, owner: 'List-Team', expiresAt: inDays(days) }),
        }),
      });
      expect(register.code, register.stderr).toBe(0);
    }
    const names = (run: { stdout: string }) =>
      (JSON.parse(run.stdout) as { name: string }[]).map((credential) => credential.name);

    // Act
    const soonest = await client(
      [
        'credentials',
        'list',
        '-finding=credential-expiring-soon',
        '-owner=list-team',
        '-sort=expiresAt',
        '-limit=2',
        '--json',
      ],
      asAdmin(),
    );
    const every = await client(
      ['credentials', 'list', '-owner', 'LIST-TEAM', '-sort', '-expiresAt', '-limit', '1', '-all', '--json'],
      asAdmin(),
    );
    const table = await client(['credentials', 'list', '-owner=list-team', '-limit=1'], asAdmin());
    const bad = await client(['credentials', 'list', '-sort=size'], asAdmin());

    // Assess
    expect(soonest.code, soonest.stderr).toBe(0);
    expect(names(soonest)).toEqual(['list c', 'list a']);
    expect(every.code, every.stderr).toBe(0);
    expect(names(every)).toEqual(['list far', 'list b', 'list a', 'list c']);
    expect(table.stderr).toBe('1 of 4 shown; -all for every page\n');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/400 \S+: Query parameter sort must be one of/);
  });
});

describe('vaultpilot credentials: a rotation followed with watch', () => {
  it('registers a generator-backed vault-secret, rotates it and watches every step to success', async () => {
    // Prepare
    await client(['kv', 'put', 'cli/rotated', 'token=-'], asAdmin({ stdin: 'first-token-value' }));

    // Act
    const register = await client(
      [
        'credentials',
        'register',
        '-type=vault-secret',
        '-name=cli token',
        '-secret-path=cli/rotated',
        '-generator-length=40',
        '-generator-field=token',
        '-interval-days=30',
        '--json',
      ],
      asAdmin(),
    );
    const id = JSON.parse(register.stdout).id as string;
    const listed = await client(['credentials', 'list', '-type=vault-secret', '--json'], asAdmin());
    const shown = await client(['credentials', 'show', id, '--json'], asAdmin());
    const rotate = await client(['credentials', 'rotate', '-watch', '-interval=0.1', id], asAdmin());
    const value = await client(['kv', 'get', '-field=token', 'cli/rotated'], asAdmin());

    // Assess
    expect(register.code, register.stderr).toBe(0);
    const listedIds = (JSON.parse(listed.stdout) as { id: string }[]).map((credential) => credential.id);
    expect(listedIds).toContain(id);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id, type: 'vault-secret' });
    expect(rotate.code, rotate.stderr + rotate.stdout).toBe(0);
    expect(rotate.stdout).toMatch(/rotation \S+: succeeded/);
    for (const step of ['create', 'set', 'test', 'finish'])
      expect(rotate.stdout).toMatch(new RegExp(`\\b${step}\\s+succeeded`));
    expect(value.stdout).toHaveLength(40);
    expect(value.stdout).not.toBe('first-token-value');
    // The generated value never shows in the watch output.
    expect(rotate.stdout + rotate.stderr).not.toContain(value.stdout);
  });

  it('show prints the facts, then findings and history as tables people can read', async () => {
    // Prepare: a registered credential that expired yesterday (one finding), then rotated.
    await client(['kv', 'put', 'cli/shown', 'token=-'], asAdmin({ stdin: 'first-shown-value' }));
    const body = {
      type: 'vault-secret',
      name: 'shown token',
      secretPath: 'cli/shown',
      expiresAt: new Date(Date.now() - 86_400_000).toISOString(),
      generator: { length: 32, field: 'token' },
      rotationPolicy: { intervalDays: 30 },
    };
    const register = await client(
      ['credentials', 'register', '-from', '-', '--json'],
      asAdmin({ stdin: JSON.stringify(body) }),
    );
    expect(register.code, register.stderr).toBe(0);
    const id = JSON.parse(register.stdout).id as string;
    expect((await client(['credentials', 'rotate', '-watch', '-interval=0.1', id], asAdmin())).code).toBe(0);

    // Act
    const shown = await client(['credentials', 'show', id], asAdmin());

    // Assess: three sections in order; the finding with its rule and remediation; the history
    // newest first, one change per clause, the user named once.
    expect(shown.code, shown.stderr).toBe(0);
    const lines = shown.stdout.split('\n');
    const sections = lines.filter((line) => line.startsWith('======'));
    expect(sections).toEqual(['====== Credential ======', '====== Findings ======', '====== History ======']);
    expect(shown.stdout).toMatch(/^id\s+cr_\S+$/m);
    expect(shown.stdout).toMatch(/^rotation\.secretPath\s+cli\/shown$/m);
    expect(shown.stdout).toMatch(/^Severity\s+Rule\s+Since\s+Title\s+Remediation$/m);
    expect(shown.stdout).toMatch(/^\S+\s+credential-expired\s+\S+\s+\S.*$/m);
    const history = lines.slice(lines.indexOf('====== History ======') + 3).filter((line) => line !== '');
    expect(history.length).toBeGreaterThanOrEqual(3);
    expect(history[0]).toMatch(
      /system:rotation-engine\s+rotated\s+.*lastRotatedAt = \S+; .*status rotating → \w+/,
    );
    expect(history.at(-1)).toMatch(/\suser:admin\s+registered\s+name = shown token; /);
    expect(shown.stdout).not.toContain('user:user:');
    // Nothing of the value, before or after the rotation.
    const value = await client(['kv', 'get', '-field=token', 'cli/shown'], asAdmin());
    expect(shown.stdout).not.toContain(value.stdout);
    expect(shown.stdout).not.toContain('first-shown-value');
  });

  it('watch exits 1 when the rotation was rolled back', async () => {
    // Prepare: a rotation that succeeded, then rolled back.
    await client(['kv', 'put', 'cli/rolled', 'token=-'], asAdmin({ stdin: 'keep-me' }));
    const register = await client(
      [
        'credentials',
        'register',
        '-type=vault-secret',
        '-name=rolled',
        '-secret-path=cli/rolled',
        '-generator-field=token',
        '-generator-length=32',
        '-interval-days=30',
        '--json',
      ],
      asAdmin(),
    );
    const id = JSON.parse(register.stdout).id as string;
    const rotate = await client(['credentials', 'rotate', id], asAdmin());
    const rotationId = rotate.stdout.trim();
    expect((await client(['credentials', 'watch', '-interval=0.1', rotationId], asAdmin())).code).toBe(0);

    // Act
    const rollback = await client(['credentials', 'rollback', rotationId], asAdmin());
    const watch = await client(['credentials', 'watch', '-interval=0.1', rotationId], asAdmin());

    // Assess
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(watch.code).toBe(1);
    expect(watch.stderr).toContain('rolled-back');
    expect((await client(['kv', 'get', '-field=token', 'cli/rolled'], asAdmin())).stdout).toBe('keep-me');
  });
});

describe('vaultpilot audit and discovery against the API', () => {
  it('verifies the chain, queries events and exports NDJSON to a 0600 file', async () => {
    const cwd = freshConfigDir();
    const verify = await client(['audit', 'verify'], asAdmin());
    const query = await client(['audit', 'query', '-action=secret.read', '-limit=5', '--json'], asAdmin());
    const exported = await client(['audit', 'export', '-out', 'audit.ndjson'], asAdmin({ cwd }));

    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^INTACT: \d+ entries \(seq 1\.\.\d+\), \d+ signed digests verified\.$/m);
    expect(JSON.parse(query.stdout).events.length).toBeGreaterThan(0);
    expect(exported.code, exported.stderr).toBe(0);
    expect(mode(join(cwd, 'audit.ndjson'))).toBe(0o600);
    expect(readFileSync(join(cwd, 'audit.ndjson'), 'utf8')).toContain('"seq"');
  });

  it('runs discovery and reports where it ended', async () => {
    const run = await client(['discovery', 'run', '-interval=0.1', '--json'], asAdmin());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^Discovery run \S+ (queued|running)/);
    expect(['succeeded', 'partial']).toContain(JSON.parse(run.stdout).status);
  });
});

describe('failures a user meets', () => {
  it('a server that is down: one clear line, exit 1, no stack trace (real executable)', async () => {
    const port = await closedPort();
    const run = await clientProcess(['kv', 'get', 'a/b'], {
      env: {
        VAULTPILOT_CONFIG_DIR: freshConfigDir(),
        VAULTPILOT_ADDR: `http://127.0.0.1:${port}`,
        VAULTPILOT_TOKEN: 'x',
      },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `vaultpilot kv get: cannot reach http://127.0.0.1:${port}: connection refused (is the server running?)\n`,
    );
  });

  it('a refused token says to sign in', async () => {
    const run = await client(['kv', 'get', 'cli/db'], {
      env: {
        VAULTPILOT_CONFIG_DIR: freshConfigDir(),
        VAULTPILOT_ADDR: runtime.url,
        VAULTPILOT_TOKEN: 'not-a-jwt',
      },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('401');
  });

  it('a token file others can read is refused with a message', async () => {
    // Prepare
    const configDir = freshConfigDir();
    await client(['login', '-address', runtime.url, '-username', 'admin'], {
      stdin: ADMIN_PASSWORD,
      env: { VAULTPILOT_CONFIG_DIR: configDir },
    });
    chmodSync(join(configDir, 'tokens.json'), 0o644);

    // Act
    const run = await client(['kv', 'list'], { env: { VAULTPILOT_CONFIG_DIR: configDir } });

    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('mode 0644');
    expect(run.stderr).toContain('chmod 600');
  });

  it("refuses to send a profile's token to another address", async () => {
    const run = await client(
      ['kv', 'get', 'cli/db'],
      asAdmin({ env: { VAULTPILOT_ADDR: 'http://127.0.0.1:9' } }),
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('is signed in to');
  });

  it('an API error prints its message and request id', async () => {
    const run = await client(['credentials', 'show', 'no-such-credential'], asAdmin());
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^vaultpilot credentials show: 404 \S+: .+ \(request id \S+\)\n$/);
  });
});
