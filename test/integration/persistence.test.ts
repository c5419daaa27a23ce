/**
 * What the local runtime writes survives a stop and a restart on the same data directory:
 * DynamoDB items (LevelDB), identities and the signing key.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { parseLocalRuntimeConfig } from '../../lambdas/shared/config.js';
import { startLocalRuntime, type LocalRuntime } from '../../lambdas/local/runtime.js';

const silent = { info: () => undefined, error: () => undefined };

function start(dataDir: string): Promise<LocalRuntime> {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  return startLocalRuntime(
    parseLocalRuntimeConfig({ PORT: '0', VAULTPILOT_DATA_DIR: dataDir, VAULTPILOT_SCHEDULER: 'false' }),
    silent,
  );
}

function documentClient(endpoint: string): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    }),
  );
}

async function jwksKid(url: string): Promise<string> {
  const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
  return jwks.keys[0]?.kid ?? '';
}

describe('local runtime persistence', () => {
  it('keeps items, identities and the signing key across stop and restart', async () => {
    // Prepare: a first run writes an item and records the generated admin password.
    const dataDir = mkdtempSync(join(tmpdir(), 'vp-data-'));
    const first = await start(dataDir);
    const password = first.generatedAdminPassword;
    expect(first.adminCreated).toBe(true);
    expect(password).toMatch(/^.{24,}$/);
    const kidBefore = await jwksKid(first.url);
    const writer = documentClient(first.dynamodbEndpoint);
    await writer.send(
      new PutCommand({
        TableName: 'vaultpilot-settings',
        Item: { pk: 'default', sk: 'probe#1', value: 'kept' },
      }),
    );
    writer.destroy();

    // Act: stop (as on SIGTERM) and start again on the same directory.
    await first.stop();
    const second = await start(dataDir);
    try {
      const reader = documentClient(second.dynamodbEndpoint);
      const { Item } = await reader.send(
        new GetCommand({ TableName: 'vaultpilot-settings', Key: { pk: 'default', sk: 'probe#1' } }),
      );
      reader.destroy();
      const loginResponse = await fetch(`${second.url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password }),
      });

      // Assess
      expect(Item).toEqual({ pk: 'default', sk: 'probe#1', value: 'kept' });
      expect(second.adminCreated).toBe(false);
      expect(second.generatedAdminPassword).toBeUndefined();
      expect(second.createdTables).toEqual([]);
      expect(loginResponse.status).toBe(200);
      expect(await jwksKid(second.url)).toBe(kidBefore);
    } finally {
      await second.stop();
    }
  });

  it('refuses a second runtime on a data directory in use', async () => {
    // Prepare
    const dataDir = mkdtempSync(join(tmpdir(), 'vp-data-'));
    const first = await start(dataDir);
    try {
      // Act / Assess
      await expect(start(dataDir)).rejects.toThrow(/in use by another VaultPilot process/);
    } finally {
      await first.stop();
    }
  });
});
