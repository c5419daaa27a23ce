/**
 * HMACs of sensitive identifiers, keyed per tenant, as Vault's audit devices hash what they must
 * not store in the clear (ADR 0004, "Sensitive identifiers"). An event refers to such a value by
 * `hmac-sha256:<hex>`; an auditor who holds a candidate value asks `POST /audit/hash` for its
 * HMAC and compares. A value's HMAC differs between tenants, so logs cannot be joined across them.
 *
 * Each tenant's key is 32 random bytes from the keyring (`generateDataKey`: KMS in AWS, the local
 * key-encryption key locally), stored only wrapped, in the settings table, under an encryption
 * context no secret version can have (`@` never starts a secret path). The first writer's key
 * wins (a conditional put); unwrapped keys are kept in memory for a few minutes.
 */
import { createHmac } from 'node:crypto';
import type { Clock } from '../ports.js';
import type { EncryptionContext, Keyring } from '../secrets/keyring.js';

export const HMAC_PREFIX = 'hmac-sha256:';
export const HMAC_PATTERN = /^hmac-sha256:[0-9a-f]{64}$/;

/** The wrapped per-tenant key as stored. */
export interface WrappedTenantKey {
  readonly wrapped: Buffer;
  readonly keyId: string;
}

/** Where wrapped per-tenant keys are kept (the settings table). */
export interface TenantKeyStore {
  getKey(tenant: string): Promise<WrappedTenantKey | undefined>;
  /** Stores `key` unless the tenant has one already; false when another writer was first. */
  putKeyIfAbsent(tenant: string, key: WrappedTenantKey): Promise<boolean>;
}

export interface AuditIdentifierHasherOptions {
  /** How long an unwrapped key is reused before the keyring is asked again. */
  readonly cacheMs?: number;
  readonly clock: Clock;
}

function contextOf(tenant: string): EncryptionContext {
  return { tenant, path: '@audit/hmac-key', version: '1' };
}

export class AuditIdentifierHasher {
  private readonly cache = new Map<string, { readonly key: Buffer; readonly until: number }>();
  private readonly cacheMs: number;
  private readonly clock: Clock;

  constructor(
    private readonly keyring: Keyring,
    private readonly keys: TenantKeyStore,
    options: AuditIdentifierHasherOptions,
  ) {
    this.cacheMs = options.cacheMs ?? 5 * 60_000;
    this.clock = options.clock;
  }

  /** `hmac-sha256:<hex>` of `value` under the tenant's key (created on first use). */
  async hmac(tenant: string, value: string): Promise<string> {
    const key = await this.keyOf(tenant);
    return `${HMAC_PREFIX}${createHmac('sha256', key).update(value, 'utf8').digest('hex')}`;
  }

  private async keyOf(tenant: string): Promise<Buffer> {
    const now = this.clock.now().getTime();
    const cached = this.cache.get(tenant);
    if (cached !== undefined && cached.until > now) return cached.key;
    if (cached !== undefined) {
      cached.key.fill(0);
      this.cache.delete(tenant);
    }
    const key = await this.loadOrCreate(tenant);
    // A bounded cache: a process serves few tenants, but never lets it grow without limit.
    if (this.cache.size >= 1_000) {
      const [oldest] = this.cache.keys();
      if (oldest !== undefined) {
        this.cache.get(oldest)?.key.fill(0);
        this.cache.delete(oldest);
      }
    }
    this.cache.set(tenant, { key, until: now + this.cacheMs });
    return key;
  }

  private async loadOrCreate(tenant: string): Promise<Buffer> {
    const stored = await this.keys.getKey(tenant);
    if (stored !== undefined)
      return this.keyring.unwrapDataKey(stored.wrapped, stored.keyId, contextOf(tenant));
    const fresh = await this.keyring.generateDataKey(contextOf(tenant));
    if (await this.keys.putKeyIfAbsent(tenant, { wrapped: fresh.wrapped, keyId: fresh.keyId }))
      return fresh.plaintext;
    // Another process created the tenant's key at the same moment: use theirs.
    fresh.plaintext.fill(0);
    const winner = await this.keys.getKey(tenant);
    if (winner === undefined) throw new Error(`The HMAC key of tenant ${tenant} vanished after a conflict`);
    return this.keyring.unwrapDataKey(winner.wrapped, winner.keyId, contextOf(tenant));
  }
}
