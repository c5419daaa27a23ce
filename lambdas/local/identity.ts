/**
 * The local identity provider: stands in for the Cognito user pool when VaultPilot runs with no
 * AWS account. It signs users in (`passwordLogin`) and machine clients (`clientCredentials`) and
 * mints RS256 tokens with Cognito's claims, which the API verifies with aws-jwt-verify exactly as
 * it verifies Cognito's, against the JWKS served at `/.well-known/jwks.json`.
 *
 * Failed sign-ins are limited per source and account without locking the owner out
 * (`SignInGuard`), and password hashing runs through a bounded gate (`HashingGate`), so neither
 * guessing nor a flood of sign-ins can keep people out or starve the rest of the server.
 */
import { randomUUID } from 'node:crypto';
import { UnauthorizedError } from '../core/errors.js';
import type { Role } from '../core/principal.js';
import { ALL_SCOPES, COGNITO_USER_SCOPE } from '../shared/scopes.js';
import { defaultHashingLimits, HashingGate, type HashingLimits, type HashingStats } from './hashing-gate.js';
import { DEFAULT_SIGN_IN_POLICY, SignInGuard, type SignInPolicy } from './sign-in-guard.js';
import {
  IdentityStore,
  type ClientSummary,
  type FileLockTiming,
  type NewClientInput,
  type NewUserInput,
  type ScryptCost,
  type UserSummary,
} from './identity-store.js';
import { JwtSigningKey, type Jwks } from './jwt-signer.js';

export { LocalStateError } from './local-state-error.js';
export type {
  ClientSummary,
  NewClientInput,
  NewUserInput,
  ScryptCost,
  UserSummary,
} from './identity-store.js';
export type { Jwks, PublicJwk } from './jwt-signer.js';
export type { HashingLimits, HashingStats } from './hashing-gate.js';
export type { SignInPolicy } from './sign-in-guard.js';

/** Error codes of the OAuth 2.0 token endpoint (RFC 6749 §5.2) that Cognito answers with. */
export type OAuth2ErrorCode =
  'invalid_request' | 'invalid_client' | 'invalid_scope' | 'unsupported_grant_type';

/** A token-endpoint failure, answered in OAuth 2.0's error shape rather than the API's. */
export class OAuth2Error extends Error {
  constructor(
    readonly error: OAuth2ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OAuth2Error';
  }
}

export interface LocalIdentityProviderOptions {
  /** undefined keeps keys and identities in memory: nothing is written to disk. */
  readonly dataDir: string | undefined;
  /** The `iss` of every token, e.g. http://127.0.0.1:3000. */
  readonly issuer: string;
  readonly tokenTtlSeconds: number;
  /** The dashboard's app client id: `aud` of ID tokens, `client_id` of user access tokens. */
  readonly userClientId: string;
  /** Defaults to the secure cost; tests lower it to stay fast. */
  readonly scryptCost?: ScryptCost;
  /** Limits on failed sign-ins (user passwords and client secrets alike). */
  readonly signInPolicy?: SignInPolicy;
  /** Bounds on concurrent password hashing. */
  readonly hashing?: HashingLimits;
  readonly lockTiming?: FileLockTiming;
  /** Milliseconds since the epoch; injectable so the sign-in delays can be tested. */
  readonly clock?: () => number;
}

export interface UserTokens {
  /** The user's `sub`: what a refresh token of the code flow is bound to (oauth-authorize.ts). */
  readonly subject: string;
  readonly accessToken: string;
  readonly idToken: string;
  readonly expiresIn: number;
  readonly tokenType: 'Bearer';
}

export interface ClientTokens {
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly tokenType: 'Bearer';
  /** The scopes granted, space-separated. */
  readonly scope: string;
}

/** The scope of user access tokens: what Cognito grants on sign-in, plus ours (users are authorized by group). */
export const USER_ACCESS_SCOPE = [COGNITO_USER_SCOPE, ...ALL_SCOPES].join(' ');

/** The source of callers that do not say where a request came from (the CLI, old call sites). */
const UNKNOWN_SOURCE = 'unknown';

export class LocalIdentityProvider {
  readonly issuer: string;
  private readonly guard: SignInGuard;

  private constructor(
    private readonly options: LocalIdentityProviderOptions,
    private readonly key: JwtSigningKey,
    private readonly store: IdentityStore,
    private readonly hashing: HashingGate,
  ) {
    this.issuer = options.issuer;
    this.guard = new SignInGuard(options.signInPolicy ?? DEFAULT_SIGN_IN_POLICY, this.clock);
  }

  /**
   * Loads (or on first start creates) the signing key and opens the identity store. A corrupt or
   * unreadable key or store file fails with a `LocalStateError` naming the file.
   */
  static async open(options: LocalIdentityProviderOptions): Promise<LocalIdentityProvider> {
    const key =
      options.dataDir === undefined
        ? await JwtSigningKey.generate()
        : await JwtSigningKey.openOrCreate(options.dataDir);
    const hashing = new HashingGate(options.hashing ?? defaultHashingLimits());
    const store = await IdentityStore.open({
      dataDir: options.dataDir,
      hashing,
      ...(options.scryptCost === undefined ? {} : { scryptCost: options.scryptCost }),
      ...(options.lockTiming === undefined ? {} : { lockTiming: options.lockTiming }),
    });
    await store.prepareVerification();
    return new LocalIdentityProvider(options, key, store, hashing);
  }

  /** How busy password hashing is (and has been): for tests and diagnostics. */
  hashingStats(): HashingStats {
    return this.hashing.stats();
  }

  /** The public keys, for `/.well-known/jwks.json`. */
  jwks(): Jwks {
    return this.key.jwks();
  }

  ensureAdmin(passwordFromEnv?: string): Promise<{ created: boolean; generatedPassword?: string }> {
    return this.store.ensureAdmin(passwordFromEnv);
  }

  addUser(user: NewUserInput): Promise<UserSummary> {
    return this.store.addUser(user);
  }

  async addClient(client: NewClientInput): Promise<{ clientId: string; clientSecret: string }> {
    const { clientId, clientSecret } = await this.store.addClient(client);
    return { clientId, clientSecret };
  }

  listUsers(): Promise<UserSummary[]> {
    return this.store.listUsers();
  }

  listClients(): Promise<ClientSummary[]> {
    return this.store.listClients();
  }

  /**
   * Signs a user in. A wrong password and an unknown username fail alike (same error, same
   * work). `source` is the client address the server sees; too many failures slow that source
   * down (TooManyRequestsError with the seconds to wait) without refusing the owner elsewhere.
   */
  async passwordLogin(username: string, password: string, source = UNKNOWN_SOURCE): Promise<UserTokens> {
    const user = await this.guarded(source, `user:${username.toLowerCase()}`, () =>
      this.store.authenticateUser(username, password),
    );
    if (user === undefined) throw new UnauthorizedError('Invalid username or password');
    return this.userTokens(user);
  }

  /**
   * New tokens for a user who signed in earlier (the refresh-token grant of the dashboard's code
   * flow): read again from the store, so a removed user gets none and changed groups apply.
   */
  async reissueUserTokens(subject: string): Promise<UserTokens | undefined> {
    const user = (await this.store.listUsers()).find((candidate) => candidate.sub === subject);
    return user === undefined ? undefined : this.userTokens(user);
  }

  private userTokens(user: Pick<UserSummary, 'sub' | 'username' | 'tenant' | 'groups'>): UserTokens {
    const now = this.nowSeconds();
    const ttl = this.options.tokenTtlSeconds;
    // One sign-in event: both tokens share origin_jti and event_id, as Cognito's do.
    const session = {
      origin_jti: randomUUID(),
      event_id: randomUUID(),
      auth_time: now,
      iat: now,
      exp: now + ttl,
    };
    const groups: readonly Role[] = user.groups;
    const idToken = this.key.sign({
      sub: user.sub,
      'cognito:groups': groups,
      iss: this.issuer,
      'cognito:username': user.username,
      'custom:tenant': user.tenant,
      aud: this.options.userClientId,
      token_use: 'id',
      jti: randomUUID(),
      ...session,
    });
    const accessToken = this.key.sign({
      sub: user.sub,
      'cognito:groups': groups,
      iss: this.issuer,
      client_id: this.options.userClientId,
      token_use: 'access',
      scope: USER_ACCESS_SCOPE,
      // In AWS our pre-token-generation trigger adds this claim to access tokens.
      'custom:tenant': user.tenant,
      username: user.username,
      jti: randomUUID(),
      version: 2,
      ...session,
    });
    return { subject: user.sub, accessToken, idToken, expiresIn: ttl, tokenType: 'Bearer' };
  }

  /**
   * The OAuth 2.0 client-credentials grant. `requestedScopes` must be a subset of the client's
   * scopes (`invalid_scope` otherwise); none requested means all it was granted.
   */
  async clientCredentials(
    clientId: string,
    clientSecret: string,
    requestedScopes?: readonly string[],
    source = UNKNOWN_SOURCE,
  ): Promise<ClientTokens> {
    const client = await this.guarded(source, `client:${clientId}`, () =>
      this.store.authenticateClient(clientId, clientSecret),
    );
    if (client === undefined) throw new OAuth2Error('invalid_client', 'Client authentication failed');

    const requested =
      requestedScopes === undefined || requestedScopes.length === 0 ? client.scopes : requestedScopes;
    const ungranted = requested.filter((scope) => !client.scopes.includes(scope));
    if (ungranted.length > 0) {
      throw new OAuth2Error('invalid_scope', `Scope not granted to this client: ${ungranted.join(' ')}`);
    }
    const scope = [...new Set(requested)].join(' ');
    const now = this.nowSeconds();
    const ttl = this.options.tokenTtlSeconds;
    const accessToken = this.key.sign({
      sub: client.clientId,
      token_use: 'access',
      scope,
      auth_time: now,
      iss: this.issuer,
      exp: now + ttl,
      iat: now,
      version: 2,
      jti: randomUUID(),
      client_id: client.clientId,
      // In AWS our pre-token-generation trigger adds this from the machine client directory.
      'custom:tenant': client.tenant,
    });
    return { accessToken, expiresIn: ttl, tokenType: 'Bearer', scope };
  }

  private readonly clock = (): number => (this.options.clock ?? Date.now)();

  private nowSeconds(): number {
    return Math.floor(this.clock() / 1000);
  }

  /** Runs one credential check under the sign-in limits, recording its outcome. */
  private async guarded<T>(
    source: string,
    account: string,
    check: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const attempt = this.guard.begin(source, account);
    let result: T | undefined;
    try {
      result = await check();
    } catch (error: unknown) {
      // Busy hashing or unreadable storage says nothing about the password.
      attempt.abandoned();
      throw error;
    }
    if (result === undefined) attempt.failed();
    else attempt.succeeded();
    return result;
  }
}
