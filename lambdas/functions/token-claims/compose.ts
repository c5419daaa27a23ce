/** The pre-token-generation trigger: the machine client directory (one item of the settings table). */
import { DynamoDbMachineClientDirectory } from '../../adapters/aws/dynamodb-machine-client-directory.js';
import { coldStart } from '../../platform/cold-start.js';
import { documentClient, tableName } from '../../platform/parts/dynamodb.js';
import { manifest } from './manifest.js';

export const tokenClaims = coldStart(manifest, (start) => ({
  machineClients: new DynamoDbMachineClientDirectory(
    documentClient(start),
    tableName(start.config, 'settings'),
  ),
}));
