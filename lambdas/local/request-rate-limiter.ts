/**
 * Per-client and per-tenant request rate limits of the local API (issue 11, item 4): token
 * buckets keyed by the verified access token's subject (a user's `sub`, a machine client's id)
 * and its tenant. A request is charged only once its token has verified against the local
 * issuer's keys, so nobody can spend another client's budget by sending made-up tokens; requests
 * without a valid token are left to the handler, which answers 401.
 *
 * In AWS the same intent is served by API Gateway stage throttling and a WAF rate-based rule keyed
 * on the Authorization header (lib/api-web-acl.ts).
 */
import { JwtVerifier } from 'aws-jwt-verify';
import { VerifiedTokenMemory } from '../adapters/local/local-token-verifier.js';
import { TooManyRequestsError } from '../core/errors.js';
import type { Jwks } from './jwt-signer.js';

export interface BucketLimit {
  /** Sustained requests per second; 0 turns the limit off. */
  readonly ratePerSecond: number;
  /** Requests allowed in a burst above the rate. */
  readonly burst: number;
}

export interface RateLimitPolicy {
  readonly client: BucketLimit;
  readonly tenant: BucketLimit;
}

/** Bounds the memory distinct subjects and tenants can make the buckets use. */
const MAX_BUCKETS = 10_000;

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Token buckets, refilled lazily on use; an idle full bucket is dropped. */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: BucketLimit,
    private readonly clock: () => number,
  ) {}

  /** Seconds until `key` may send again (0: admitted now, and one token is spent). */
  take(key: string): number {
    if (this.limit.ratePerSecond <= 0) return 0;
    const now = this.clock();
    const bucket = this.buckets.get(key) ?? { tokens: this.limit.burst, updatedAt: now };
    bucket.tokens = Math.min(
      this.limit.burst,
      bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.limit.ratePerSecond,
    );
    bucket.updatedAt = now;
    if (!this.buckets.has(key)) this.makeRoom();
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.limit.ratePerSecond));
  }

  private makeRoom(): void {
    // Evicting the least recently inserted bucket only ever gives that key a fresh (full) bucket.
    while (this.buckets.size >= MAX_BUCKETS) {
      const oldest = this.buckets.keys().next();
      if (oldest.done === true) break;
      this.buckets.delete(oldest.value);
    }
  }
}

type Headers = Readonly<Record<string, string | undefined>>;

export class RequestRateLimiter {
  private readonly clients: TokenBuckets;
  private readonly tenants: TokenBuckets;
  private readonly verifier;
  private readonly memory: VerifiedTokenMemory;
  /** Both limits off: no request is charged, so no token needs checking. */
  private readonly off: boolean;

  constructor(policy: RateLimitPolicy, issuer: string, jwks: Jwks, clock: () => number = () => Date.now()) {
    this.clients = new TokenBuckets(policy.client, clock);
    this.tenants = new TokenBuckets(policy.tenant, clock);
    this.verifier = JwtVerifier.create({ issuer, audience: null });
    this.verifier.cacheJwks(jwks as Parameters<typeof this.verifier.cacheJwks>[0]);
    // A client sends the same token with each request: its RS256 check is made once.
    this.memory = new VerifiedTokenMemory(clock);
    this.off = policy.client.ratePerSecond <= 0 && policy.tenant.ratePerSecond <= 0;
  }

  /** Charges the request to its verified subject and tenant; throws TooManyRequestsError when either is spent. */
  admit(headers: Headers): void {
    if (this.off) return;
    // Vault's clients send the same access token in X-Vault-Token (docs/vault-api.md).
    const vaultToken = headers['x-vault-token']?.trim();
    const claims = this.verifiedClaims(
      vaultToken === undefined || vaultToken === '' ? headers.authorization : `Bearer ${vaultToken}`,
    );
    if (claims === undefined) return;
    const subject = typeof claims.sub === 'string' ? claims.sub : undefined;
    const tenant = typeof claims['custom:tenant'] === 'string' ? claims['custom:tenant'] : undefined;
    if (subject !== undefined) {
      const wait = this.clients.take(subject);
      if (wait > 0) throw limited('this client', wait);
    }
    if (tenant !== undefined) {
      const wait = this.tenants.take(tenant);
      if (wait > 0) throw limited('this tenant', wait);
    }
  }

  private verifiedClaims(authorization: string | undefined): Record<string, unknown> | undefined {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (match?.[1] === undefined) return undefined;
    const token = match[1];
    const known = this.memory.recall(token);
    if (known !== undefined) return known;
    try {
      const claims = this.verifier.verifySync(token) as Record<string, unknown>;
      // Tokens without an expiry are not the local issuer's; the handler refuses them too.
      if (typeof claims.exp !== 'number') return undefined;
      this.memory.remember(token, claims);
      return claims;
    } catch {
      // Not a valid token of this issuer: not charged to anyone; the handler answers 401.
      return undefined;
    }
  }
}

function limited(who: string, seconds: number): TooManyRequestsError {
  return new TooManyRequestsError(`Too many requests from ${who}; try again in ${seconds} seconds`, seconds);
}
