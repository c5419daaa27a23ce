/**
 * A local HTTP server answering the GitHub REST endpoints a GitHub App installation token needs,
 * with the documented shapes and errors: `POST /app/installations/{id}/access_tokens` (201
 * `{token, expires_at, permissions, repository_selection}`; 401 for a JWT it cannot verify with
 * the App's public key or whose `iss`/`exp` is wrong; 404 for an unknown installation; 403 for a
 * suspended one), `GET /installation/repositories` (200 `{total_count, repositories}`; 401 "Bad
 * credentials") and `DELETE /installation/token` (204). Tokens live one hour of `now()`.
 *
 * Personal access tokens (`pats`): `GET /user` with `Authorization: Bearer <token>` answers 200
 * with the user and, for a token that expires, the `github-authentication-token-expiration`
 * header (`2026-03-15 08:00:00 UTC`); 401 "Bad credentials" for an unknown or expired token; 403
 * for a token an organization blocks (SAML SSO not authorized).
 */
import { createPublicKey, createVerify, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const DOCS = 'https://docs.github.com/rest';

export class FakeGithub {
  readonly appId = '123456';
  readonly installations = new Map<string, 'active' | 'suspended'>([['4242', 'active']]);
  readonly tokens = new Map<string, { installationId: string; expiresAt: number; revoked: boolean }>();
  readonly calls: string[] = [];
  /** Fine-grained personal access tokens: login, expiry (ms), and whether GitHub answers 403. */
  readonly pats = new Map<string, { login: string; expiresAt?: number; forbidden?: boolean }>();
  /** Answer every call with this status (503, 429 …) while set. */
  failWith: number | undefined;
  readonly privateKeyPem: string;
  private readonly publicKeyPem: string;
  private server: Server | undefined;
  baseUrl = '';

  constructor(private readonly now: () => number) {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKeyPem = pair.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    this.publicKeyPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  valid(token: string | undefined): boolean {
    const entry = token === undefined ? undefined : this.tokens.get(token);
    return entry !== undefined && !entry.revoked && entry.expiresAt > this.now();
  }

  async start(): Promise<string> {
    this.server = createServer((request, response) => this.handle(request, response));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private json(response: ServerResponse, status: number, body: unknown): void {
    response
      .writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
      .end(JSON.stringify(body));
  }

  /** The JWT's claims when its RS256 signature verifies with the App's public key. */
  private jwtClaims(authorization: string): { iss?: unknown; exp?: unknown; iat?: unknown } | undefined {
    const match = /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/.exec(authorization);
    if (match === null) return undefined;
    const [, header, payload, signature] = match as unknown as [string, string, string, string];
    const verifier = createVerify('RSA-SHA256').update(`${header}.${payload}`);
    if (!verifier.verify(createPublicKey(this.publicKeyPem), Buffer.from(signature, 'base64url')))
      return undefined;
    const head = JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg?: string };
    if (head.alg !== 'RS256') return undefined;
    return JSON.parse(Buffer.from(payload, 'base64url').toString()) as { iss?: unknown; exp?: unknown };
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://x');
    const authorization = request.headers.authorization ?? '';
    this.calls.push(`${request.method ?? ''} ${url.pathname}`);
    if (this.failWith !== undefined) {
      this.json(response, this.failWith, { message: 'Service unavailable' });
      return;
    }
    const mint = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(url.pathname);
    if (request.method === 'POST' && mint !== null) {
      const claims = this.jwtClaims(authorization);
      const seconds = Math.floor(this.now() / 1000);
      if (
        claims === undefined ||
        claims.iss !== this.appId ||
        typeof claims.exp !== 'number' ||
        claims.exp <= seconds ||
        claims.exp > seconds + 600 ||
        typeof claims.iat !== 'number' ||
        claims.iat > seconds
      ) {
        this.json(response, 401, {
          message: 'A JSON web token could not be decoded',
          documentation_url: DOCS,
        });
        return;
      }
      const installationId = mint[1] ?? '';
      const state = this.installations.get(installationId);
      if (state === undefined) {
        this.json(response, 404, { message: 'Not Found', documentation_url: DOCS });
        return;
      }
      if (state === 'suspended') {
        this.json(response, 403, {
          message: 'This installation has been suspended',
          documentation_url: DOCS,
        });
        return;
      }
      const token = `ghs_${randomBytes(27).toString('base64url').replace(/[-_]/g, 'x')}`;
      const expiresAt = this.now() + 3_600_000;
      this.tokens.set(token, { installationId, expiresAt, revoked: false });
      this.json(response, 201, {
        token,
        expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        permissions: { contents: 'read', metadata: 'read' },
        repository_selection: 'selected',
      });
      return;
    }
    if (request.method === 'GET' && url.pathname === '/user') {
      const pat = this.pats.get(/^Bearer (\S+)$/.exec(authorization)?.[1] ?? '');
      if (pat === undefined || (pat.expiresAt !== undefined && pat.expiresAt <= this.now())) {
        this.json(response, 401, { message: 'Bad credentials', documentation_url: DOCS });
        return;
      }
      if (pat.forbidden === true) {
        this.json(response, 403, {
          message: 'Resource protected by organization SAML enforcement.',
          documentation_url: DOCS,
        });
        return;
      }
      if (pat.expiresAt !== undefined) {
        const at = new Date(pat.expiresAt).toISOString();
        response.setHeader(
          'github-authentication-token-expiration',
          `${at.slice(0, 10)} ${at.slice(11, 19)} UTC`,
        );
      }
      this.json(response, 200, { login: pat.login, id: 583231, type: 'User' });
      return;
    }
    const token = /^token (\S+)$/.exec(authorization)?.[1];
    if (request.method === 'GET' && url.pathname === '/installation/repositories') {
      if (!this.valid(token)) {
        this.json(response, 401, { message: 'Bad credentials', documentation_url: DOCS });
        return;
      }
      this.json(response, 200, {
        total_count: 1,
        repository_selection: 'selected',
        repositories: [{ id: 1, name: 'app' }],
      });
      return;
    }
    if (request.method === 'DELETE' && url.pathname === '/installation/token') {
      if (!this.valid(token)) {
        this.json(response, 401, { message: 'Bad credentials', documentation_url: DOCS });
        return;
      }
      const entry = this.tokens.get(token ?? '');
      if (entry !== undefined) entry.revoked = true;
      response.writeHead(204).end();
      return;
    }
    this.json(response, 404, { message: 'Not Found', documentation_url: DOCS });
  }
}
