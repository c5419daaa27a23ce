/**
 * The `vaultpilot` command, run in-process with its own streams and environment on a real data
 * directory, and the results checked against a running identity provider on the same directory.
 * One test runs the real `bin/vaultpilot-cli.cjs` shim as a user would.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../lambdas/local/cli.js';
import { LocalIdentityProvider } from '../../lambdas/local/identity.js';
import { handleIdentityRequest } from '../../lambdas/local/identity-routes.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FAST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 };
const PASSWORD = 'a-long-password-here';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function vaultpilot(
  argv: string[],
  { stdin = '', env = {} }: { stdin?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdin: Readable.from(stdin === '' ? [] : [Buffer.from(stdin)]),
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    env,
    cwd: mkdtempSync(join(tmpdir(), 'vp-cwd-')),
  };
  const code = await runCli(argv, io, { scryptCost: FAST_SCRYPT });
  return { code, stdout, stderr };
}

function dataDirEnv(): { VAULTPILOT_DATA_DIR: string } {
  return { VAULTPILOT_DATA_DIR: join(mkdtempSync(join(tmpdir(), 'vp-cli-')), 'data') };
}

function server(dataDir: string): Promise<LocalIdentityProvider> {
  return LocalIdentityProvider.open({
    dataDir,
    issuer: 'http://127.0.0.1:3000',
    tokenTtlSeconds: 3600,
    userClientId: 'vaultpilot-local-dashboard',
    scryptCost: FAST_SCRYPT,
  });
}

describe('vaultpilot users', () => {
  it('adds a user with the password from stdin, and a running server signs them in', async () => {
    // Prepare: the server is already running on the data directory.
    const env = dataDirEnv();
    const idp = await server(env.VAULTPILOT_DATA_DIR);

    // Act
    const run = await vaultpilot(
      [
        'users',
        'add',
        '--username',
        'alice',
        '--password-stdin',
        '--tenant',
        'acme',
        '--groups',
        'operator,viewer',
      ],
      { stdin: `${PASSWORD}\n`, env },
    );
    const response = await handleIdentityRequest(idp, {
      method: 'POST',
      path: '/auth/token',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: PASSWORD }),
      requestId: 'r',
    });

    // Assess
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(run.stdout)).toEqual({
      username: 'alice',
      tenant: 'acme',
      groups: ['operator', 'viewer'],
    });
    expect(response?.statusCode).toBe(200);
    expect(readFileSync(join(env.VAULTPILOT_DATA_DIR, 'identity.json'), 'utf8')).not.toContain(PASSWORD);
  });

  it('keeps a password that ends in spaces, dropping only the trailing newline', async () => {
    // Prepare
    const env = dataDirEnv();

    // Act
    await vaultpilot(
      ['users', 'add', '--username', 'bob', '--password-stdin', '--tenant', 'acme', '--groups', 'viewer'],
      {
        stdin: `${PASSWORD}  \r\n`,
        env,
      },
    );
    const idp = await server(env.VAULTPILOT_DATA_DIR);

    // Assess
    await expect(idp.passwordLogin('bob', `${PASSWORD}  `)).resolves.toMatchObject({ tokenType: 'Bearer' });
    await expect(idp.passwordLogin('bob', PASSWORD)).rejects.toThrow('Invalid username or password');
  });

  it('never takes a password as an argument', async () => {
    // Act
    const run = await vaultpilot(
      [
        'users',
        'add',
        '--username',
        'alice',
        '--password',
        PASSWORD,
        '--tenant',
        'acme',
        '--groups',
        'viewer',
      ],
      { env: dataDirEnv() },
    );

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--password-stdin/);
    expect(run.stderr).not.toContain(PASSWORD);
  });

  it('requires --password-stdin', async () => {
    const run = await vaultpilot(
      ['users', 'add', '--username', 'alice', '--tenant', 'acme', '--groups', 'viewer'],
      {
        env: dataDirEnv(),
      },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--password-stdin is required');
  });

  it.each([
    ['a short password', ['--groups', 'viewer'], 'short\n', /password: expected at least 12 characters/],
    ['an unknown group', ['--groups', 'viewer,root'], `${PASSWORD}\n`, /groups\.1: expected one of admin/],
  ])('refuses %s with one line on stderr and exit 2', async (_case, extra, stdin, message) => {
    // Act
    const run = await vaultpilot(
      ['users', 'add', '--username', 'alice', '--password-stdin', '--tenant', 'acme', ...extra],
      { stdin, env: dataDirEnv() },
    );

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stdout).toBe('');
  });

  it('refuses a user that exists with exit 1', async () => {
    // Prepare
    const env = dataDirEnv();
    const add = [
      'users',
      'add',
      '--username',
      'alice',
      '--password-stdin',
      '--tenant',
      'acme',
      '--groups',
      'viewer',
    ];
    await vaultpilot(add, { stdin: PASSWORD, env });

    // Act
    const again = await vaultpilot(add, { stdin: PASSWORD, env });

    // Assess
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists/);
  });

  it('lists users as JSON without hashes', async () => {
    // Prepare
    const env = dataDirEnv();
    await vaultpilot(
      ['users', 'add', '--username', 'alice', '--password-stdin', '--tenant', 'acme', '--groups', 'admin'],
      {
        stdin: PASSWORD,
        env,
      },
    );

    // Act
    const run = await vaultpilot(['users', 'list'], { env });

    // Assess
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([
      {
        username: 'alice',
        sub: expect.any(String),
        tenant: 'acme',
        groups: ['admin'],
        createdAt: expect.any(String),
      },
    ]);
    expect(run.stdout).not.toContain('scrypt');
  });
});

describe('vaultpilot clients', () => {
  it('adds a client whose printed id and secret work at /oauth2/token', async () => {
    // Prepare
    const env = dataDirEnv();
    const idp = await server(env.VAULTPILOT_DATA_DIR);

    // Act
    const run = await vaultpilot(
      [
        'clients',
        'add',
        '--tenant',
        'acme',
        '--scopes',
        'vaultpilot/read,vaultpilot/write',
        '--name',
        'ci bot',
      ],
      { env },
    );
    const { clientId, clientSecret } = JSON.parse(run.stdout) as { clientId: string; clientSecret: string };
    const response = await handleIdentityRequest(idp, {
      method: 'POST',
      path: '/oauth2/token',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
      requestId: 'r',
    });
    const list = await vaultpilot(['clients', 'list'], { env });

    // Assess
    expect(run.code).toBe(0);
    expect(Object.keys(JSON.parse(run.stdout)).sort()).toEqual(['clientId', 'clientSecret']);
    expect(response?.statusCode).toBe(200);
    expect(JSON.parse(response?.body ?? '{}')).toMatchObject({ token_type: 'Bearer' });
    expect(JSON.parse(list.stdout)).toEqual([
      {
        clientId,
        name: 'ci bot',
        tenant: 'acme',
        scopes: ['vaultpilot/read', 'vaultpilot/write'],
        createdAt: expect.any(String),
      },
    ]);
    expect(list.stdout).not.toContain(clientSecret);
    expect(readFileSync(join(env.VAULTPILOT_DATA_DIR, 'identity.json'), 'utf8')).not.toContain(clientSecret);
  });

  it('refuses an unknown scope with exit 2', async () => {
    const run = await vaultpilot(
      ['clients', 'add', '--tenant', 'acme', '--scopes', 'vaultpilot/everything'],
      {
        env: dataDirEnv(),
      },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/scopes\.0: expected one of vaultpilot\/read/);
  });
});

describe('vaultpilot usage and errors', () => {
  it('prints the usage for --help and help on stdout', async () => {
    for (const argv of [['--help'], ['help']]) {
      const run = await vaultpilot(argv);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Usage: vaultpilot <command>');
      expect(run.stdout).toContain('clients add');
    }
  });

  it('prints a command help for `users add --help`', async () => {
    const run = await vaultpilot(['users', 'add', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--password-stdin');
  });

  it.each([[[]], [['frobnicate']], [['users']], [['users', 'remove']]])(
    'answers %j with the usage on stderr and exit 2',
    async (argv) => {
      const run = await vaultpilot(argv);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('Usage: vaultpilot <command>');
      expect(run.stdout).toBe('');
    },
  );

  it('answers an unknown option with exit 2', async () => {
    const run = await vaultpilot(['users', 'list', '--verbose'], { env: dataDirEnv() });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--verbose/);
  });

  it('answers a corrupt identity store with its message and exit 1, no stack trace', async () => {
    // Prepare
    const env = dataDirEnv();
    mkdirSync(env.VAULTPILOT_DATA_DIR, { recursive: true });
    writeFileSync(join(env.VAULTPILOT_DATA_DIR, 'identity.json'), '{oops');

    // Act
    const run = await vaultpilot(['users', 'list'], { env });

    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('identity.json is corrupt');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('answers a bad configuration variable with exit 1', async () => {
    const run = await vaultpilot(['users', 'list'], {
      env: { ...dataDirEnv(), VAULTPILOT_TOKEN_TTL_SECONDS: 'soon' },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('VAULTPILOT_TOKEN_TTL_SECONDS');
  });

  it('refuses to manage an in-memory runtime', async () => {
    const run = await vaultpilot(['users', 'list'], { env: { VAULTPILOT_IN_MEMORY: 'true' } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('VAULTPILOT_IN_MEMORY');
  });

  it('honours --data-dir over VAULTPILOT_DATA_DIR', async () => {
    // Prepare
    const env = dataDirEnv();
    const other = join(mkdtempSync(join(tmpdir(), 'vp-cli-')), 'other');

    // Act
    await vaultpilot(
      ['clients', 'add', '--tenant', 'acme', '--scopes', 'vaultpilot/read', '--data-dir', other],
      { env },
    );

    // Assess
    expect(
      JSON.parse((await vaultpilot(['clients', 'list', '--data-dir', other], { env })).stdout),
    ).toHaveLength(1);
    expect(JSON.parse((await vaultpilot(['clients', 'list'], { env })).stdout)).toEqual([]);
  });
});

describe('bin/vaultpilot-cli.cjs', () => {
  it('runs as an executable with the process streams and exit code', () => {
    // Prepare
    const env = { ...process.env, ...dataDirEnv() };

    // Act
    const list = spawnSync(join(ROOT, 'bin', 'vaultpilot-cli.cjs'), ['clients', 'list'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
    });
    const unknown = spawnSync(join(ROOT, 'bin', 'vaultpilot-cli.cjs'), ['frobnicate'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
    });

    // Assess
    expect(list.status).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('Usage: vaultpilot');
  });
});
