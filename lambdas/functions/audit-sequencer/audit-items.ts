/**
 * Reading stored audit items where a handler needs one (the stream sequencer): the item layout is
 * the DynamoDB adapter's business, so the handler asks here rather than read the item itself.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { auditEventFromItem } from '../../adapters/aws/dynamodb-audit-sink.js';
import type { RecordedAuditEvent } from '../../core/audit/audit-store.js';

/** The recorded event an event item (plain or as a stream image) holds, or undefined if it holds none. */
export function auditEventOfItem(
  item: Record<string, unknown> | Record<string, AttributeValue>,
  marshalled = false,
): RecordedAuditEvent | undefined {
  const plain = marshalled
    ? unmarshall(item as Record<string, AttributeValue>)
    : (item as Record<string, unknown>);
  if (typeof plain.pk !== 'string' || !plain.pk.endsWith('#events') || typeof plain.expiresAt !== 'number') {
    return undefined;
  }
  try {
    return { event: auditEventFromItem(plain), expiresAt: plain.expiresAt };
  } catch {
    return undefined;
  }
}
