/** Facts about a credential that several finding rules read: ages, key kinds, use and expiry. */
import type { RuleSubject } from './finding-rule.js';

const DAY_MS = 86_400_000;

export function elapsedDays(since: string | undefined, now: Date): number | undefined {
  if (since === undefined) return undefined;
  const time = Date.parse(since);
  return Number.isNaN(time) ? undefined : (now.getTime() - time) / DAY_MS;
}

/** True when more than `limit` days passed since `since` (an unknown time never qualifies). */
export function olderThan(since: string | undefined, limit: number, now: Date): boolean {
  const elapsed = elapsedDays(since, now);
  return elapsed !== undefined && elapsed > limit;
}

export function isRootKey(c: RuleSubject): boolean {
  return c.type === 'aws-iam-access-key' && c.facts.root === true;
}

/** An IAM user's access key that is active (inactive keys cannot be used, so they are not judged). */
export function isActiveUserKey(c: RuleSubject): boolean {
  return c.type === 'aws-iam-access-key' && !isRootKey(c) && c.facts.keyStatus === 'Active';
}

/** Days without use, counted from the last use or, for a key never used, from its creation. */
export function unusedLongerThan(c: RuleSubject, limit: number, now: Date): boolean {
  if (!c.usageTracked) return false;
  return olderThan(c.lastUsedAt ?? c.createdAt, limit, now);
}

export function expiresWithin(c: RuleSubject, windowDays: number, now: Date): boolean {
  if (c.expiresAt === undefined) return false;
  const left = (Date.parse(c.expiresAt) - now.getTime()) / DAY_MS;
  return !Number.isNaN(left) && left > 0 && left <= windowDays;
}

export function isExpired(c: RuleSubject, now: Date): boolean {
  return c.expiresAt !== undefined && Date.parse(c.expiresAt) <= now.getTime();
}
