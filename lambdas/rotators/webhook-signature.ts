/**
 * Signatures of the webhook rotation contract (docs/webhook-rotation.md). A request is signed over
 * `<timestamp>.<body>`; the answer over `<request timestamp>.<idempotency key>.<answer body>`, so
 * an answer cannot be replayed for another request. Both are HMAC-SHA256 with the credential's
 * signing key, hex, sent as `v1=<hex>`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'vaultpilot-signature';
export const TIMESTAMP_HEADER = 'vaultpilot-timestamp';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

function hmacHex(key: string, message: string): string {
  return createHmac('sha256', key).update(message, 'utf8').digest('hex');
}

export function signRequest(key: string, timestamp: number, body: string): string {
  return `v1=${hmacHex(key, `${timestamp}.${body}`)}`;
}

export function signAnswer(key: string, timestamp: number, idempotencyKey: string, body: string): string {
  return `v1=${hmacHex(key, `${timestamp}.${idempotencyKey}.${body}`)}`;
}

/** Whether `header` is `expected`, compared in constant time. */
export function sameSignature(header: string | null | undefined, expected: string): boolean {
  if (typeof header !== 'string') return false;
  const left = Buffer.from(header);
  const right = Buffer.from(expected);
  return left.length === right.length && timingSafeEqual(left, right);
}
