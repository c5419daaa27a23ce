/**
 * OAuth 2.0 authorization code flow with PKCE (RFC 7636, S256) for a public client. The only
 * thing kept across the redirect is the verifier and the state, in sessionStorage (standard for
 * SPAs, and neither is a token or a secret value); the page to return to travels inside `state`.
 */

/** Where the verifier and state wait during the redirect to the issuer. */
export const PENDING_SIGN_IN_KEY = 'vaultpilot.pending-sign-in';

export function base64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string {
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
  const binary = atob(padded);
  return new TextDecoder().decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)));
}

/** 32 random bytes as base64url: 43 characters, inside RFC 7636's 43..128 for a verifier. */
export function randomToken(): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(32)));
}

export async function codeChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64Url(new Uint8Array(digest));
}

/** Only a same-origin path may be returned to; anything else (`//host`, a URL) becomes `/`. */
export function safeReturnPath(path: string | undefined): string {
  if (path === undefined || !path.startsWith('/') || path.startsWith('//') || path.startsWith('/\\'))
    return '/';
  if (path.startsWith('/callback') || path.startsWith('/signed-out')) return '/';
  return path;
}

/** `state` = a random nonce and the return path, so the path needs no storage of its own. */
export function encodeState(returnTo: string): string {
  return `${randomToken()}.${base64Url(new TextEncoder().encode(safeReturnPath(returnTo)))}`;
}

export function returnPathOf(state: string): string {
  const encoded = state.split('.')[1];
  if (encoded === undefined) return '/';
  try {
    return safeReturnPath(fromBase64Url(encoded));
  } catch (_error: unknown) {
    return '/';
  }
}

export interface PendingSignIn {
  readonly state: string;
  readonly verifier: string;
}

export interface AuthorizeRequest {
  readonly authorizationEndpoint: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  readonly returnTo: string;
}

/** Builds the authorization URL and the pending sign-in to keep until the callback. */
export async function prepareAuthorization(
  request: AuthorizeRequest,
): Promise<{ url: string; pending: PendingSignIn }> {
  const verifier = randomToken();
  const state = encodeState(request.returnTo);
  const url = new URL(request.authorizationEndpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: request.clientId,
    redirect_uri: request.redirectUri,
    scope: request.scopes.join(' '),
    state,
    code_challenge: await codeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  return { url: url.toString(), pending: { state, verifier } };
}
