/**
 * Which key-encryption keys the stored data is wrapped under: the key ids in the secrets table's
 * envelopes and in the settings table's wrapped per-tenant keys (audit HMAC keys). The local
 * runtime compares them with its keyring before it serves, so a lost or stale `keys/` folder is
 * reported at start-up, by key id, instead of surfacing as unreadable secrets later.
 *
 * A full scan, projected to the key id: the local store is one person's data on one machine,
 * and this runs once per start.
 */
import { type DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';

export interface WrappedKeyTables {
  /** Version items carry `envelope.keyId`. */
  readonly secrets: string;
  /** Wrapped per-tenant keys carry `keyId`. */
  readonly settings: string;
}

export async function wrappedKeyIds(
  client: DynamoDBDocumentClient,
  tables: WrappedKeyTables,
): Promise<Set<string>> {
  const ids = new Set<string>();
  const scans: readonly { table: string; projection: string; names: Record<string, string> }[] = [
    {
      table: tables.secrets,
      projection: '#envelope.#keyId',
      names: { '#envelope': 'envelope', '#keyId': 'keyId' },
    },
    { table: tables.settings, projection: '#keyId', names: { '#keyId': 'keyId' } },
  ];
  for (const { table, projection, names } of scans) {
    const pages = paginateScan(
      { client },
      { TableName: table, ProjectionExpression: projection, ExpressionAttributeNames: names },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const envelope: unknown = item.envelope;
        const keyId: unknown =
          typeof envelope === 'object' && envelope !== null && 'keyId' in envelope
            ? envelope.keyId
            : item.keyId;
        if (typeof keyId === 'string') ids.add(keyId);
      }
    }
  }
  return ids;
}
