/**
 * The one place that builds clients and adapters. Created once per process (module scope, so a
 * warm Lambda reuses it) from the validated configuration; tests and the local runtime reset it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CognitoTokenVerifier } from '../adapters/aws/cognito-token-verifier.js';
import { LocalTokenVerifier } from '../adapters/local/local-token-verifier.js';
import { DynamoDbMachineClientDirectory } from '../adapters/aws/dynamodb-machine-client-directory.js';
import type { MachineClientDirectory, TokenVerifier } from '../core/ports.js';
import {
  type AuthConfig,
  ConfigError,
  functionConfig,
  type FunctionConfig,
  requireAuthConfig,
  resetFunctionConfig,
} from './config.js';
import { TABLE_SPECS, type TableId } from './tables.js';

export interface Container {
  readonly config: FunctionConfig;
  /** Built on first use, so functions that verify no tokens need no auth settings. */
  tokenVerifier(): TokenVerifier;
  /** The app client ids users sign in through (ID tokens and user access tokens). */
  userClientIds(): readonly string[];
  readonly dynamodb: DynamoDBDocumentClient;
  /** Needs the settings table; only the pre-token-generation trigger uses it. */
  machineClients(): MachineClientDirectory;
}

function buildDynamoDb(config: FunctionConfig): DynamoDBDocumentClient {
  const client = new DynamoDBClient(
    config.dynamodbEndpoint === undefined
      ? { region: config.region }
      : {
          region: config.region,
          endpoint: config.dynamodbEndpoint,
          // dynalite ignores signatures; fixed credentials keep real ones off loopback traffic.
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        },
  );
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

function buildTokenVerifier(auth: AuthConfig): TokenVerifier {
  return auth.mode === 'cognito'
    ? new CognitoTokenVerifier(auth.userPoolId)
    : new LocalTokenVerifier(auth.issuer, auth.jwksUri);
}

function requireTable(config: FunctionConfig, id: TableId): string {
  const name = config.tables[id];
  if (name === undefined) {
    throw new ConfigError(`Invalid configuration:\n  ${TABLE_SPECS[id].envVar}: required by this function`, [
      { variable: TABLE_SPECS[id].envVar, expected: 'the physical table name' },
    ]);
  }
  return name;
}

let current: Container | undefined;

export function container(): Container {
  if (current === undefined) {
    const config = functionConfig();
    const dynamodb = buildDynamoDb(config);
    let verifier: TokenVerifier | undefined;
    current = {
      config,
      tokenVerifier: () => (verifier ??= buildTokenVerifier(requireAuthConfig(config))),
      userClientIds: () => requireAuthConfig(config).userClientIds,
      dynamodb,
      machineClients: () => new DynamoDbMachineClientDirectory(dynamodb, requireTable(config, 'settings')),
    };
  }
  return current;
}

/** Drops the container and configuration, so the next call reads the environment again. */
export function resetContainer(): void {
  current?.dynamodb.destroy();
  current = undefined;
  resetFunctionConfig();
}
