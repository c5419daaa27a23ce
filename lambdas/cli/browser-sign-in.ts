/**
 * Signing in in the browser: authorization code with PKCE S256 through a loopback redirect
 * (Cognito Hosted UI or the local issuer). Only `vaultpilot login` loads it: the loopback server,
 * the PKCE hashing and the browser opener cost every other command start-up time for nothing.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stored, tokenRequest } from './auth.js';
import { NotSignedInError } from './errors.js';
import type { ClientIo } from './io.js';
import type { AuthSettings, StoredTokens } from './profiles.js';

export interface BrowserSignInOptions {
  /** The loopback port; 0 picks a free one (Cognito needs a fixed one listed in its app client). */
  readonly port: number;
  /**
   * The redirect the app client lists (`http://localhost:<port>/callback`, from the deployment's
   * `/config.json`): the server listens on its port, and it is sent as is.
   */
  readonly redirectUri?: string | undefined;
  /** Try xdg-open / open; never in CI. */
  readonly openBrowser: boolean;
  readonly timeoutMs: number;
}

function base64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

const CALLBACK_PAGE = (message: string): string =>
  `<!doctype html><html><head><meta charset="utf-8"><title>VaultPilot</title></head><body><p>${message}</p></body></html>`;

/**
 * Authorization code with PKCE (RFC 7636, S256) and a loopback redirect (RFC 8252 §7.3): the
 * code comes back to a one-shot server on 127.0.0.1, which checks `state` before anything else.
 */
export async function browserSignIn(
  auth: Extract<AuthSettings, { kind: 'browser' }>,
  io: ClientIo,
  options: BrowserSignInOptions,
): Promise<StoredTokens> {
  const verifier = base64url(randomBytes(32));
  const challenge = base64url(createHash('sha256').update(verifier, 'ascii').digest());
  const state = base64url(randomBytes(16));
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const fixed = options.redirectUri === undefined ? undefined : Number(new URL(options.redirectUri).port);
    server.listen(fixed ?? options.port, '127.0.0.1', () => resolve());
  });
  try {
    const { port } = server.address() as AddressInfo;
    const redirectUri = options.redirectUri ?? `http://127.0.0.1:${port}/callback`;
    const url = new URL(auth.authorizationEndpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: auth.clientId,
      redirect_uri: redirectUri,
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: auth.scopes.join(' '),
    }).toString();
    const code = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new NotSignedInError('no sign-in arrived in time; run vaultpilot login again')),
        options.timeoutMs,
      );
      server.on('request', (request, response) => {
        const received = new URL(request.url ?? '/', redirectUri);
        if (received.pathname !== '/callback') {
          response.writeHead(404).end();
          return;
        }
        const params = received.searchParams;
        const finish = (status: number, message: string): void => {
          response
            .writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
            .end(CALLBACK_PAGE(message));
        };
        if (params.get('state') !== state) {
          // Not our request (or a forged one): refuse it and keep waiting for the real one.
          finish(400, 'This sign-in response does not belong to the waiting vaultpilot login.');
          return;
        }
        clearTimeout(timer);
        const error = params.get('error');
        const value = params.get('code');
        if (error !== null || value === null) {
          finish(400, 'Sign-in failed. You can close this tab.');
          reject(new NotSignedInError(`sign-in failed: ${error ?? 'no code in the response'}`));
          return;
        }
        finish(200, 'Signed in to VaultPilot. You can close this tab and return to the terminal.');
        resolve(value);
      });
    });
    io.stderr.write(
      `Open this address in a browser to sign in:\n\n  ${url.href}\n\nWaiting for the sign-in...\n`,
    );
    if (options.openBrowser) openInBrowser(url.href);
    const answer = await tokenRequest(auth.tokenEndpoint, {
      grant_type: 'authorization_code',
      client_id: auth.clientId,
      code: await code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    });
    return stored(answer);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

function openInBrowser(href: string): void {
  const command =
    process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(command, [href], { stdio: 'ignore', detached: true });
    // No opener installed: the printed address is enough.
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // Same: the address is printed above.
  }
}
