/**
 * A small, bounded LRU cache of unwrapped data keys that keeps hot secret reads off the keyring
 * (KMS). Every bound limits how long and how much a key lives in memory after it was unwrapped:
 * `maxEntries`, `maxAgeMs` since the unwrap, and `maxUses` decryptions per unwrap. A key leaving
 * the cache for any reason is zeroized.
 *
 * Keys are lent to a synchronous callback (`use`) rather than returned, so a key can be zeroized
 * the moment its last permitted use ends, without a caller still holding it.
 */
import { type Clock, systemClock } from '../ports.js';

export interface DataKeyCacheOptions {
  /** Most keys held at once; the least recently used goes first. 0 disables caching. */
  readonly maxEntries?: number;
  /** How long after its unwrap a key may serve reads. */
  readonly maxAgeMs?: number;
  /** How many decryptions one unwrap may serve, the one that unwrapped it included. */
  readonly maxUses?: number;
  readonly clock?: Clock;
}

export interface DataKeyCacheStats {
  readonly hits: number;
  readonly misses: number;
  /** Keys removed and zeroized, whatever the reason (capacity, age, uses, replacement, clear). */
  readonly evictions: number;
  readonly size: number;
}

export const DEFAULT_DATA_KEY_CACHE = { maxEntries: 1000, maxAgeMs: 5 * 60_000, maxUses: 10_000 } as const;

interface Entry {
  readonly key: Buffer;
  readonly unwrappedAt: number;
  uses: number;
  /** When it was last used, in this cache's own count of uses: the least recent goes first. */
  lastUse: number;
}

export class DataKeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly maxAgeMs: number;
  private readonly maxUses: number;
  private readonly clock: Clock;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  /** Counts hits and additions, to order entries by recency without reordering the Map. */
  private tick = 0;

  constructor(options: DataKeyCacheOptions = {}) {
    this.maxEntries = bound('maxEntries', options.maxEntries ?? DEFAULT_DATA_KEY_CACHE.maxEntries, 0);
    this.maxAgeMs = bound('maxAgeMs', options.maxAgeMs ?? DEFAULT_DATA_KEY_CACHE.maxAgeMs, 1);
    this.maxUses = bound('maxUses', options.maxUses ?? DEFAULT_DATA_KEY_CACHE.maxUses, 1);
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Runs `use` with the cached key for `id`, if a live one exists, and returns its result. The
   * key must not escape the (synchronous) callback: it may be zeroized as soon as it returns.
   */
  use<T>(id: string, use: (key: Buffer) => T): { readonly value: T } | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined || !this.isLive(entry)) {
      if (entry !== undefined) this.evict(id, entry);
      this.misses += 1;
      return undefined;
    }
    this.hits += 1;
    entry.uses += 1;
    // A hit only stamps the entry: the hot path is one Map lookup. The least recently used is
    // found by a scan when an addition needs room, which only a miss (a keyring call) causes.
    this.tick += 1;
    entry.lastUse = this.tick;
    try {
      return { value: use(entry.key) };
    } finally {
      if (entry.uses >= this.maxUses) this.evict(id, entry);
    }
  }

  /**
   * Takes ownership of a key the caller has just unwrapped and used once: caches it, or zeroizes
   * it at once when the bounds leave no room for a second use.
   */
  add(id: string, key: Buffer): void {
    if (this.maxEntries === 0 || this.maxUses <= 1) {
      key.fill(0);
      return;
    }
    const previous = this.entries.get(id);
    // Two concurrent misses of one envelope both unwrap; the later key replaces the earlier one.
    if (previous !== undefined && previous.key !== key) this.evict(id, previous);
    this.sweepExpired();
    while (this.entries.size >= this.maxEntries) this.evictLeastRecentlyUsed();
    this.tick += 1;
    this.entries.set(id, { key, unwrappedAt: this.clock.now().getTime(), uses: 1, lastUse: this.tick });
  }

  /** Zeroizes and drops every key (shutdown, tests). */
  clear(): void {
    for (const [id, entry] of this.entries) this.evict(id, entry);
  }

  stats(): DataKeyCacheStats {
    return { hits: this.hits, misses: this.misses, evictions: this.evictions, size: this.entries.size };
  }

  private isLive(entry: Entry): boolean {
    return entry.uses < this.maxUses && this.clock.now().getTime() - entry.unwrappedAt < this.maxAgeMs;
  }

  /** Expired keys must not linger in memory just because nobody asks for them again. */
  private sweepExpired(): void {
    for (const [id, entry] of this.entries) {
      if (!this.isLive(entry)) this.evict(id, entry);
    }
  }

  private evictLeastRecentlyUsed(): void {
    let oldestId: string | undefined;
    let oldest: Entry | undefined;
    for (const [id, entry] of this.entries) {
      if (oldest === undefined || entry.lastUse < oldest.lastUse) {
        oldestId = id;
        oldest = entry;
      }
    }
    if (oldestId !== undefined && oldest !== undefined) this.evict(oldestId, oldest);
  }

  private evict(id: string, entry: Entry): void {
    if (this.entries.get(id) === entry) this.entries.delete(id);
    entry.key.fill(0);
    this.evictions += 1;
  }
}

function bound(name: string, value: number, minimum: number): number {
  if (!Number.isInteger(value) || value < minimum) {
    throw new RangeError(`DataKeyCache ${name} must be an integer of at least ${minimum}, got ${value}`);
  }
  return value;
}
