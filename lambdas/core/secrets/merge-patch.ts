/**
 * JSON merge patch (RFC 7396) of a secret value, as Vault's KV v2 `PATCH` applies it: a field set
 * to a string takes that value, a field set to null is removed, fields not named stay. Values are
 * flat objects of strings, so there is nothing to merge deeper.
 */
import type { SecretData } from './kv-service.js';

export type SecretDataPatch = Readonly<Record<string, string | null>>;

export function mergeSecretData(current: SecretData, patch: SecretDataPatch): SecretData {
  const merged: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [field, value] of Object.entries(current)) merged[field] = value;
  for (const [field, value] of Object.entries(patch)) {
    if (value === null) delete merged[field];
    else merged[field] = value;
  }
  return { ...merged };
}
