import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { MachineClientDirectory } from '../../core/ports.js';

/**
 * Machine client → tenant, in the settings table under `pk = machine-client#<clientId>`,
 * `sk = tenant`. This is the one key that does not start with a tenant: it is the reverse
 * lookup Cognito itself cannot hold, read only by the pre-token-generation trigger.
 */
export class DynamoDbMachineClientDirectory implements MachineClientDirectory {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  static key(clientId: string): { pk: string; sk: string } {
    return { pk: `machine-client#${clientId}`, sk: 'tenant' };
  }

  async tenantOf(clientId: string): Promise<string | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: DynamoDbMachineClientDirectory.key(clientId),
        ConsistentRead: true,
      }),
    );
    const tenant: unknown = Item?.tenant;
    return typeof tenant === 'string' ? tenant : undefined;
  }
}
