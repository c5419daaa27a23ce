/**
 * The client checks every answer of a server with the zod schema of the route's response. The
 * commands that read secrets use zod/mini mirrors of the contracts (lambdas/cli/answers.ts, for
 * start-up time); these tests prove the mirrors accept exactly what the contracts describe, and
 * that answers of the wrong shape, non-JSON answers and proxies' pages end each command with one
 * line naming what was wrong, exit 1, nothing on stdout, and nothing of the answer's values.
 * The server is a local node:http server on a free port answering what each test gives it.
 */
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import * as answers from '../../lambdas/cli/answers.js';
import { EXIT_FAILURE, EXIT_OK } from '../../lambdas/cli/command.js';
import * as identity from '../../lambdas/shared/contracts/identity.js';
import * as secrets from '../../lambdas/shared/contracts/secrets.js';
import { client, clientProcess, freshConfigDir, REPOSITORY_ROOT } from '../support/cli-client.js';

const BUNDLE_CACHE = join(REPOSITORY_ROOT, 'node_modules', '.cache', 'vaultpilot-cli');

/** Each file of a directory with its size and modification time. */
function filesOf(dir: string): Record<string, [number, number]> {
  return Object.fromEntries(
    readdirSync(dir).map((name) => {
      const info = statSync(join(dir, name));
      return [name, [info.size, info.mtimeMs]];
    }),
  );
}

/** Planted in every malformed answer: it must never reach stdout or stderr. */
const PLANTED = 'planted-s3cr3t-7f3a9c';

interface Reply {
  readonly status?: number;
  readonly type?: string;
  readonly body: string;
}

const METADATA = {
  version: 3,
  created_time: '2026-12-01T10:00:00.000Z',
  created_by: 'user:alice',
  deletion_time: '',
  destroyed: false,
  custom_metadata: null,
};

/**
 * The answers of the fake deployment, by "METHOD /path"; each test sets the ones it needs (a
 * function answers each request afresh).
 */
const replies = new Map<string, Reply | (() => Reply)>();
let server: Server;
let address: string;

function json(body: unknown, status = 200): Reply {
  return { status, type: 'application/json', body: JSON.stringify(body) };
}

function html(status = 200): Reply {
  return {
    status,
    type: 'text/html; charset=utf-8',
    body: `<!doctype html><html><body><h1>Bad gateway</h1><p>${PLANTED}</p></body></html>`,
  };
}

function answer(request: IncomingMessage, response: ServerResponse): void {
  const path = new URL(request.url ?? '/', 'http://x').pathname;
  const entry = replies.get(`${request.method ?? 'GET'} ${path}`);
  const reply = typeof entry === 'function' ? entry() : entry;
  request.resume();
  if (reply === undefined) {
    response
      .writeHead(404, { 'content-type': 'application/json' })
      .end(JSON.stringify({ error: { code: 'not_found', message: 'no such route', requestId: 'req-404' } }));
    return;
  }
  response
    .writeHead(reply.status ?? 200, reply.type === undefined ? {} : { 'content-type': reply.type })
    .end(reply.body);
}

beforeAll(async () => {
  server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** A command against the fake deployment with a fixed token, as a CI job runs it. */
function withToken(argv: readonly string[]) {
  return client(argv, { env: { VAULTPILOT_ADDR: address, VAULTPILOT_TOKEN: 'token-for-tests' } });
}

/** A rotation as GET /rotations/{id} answers it, with `fields` changed. */
function rotation(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    rotationId: 'rot-1',
    credentialId: 'cr_1',
    credentialType: 'vault-secret',
    state: 'in-progress',
    trigger: 'manual',
    requestedBy: 'user:alice',
    dryRun: false,
    steps: [],
    createdAt: 't',
    updatedAt: 't',
    ...fields,
  };
}

function expectOneLineFailure(run: { code: number; stdout: string; stderr: string }, message: RegExp) {
  expect(run.code).toBe(EXIT_FAILURE);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(message);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.stderr).not.toContain(PLANTED);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

describe('the zod/mini schemas of the client mirror the API contracts', () => {
  // A fresh registry leaves out the contracts' ids and descriptions: the shapes are compared.
  const shape = (schema: z.core.$ZodType) =>
    z.toJSONSchema(schema, { metadata: z.registry(), unrepresentable: 'any' });

  it.each([
    ['ReadSecretResponse', answers.ReadSecretAnswer(), secrets.ReadSecretResponse],
    ['WriteSecretResponse', answers.WriteSecretAnswer(), secrets.WriteSecretResponse],
    ['ListSecretsResponse', answers.ListSecretsAnswer(), secrets.ListSecretsResponse],
    ['SecretMetadataResponse', answers.SecretMetadataAnswer(), secrets.SecretMetadataResponse],
    ['NoContent', answers.NoContent(), secrets.NoContent],
    ['PasswordLoginResponse', answers.PasswordLoginAnswer(), identity.PasswordLoginResponse],
  ])('%s', (_name, mirror, contract) => {
    expect(shape(mirror)).toEqual(shape(contract));
  });

  it('would notice a field that differs', () => {
    // Prepare: the mirror with one field of another type
    const drifted = answers.WriteSecretAnswer().def.shape.data;
    const changed = z.object({ data: z.object({ ...drifted.def.shape, version: z.string() }) });

    // Act / Assess
    expect(shape(changed)).not.toEqual(shape(secrets.WriteSecretResponse));
  });
});

describe('describeIssue', () => {
  it('names the path and the types, never a value', () => {
    const value = { data: { data: { password: PLANTED }, metadata: { ...METADATA, version: PLANTED } } };
    const result = answers.ReadSecretAnswer().safeParse(value);
    expect(result.success).toBe(false);
    const issue = result.error?.issues[0];
    if (issue === undefined) throw new Error('no issue');
    expect(answers.describeIssue(issue, value)).toBe('data.metadata.version is a string, expected number');
  });

  it('says a field is missing', () => {
    const value = { data: { data: {} } };
    const issue = answers.ReadSecretAnswer().safeParse(value).error?.issues[0];
    if (issue === undefined) throw new Error('no issue');
    expect(answers.describeIssue(issue, value)).toBe('data.metadata is missing (expected object)');
  });
});

describe('a malformed answer ends the command with one line and exit 1', () => {
  it('kv get: a proxy page instead of JSON', async () => {
    replies.set('GET /secrets/data/prod/db', html());
    const run = await withToken(['kv', 'get', '-field=password', 'prod/db']);
    expectOneLineFailure(
      run,
      /^vaultpilot kv get: the answer to GET \/secrets\/data\/prod\/db \(HTTP 200\) is not JSON \(content-type text\/html, \d+ bytes\)/,
    );
  });

  it('kv get: JSON of the wrong shape, with a value in it', async () => {
    replies.set(
      'GET /secrets/data/prod/db',
      json({ data: { data: { password: PLANTED }, metadata: { ...METADATA, version: '3' } } }),
    );
    const run = await withToken(['kv', 'get', '-field=password', 'prod/db']);
    expectOneLineFailure(
      run,
      /is not what the API answers: data\.metadata\.version is a string, expected number$/m,
    );
  });

  it('kv get: a field value that is not a string', async () => {
    replies.set(
      'GET /secrets/data/prod/db',
      json({ data: { data: { password: { nested: PLANTED } }, metadata: METADATA } }),
    );
    const run = await withToken(['kv', 'get', 'prod/db']);
    expectOneLineFailure(run, /data\.data\.password is an object, expected string/);
  });

  it('kv get: a truncated body', async () => {
    replies.set('GET /secrets/data/prod/db', {
      type: 'application/json',
      body: `{"data":{"data":{"password":"${PLANTED}`,
    });
    const run = await withToken(['kv', 'get', 'prod/db']);
    expectOneLineFailure(run, /is not JSON \(content-type application\/json, \d+ bytes\)/);
  });

  it('kv list: keys that are not a list', async () => {
    replies.set('GET /secrets/metadata/prod', json({ data: { keys: PLANTED } }));
    const run = await withToken(['kv', 'list', 'prod']);
    expectOneLineFailure(
      run,
      /^vaultpilot kv list: the answer to GET \/secrets\/metadata\/prod \(HTTP 200\) is not what the API answers: data\.keys is a string, expected array$/m,
    );
  });

  it('kv put: an answer without the version written', async () => {
    replies.set('POST /secrets/data/prod/db', json({ data: { created_time: PLANTED } }));
    const run = await client(['kv', 'put', 'prod/db', 'password=-'], {
      stdin: 'value',
      env: { VAULTPILOT_ADDR: address, VAULTPILOT_TOKEN: 'token-for-tests' },
    });
    expectOneLineFailure(run, /data\.version is missing \(expected number\)/);
  });

  it('kv delete: a body where the API answers 204 without one', async () => {
    replies.set('POST /secrets/delete/prod/db', json({ deleted: PLANTED }));
    const run = await withToken(['kv', 'delete', 'prod/db']);
    expectOneLineFailure(run, /the body is an object, expected null/);
  });

  it('kv metadata get: versions of the wrong shape', async () => {
    replies.set(
      'GET /secrets/metadata/prod/db',
      json({
        data: {
          cas_required: false,
          created_time: 't',
          updated_time: 't',
          current_version: 1,
          oldest_version: 1,
          max_versions: 10,
          custom_metadata: null,
          versions: { '1': PLANTED },
        },
      }),
    );
    const run = await withToken(['kv', 'metadata', 'get', 'prod/db']);
    expectOneLineFailure(run, /data\.versions\.1 is a string, expected object/);
  });

  it('run: the command does not start', async () => {
    replies.set('GET /secrets/data/prod/db', json({ data: { data: { password: PLANTED } } }));
    const run = await withToken([
      'run',
      '--path',
      'prod/db',
      '--',
      process.execPath,
      '-e',
      'process.stdout.write("started")',
    ]);
    expectOneLineFailure(run, /^vaultpilot run: .*data\.metadata is missing \(expected object\)$/m);
  });

  it('credentials list: a credential of the wrong shape (the contract of GET /credentials)', async () => {
    replies.set(
      'GET /credentials',
      json({ data: { credentials: [{ id: 'cr_1', name: PLANTED }], total: 1 } }),
    );
    const run = await withToken(['credentials', 'list']);
    expectOneLineFailure(
      run,
      /^vaultpilot credentials list: the answer to GET \/credentials \(HTTP 200\) is not what the API answers: data\.credentials\.0\.type is missing \(and \d+ more\)$/m,
    );
  });

  it('credentials watch: a rotation state the API does not have', async () => {
    replies.set(
      'GET /rotations/rot-1',
      json({
        data: rotation({ state: PLANTED }),
      }),
    );
    const run = await withToken(['credentials', 'watch', 'rot-1']);
    expectOneLineFailure(run, /data\.state is not one of the expected values$/m);
  });

  it('credentials watch: waits, after the rotation settles, until its credential no longer reads rotating', async () => {
    // Prepare: the rotation has succeeded; the inventory learns it two looks later.
    replies.set(
      'GET /rotations/rot-2',
      json({
        data: rotation({ rotationId: 'rot-2', credentialId: 'cr_2', state: 'succeeded', finishedAt: 't' }),
      }),
    );
    let looks = 0;
    replies.set('GET /credentials/cr_2', () => {
      looks += 1;
      return json({
        data: {
          id: 'cr_2',
          type: 'vault-secret',
          source: 'managed',
          name: 'token',
          reference: {},
          tags: {},
          sourceTags: {},
          usageTracked: false,
          status: looks <= 2 ? 'rotating' : 'healthy',
          findings: [],
          facts: {},
          registeredAt: 't',
          updatedAt: 't',
          revision: looks,
        },
      });
    });

    // Act
    const run = await withToken(['credentials', 'watch', '-interval=0.01', 'rot-2']);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT_OK);
    expect(run.stdout).toContain('rotation rot-2: succeeded');
    expect(looks).toBe(3);
  });

  it('audit verify: prints the verdict of the server as the offline verifier words it, and exits by it', async () => {
    replies.set(
      'GET /audit/verify',
      json({ ok: true, checked: 812, firstSeq: 1, lastSeq: 812, digestsVerified: 9, firstBad: null }),
    );
    const intact = await withToken(['audit', 'verify']);
    replies.set(
      'GET /audit/verify',
      json({
        ok: false,
        checked: 56,
        firstSeq: 1,
        lastSeq: 56,
        digestsVerified: 1,
        firstBad: { seq: 57, reason: 'modified' },
      }),
    );
    const broken = await withToken(['audit', 'verify']);

    expect(intact).toMatchObject({
      code: EXIT_OK,
      stdout: 'INTACT: 812 entries (seq 1..812), 9 signed digests verified.\n',
    });
    expect(broken).toMatchObject({
      code: EXIT_FAILURE,
      stdout: 'NOT INTACT: first bad seq 57: modified; 56 entries verified before it\n',
    });
  });

  it('audit verify: an answer that is not the verification', async () => {
    replies.set(
      'GET /audit/verify',
      json({ ok: 'yes', checked: 3, firstSeq: 1, lastSeq: 3, digestsVerified: 0, firstBad: null }),
    );
    const run = await withToken(['audit', 'verify']);
    expectOneLineFailure(run, /ok is a string, expected boolean/);
  });

  it('audit export: an HTML page where NDJSON was asked for, and no file is written', async () => {
    replies.set('GET /audit/export', html());
    const out = join(mkdtempSync(join(tmpdir(), 'vp-answers-')), 'audit.ndjson');
    const run = await withToken(['audit', 'export', '-out', out]);
    expectOneLineFailure(
      run,
      /^vaultpilot audit export: the answer to GET \/audit\/export \(HTTP 200\) is text\/html, not application\/x-ndjson$/m,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('whoami: an answer without the caller (the contract of GET /me)', async () => {
    replies.set('GET /me', json({ subject: PLANTED }));
    const run = await withToken(['whoami']);
    expectOneLineFailure(
      run,
      /^vaultpilot whoami: the answer to GET \/me \(HTTP 200\) is not what the API answers: kind is missing \(and \d+ more\)$/m,
    );
  });

  it('through the real executable too: the bundle, the exit code and no stack trace', async () => {
    replies.set('GET /secrets/data/prod/db', html());
    const run = await clientProcess(['kv', 'get', '-field=password', 'prod/db'], {
      env: { VAULTPILOT_ADDR: address, VAULTPILOT_TOKEN: 'token-for-tests' },
    });
    expectOneLineFailure(run, /is not JSON \(content-type text\/html/);
  });
});

describe('a well-formed answer', () => {
  it('kv get -field prints the value, and writes nothing to disk (bundle cache, config directory)', async () => {
    // Prepare: a first start may build the bundle; the second must leave every file as it was
    replies.set(
      'GET /secrets/data/prod/db',
      json({ data: { data: { password: 'the-value' }, metadata: METADATA } }),
    );
    const config = freshConfigDir();
    const env = {
      VAULTPILOT_ADDR: address,
      VAULTPILOT_TOKEN: 'token-for-tests',
      VAULTPILOT_CONFIG_DIR: config,
    };
    await clientProcess(['kv', 'get', '-field=password', 'prod/db'], { env });
    const before = filesOf(BUNDLE_CACHE);

    // Act
    const run = await clientProcess(['kv', 'get', '-field=password', 'prod/db'], { env });

    // Assess
    expect(run).toEqual({ code: 0, stdout: 'the-value', stderr: '' });
    expect(filesOf(BUNDLE_CACHE)).toEqual(before);
    expect(readdirSync(config)).toEqual([]);
  });
});

describe('refusals whose body is not the API error body', () => {
  it('a proxy page with a 502: the status, and that the body is not the API error', async () => {
    replies.set('GET /secrets/data/prod/db', html(502));
    const run = await withToken(['kv', 'get', 'prod/db']);
    expectOneLineFailure(
      run,
      /^vaultpilot kv get: 502 http_502: HTTP 502, and the body is not an API error \(content-type text\/html\)$/m,
    );
  });

  it("the server's message without its control characters (no terminal escapes)", async () => {
    replies.set(
      'GET /secrets/data/prod/db',
      json(
        { error: { code: 'forbidden', message: 'no\u001b[2J\u001b[31m access\nhere', requestId: 'r-1' } },
        403,
      ),
    );
    const run = await withToken(['kv', 'get', 'prod/db']);
    expect(run.code).toBe(EXIT_FAILURE);
    expect(run.stderr).toBe(
      'vaultpilot kv get: permission denied: no [2J [31m access here (request id r-1)\n',
    );
  });
});

describe('malformed sign-in answers save no tokens', () => {
  function deployment(): void {
    replies.set(
      'GET /config.json',
      json({
        apiUrl: address,
        stage: 'test',
        auth: {
          issuer: `${address}/issuer`,
          clientId: 'dashboard',
          authorizationEndpoint: `${address}/oauth2/authorize`,
          tokenEndpoint: `${address}/oauth2/token`,
          logoutEndpoint: null,
          scopes: ['openid'],
        },
      }),
    );
    replies.set(
      'GET /issuer/.well-known/openid-configuration',
      json({ issuer: `${address}/issuer`, 'x-vaultpilot-sign-in-endpoint': `${address}/auth/token` }),
    );
  }

  it('login -username: a token answer without the access token', async () => {
    deployment();
    replies.set('POST /auth/token', json({ idToken: PLANTED, expiresIn: 3600, tokenType: 'Bearer' }));
    const config = freshConfigDir();
    const run = await client(['login', '-address', address, '-username', 'alice'], {
      stdin: 'password',
      env: { VAULTPILOT_CONFIG_DIR: config },
    });
    expectOneLineFailure(
      run,
      /^vaultpilot login: the answer to POST \/auth\/token \(HTTP 200\) is not what the API answers: accessToken is missing \(expected string\)$/m,
    );
    expect(existsSync(join(config, 'tokens.json'))).toBe(false);
  });

  it('login -client-id: a token endpoint answering HTML', async () => {
    deployment();
    replies.set('POST /oauth2/token', html());
    const config = freshConfigDir();
    const run = await client(['login', '-address', address, '-client-id', 'ci'], {
      env: { VAULTPILOT_CONFIG_DIR: config, VAULTPILOT_CLIENT_SECRET: 'client-secret' },
    });
    expectOneLineFailure(
      run,
      /^vaultpilot login: the answer of the token endpoint http:\/\/127\.0\.0\.1:\d+ \(HTTP 200\) is not JSON/m,
    );
    expect(existsSync(join(config, 'tokens.json'))).toBe(false);
  });

  it('login -client-id: a token of another type than bearer', async () => {
    deployment();
    replies.set('POST /oauth2/token', json({ access_token: PLANTED, token_type: 'mac', expires_in: 60 }));
    const config = freshConfigDir();
    const run = await client(['login', '-address', address, '-client-id', 'ci'], {
      env: { VAULTPILOT_CONFIG_DIR: config, VAULTPILOT_CLIENT_SECRET: 'client-secret' },
    });
    expectOneLineFailure(run, /token_type does not have the expected form$/m);
    expect(existsSync(join(config, 'tokens.json'))).toBe(false);
  });

  it('login: an address serving a web page instead of /config.json', async () => {
    replies.set('GET /config.json', html());
    const run = await client(['login', '-address', address, '-username', 'alice'], {
      stdin: 'password',
      env: { VAULTPILOT_CONFIG_DIR: freshConfigDir() },
    });
    expectOneLineFailure(run, /serves no VaultPilot \/config\.json \(HTTP 200\)/);
  });
});

describe('logout checks that the identity provider revoked the refresh token', () => {
  /** A browser sign-in's profile and tokens, as `vaultpilot login` saves them. */
  function signedIn(tokenEndpoint: string): string {
    const config = freshConfigDir();
    chmodSync(config, 0o700);
    const profile = {
      apiUrl: address,
      auth: {
        kind: 'browser',
        clientId: 'dashboard',
        authorizationEndpoint: `${address}/oauth2/authorize`,
        tokenEndpoint,
        scopes: ['openid'],
      },
    };
    writeFileSync(join(config, 'profiles.json'), JSON.stringify({ profiles: { default: profile } }), {
      mode: 0o600,
    });
    const tokens = { accessToken: 'access', expiresAt: Date.now() + 3_600_000, refreshToken: PLANTED };
    writeFileSync(join(config, 'tokens.json'), JSON.stringify({ default: tokens }), { mode: 0o600 });
    return config;
  }

  function storedTokens(config: string): Record<string, unknown> {
    return JSON.parse(readFileSync(join(config, 'tokens.json'), 'utf8')) as Record<string, unknown>;
  }

  it('signs out with exit 0 when the revocation endpoint answers 200', async () => {
    // Prepare
    replies.set('POST /oauth2/revoke', { status: 200, body: '' });
    const config = signedIn(`${address}/oauth2/token`);

    // Act
    const run = await client(['logout'], { env: { VAULTPILOT_CONFIG_DIR: config } });

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe("Signed out of profile 'default'.\n");
    expect(storedTokens(config).default).toBeUndefined();
  });

  it('drops the tokens but exits 1, naming the refusal, when the provider refuses to revoke', async () => {
    // Prepare
    replies.set('POST /oauth2/revoke', json({ error: 'invalid_client', error_description: PLANTED }, 400));
    const config = signedIn(`${address}/oauth2/token`);

    // Act
    const run = await client(['logout'], { env: { VAULTPILOT_CONFIG_DIR: config } });

    // Assess
    expectOneLineFailure(
      run,
      /^vaultpilot logout: the identity provider did not revoke the refresh token \(it answered HTTP 400, invalid_client\)\. Signed out of profile 'default' here, but the refresh token stays valid until it expires/,
    );
    expect(storedTokens(config).default).toBeUndefined();
  });

  it('drops the tokens but exits 1 when the provider cannot be reached', async () => {
    // Prepare: a port nothing listens on (a server opened and closed again)
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const config = signedIn(`http://127.0.0.1:${port}/oauth2/token`);

    // Act
    const run = await client(['logout'], { env: { VAULTPILOT_CONFIG_DIR: config } });

    // Assess
    expectOneLineFailure(
      run,
      /^vaultpilot logout: the identity provider did not revoke the refresh token \(it could not be reached\)/,
    );
    expect(storedTokens(config).default).toBeUndefined();
  });
});
