/**
 * The CLI's browser sign-in against an identity provider that lists one fixed loopback redirect
 * (Cognito: `http://localhost:<port>/callback`). A local HTTP server stands in for the Hosted UI's
 * token endpoint; the browser's side is driven over HTTP.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { browserSignIn } from '../../lambdas/cli/browser-sign-in.js';
import type { ClientIo } from '../../lambdas/cli/io.js';

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A free port: what the deployment's fixed redirect names in this test. */
async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listen(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  servers.splice(servers.indexOf(probe), 1);
  return port;
}

describe('vaultpilot login against a fixed loopback redirect (Cognito)', () => {
  it('listens on the listed port, sends the listed redirect as is, and exchanges the code with the PKCE verifier', async () => {
    // Prepare: the token endpoint checks the code, the redirect and the verifier.
    const redirectUri = `http://localhost:${await freePort()}/callback`;
    let exchanged: URLSearchParams | undefined;
    let challenge = '';
    const tokenPort = await listen(
      createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString()));
        request.on('end', () => {
          exchanged = new URLSearchParams(body);
          const verifier = exchanged.get('code_verifier') ?? '';
          const matches = createHash('sha256').update(verifier).digest('base64url') === challenge;
          response.writeHead(matches ? 200 : 400, { 'content-type': 'application/json' }).end(
            JSON.stringify(
              matches
                ? {
                    access_token: 'at',
                    id_token: 'it',
                    refresh_token: 'rt',
                    expires_in: 900,
                    token_type: 'Bearer',
                  }
                : { error: 'invalid_grant' },
            ),
          );
        });
      }),
    );
    let printed = '';
    let announce: (url: URL) => void = () => undefined;
    const authorizeUrl = new Promise<URL>((resolve) => (announce = resolve));
    const io: ClientIo = {
      stdin: (async function* () {})(),
      stdout: { write: () => true },
      stderr: {
        write: (chunk: string) => {
          printed += chunk;
          const match = /https:\/\/\S+\/oauth2\/authorize\?\S+/.exec(printed);
          if (match !== null) announce(new URL(match[0]));
          return true;
        },
      },
      env: {},
    };

    // Act: the CLI waits; the "browser" comes back to the listed redirect with the code.
    const signIn = browserSignIn(
      {
        kind: 'browser',
        clientId: 'cli-client',
        authorizationEndpoint: 'https://vaultpilot.auth.example.test/oauth2/authorize',
        tokenEndpoint: `http://127.0.0.1:${tokenPort}/oauth2/token`,
        scopes: ['openid', 'email'],
      },
      io,
      { port: 0, redirectUri, openBrowser: false, timeoutMs: 10_000 },
    );
    const url = await authorizeUrl;
    challenge = url.searchParams.get('code_challenge') ?? '';
    const back = new URL(redirectUri);
    back.hostname = '127.0.0.1';
    back.search = new URLSearchParams({
      code: 'the-code',
      state: url.searchParams.get('state') ?? '',
    }).toString();
    const landed = await fetch(back);
    const tokens = await signIn;

    // Assess
    expect(url.searchParams.get('redirect_uri')).toBe(redirectUri);
    expect(url.searchParams.get('client_id')).toBe('cli-client');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(landed.status).toBe(200);
    expect(exchanged?.get('redirect_uri')).toBe(redirectUri);
    expect(exchanged?.get('code')).toBe('the-code');
    expect(tokens.accessToken).toBe('at');
    expect(tokens.refreshToken).toBe('rt');
  });
});
