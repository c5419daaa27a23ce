/**
 * The signed-in session: tokens in memory only (never localStorage or sessionStorage), refreshed
 * shortly before they expire. A full page load therefore signs in again through the issuer,
 * which remembers the person (Cognito's Hosted UI session), so it costs a redirect, not a password.
 */
import { z } from 'zod';

import type { DashboardConfig } from '../config/dashboard-config.js';
import { PENDING_SIGN_IN_KEY, type PendingSignIn, prepareAuthorization, returnPathOf } from './pkce.js';

/** Cognito's token endpoint answer (and the local issuer's, which copies it). */
export const TokenResponse = z.object({
  access_token: z.string().min(1),
  id_token: z.string().min(1),
  refresh_token: z.string().min(1).optional(),
  expires_in: z.number().int().positive(),
  token_type: z.literal('Bearer'),
});

export interface Tokens {
  readonly accessToken: string;
  readonly idToken: string;
  readonly refreshToken: string | undefined;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

export class SignInError extends Error {
  override readonly name = 'SignInError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** What the session needs from the browser; tests pass fakes. */
export interface BrowserPort {
  readonly origin: string;
  currentPath(): string;
  assign(url: string): void;
  readonly storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  readonly fetch: typeof fetch;
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export function browserPort(): BrowserPort {
  return {
    origin: window.location.origin,
    currentPath: () => `${window.location.pathname}${window.location.search}${window.location.hash}`,
    assign: (url) => window.location.assign(url),
    storage: window.sessionStorage,
    fetch: (...args) => window.fetch(...args),
    now: () => Date.now(),
    setTimeout: (run, ms) => window.setTimeout(run, ms),
    clearTimeout: (handle) => window.clearTimeout(handle as number),
  };
}

/** Refresh this long before expiry, so a request never leaves with a token about to lapse. */
const REFRESH_AHEAD_MS = 60_000;

export class Session {
  private tokens: Tokens | undefined;
  private refreshTimer: unknown;
  private refreshing: Promise<boolean> | undefined;
  /**
   * Set once the page is leaving (for the issuer or the logout endpoint): a second sign-in would
   * overwrite the first one's verifier and state while the browser follows the first redirect.
   */
  private leaving = false;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly config: DashboardConfig,
    private readonly browser: BrowserPort,
  ) {}

  get redirectUri(): string {
    return `${this.browser.origin}/callback`;
  }

  accessToken(): string | undefined {
    return this.tokens?.accessToken;
  }

  isSignedIn(): boolean {
    return this.tokens !== undefined;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Sends the browser to the issuer; afterwards the callback returns to `returnTo`. */
  async signIn(returnTo: string = this.browser.currentPath()): Promise<void> {
    if (this.leaving) return;
    this.leaving = true;
    const { url, pending } = await prepareAuthorization({
      authorizationEndpoint: this.config.auth.authorizationEndpoint,
      clientId: this.config.auth.clientId,
      redirectUri: this.redirectUri,
      scopes: this.config.auth.scopes,
      returnTo,
    });
    this.browser.storage.setItem(PENDING_SIGN_IN_KEY, JSON.stringify(pending));
    this.browser.assign(url);
  }

  /**
   * Completes the redirect back from the issuer: checks `state`, swaps the code for tokens and
   * answers the path to return to.
   */
  async completeSignIn(query: URLSearchParams): Promise<string> {
    const pending = this.takePending();
    const error = query.get('error');
    if (error !== null) {
      throw new SignInError(`The sign-in was not completed (${error}).`);
    }
    const code = query.get('code');
    const state = query.get('state');
    if (pending === undefined || code === null || state === null || state !== pending.state) {
      throw new SignInError('The sign-in answer does not belong to this browser tab; please sign in again.');
    }
    await this.requestTokens({
      grant_type: 'authorization_code',
      code,
      redirect_uri: this.redirectUri,
      client_id: this.config.auth.clientId,
      code_verifier: pending.verifier,
    });
    return returnPathOf(state);
  }

  /** Refreshes the tokens once, however many callers ask at the same time. */
  refresh(): Promise<boolean> {
    const refreshToken = this.tokens?.refreshToken;
    if (refreshToken === undefined) return Promise.resolve(false);
    this.refreshing ??= this.requestTokens({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: this.config.auth.clientId,
    })
      .then(() => true)
      .catch((_error: unknown) => false)
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /** Drops the tokens; with a logout endpoint (Cognito) the issuer's session ends too. */
  signOut(): void {
    this.leaving = true;
    this.clear();
    const { logoutEndpoint, clientId } = this.config.auth;
    const signedOut = `${this.browser.origin}/signed-out`;
    if (logoutEndpoint === null) {
      this.browser.assign(signedOut);
      return;
    }
    const url = new URL(logoutEndpoint);
    url.search = new URLSearchParams({ client_id: clientId, logout_uri: signedOut }).toString();
    this.browser.assign(url.toString());
  }

  clear(): void {
    this.browser.clearTimeout(this.refreshTimer);
    this.tokens = undefined;
    this.notify();
  }

  private takePending(): PendingSignIn | undefined {
    const raw = this.browser.storage.getItem(PENDING_SIGN_IN_KEY);
    this.browser.storage.removeItem(PENDING_SIGN_IN_KEY);
    if (raw === null) return undefined;
    const parsed = z.object({ state: z.string(), verifier: z.string() }).safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  }

  private async requestTokens(form: Record<string, string>): Promise<void> {
    let response: Response;
    try {
      response = await this.browser.fetch(this.config.auth.tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams(form).toString(),
      });
    } catch (error: unknown) {
      throw new SignInError('The sign-in service could not be reached.', { cause: error });
    }
    if (!response.ok) {
      throw new SignInError(`The sign-in service refused the request (${response.status}).`);
    }
    const parsed = TokenResponse.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) {
      throw new SignInError('The sign-in service answered in an unexpected shape.', { cause: parsed.error });
    }
    const body = parsed.data;
    this.tokens = {
      accessToken: body.access_token,
      idToken: body.id_token,
      // A refresh grant answers without a new refresh token: keep the one we have.
      refreshToken: body.refresh_token ?? this.tokens?.refreshToken,
      expiresAt: this.browser.now() + body.expires_in * 1000,
    };
    this.scheduleRefresh(body.expires_in * 1000);
    this.notify();
  }

  private scheduleRefresh(lifetimeMs: number): void {
    this.browser.clearTimeout(this.refreshTimer);
    if (this.tokens?.refreshToken === undefined) return;
    const delay = Math.max(5_000, lifetimeMs - REFRESH_AHEAD_MS);
    this.refreshTimer = this.browser.setTimeout(() => {
      void this.refresh();
    }, delay);
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
