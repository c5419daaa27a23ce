/**
 * The `vaultpilot audit` commands on a persisted data directory (server stopped), the hourly
 * digest engine in the local runtime, and the upgrade of an audit table from an older data
 * directory (dynalite cannot add indexes to a table, so it is rebuilt).
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, runCli } from '../../lambdas/local/cli.js';
import { ensureTables, startLocalDynamo, waitUntilActive } from '../../lambdas/local/dynamo.js';
import { ENGINE_HANDLERS } from '../../lambdas/local/handler-registry.js';
import { lambdaContext } from '../../lambdas/local/lambda-context.js';
import { startLocalRuntime } from '../../lambdas/local/runtime.js';
import { parseLocalRuntimeConfig } from '../../lambdas/shared/config.js';
import { localTableName, TABLE_LIST, TABLE_SPECS } from '../../lambdas/shared/tables.js';
import { auditEvent } from '../support/audit-chain.js';

const PASSWORD = 'integration-password-123';

function cliIo(cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      stdin: (async function* () {})(),
      stdout: { write: (chunk: string) => out.push(chunk) },
      stderr: { write: (chunk: string) => err.push(chunk) },
      env: { VAULTPILOT_DATA_DIR: join(cwd, 'data') },
      cwd,
    },
  };
}

describe('vaultpilot audit on a data directory', () => {
  it('signs digests hourly, then verifies and exports the chain with the server stopped', async () => {
    // Prepare: a persisted runtime with some activity, and one run of the digest engine.
    const cwd = await mkdtemp(join(tmpdir(), 'vaultpilot-audit-cli-'));
    const runtime = await startLocalRuntime(
      parseLocalRuntimeConfig({
        PORT: '0',
        VAULTPILOT_DATA_DIR: join(cwd, 'data'),
        VAULTPILOT_SCHEDULER: 'false',
        VAULTPILOT_ADMIN_PASSWORD: PASSWORD,
        VAULTPILOT_LOG_FORMAT: 'json',
        POWERTOOLS_LOG_LEVEL: 'ERROR',
      }),
      { info: () => undefined, error: () => undefined },
    );
    const token = (
      (await (
        await fetch(`${runtime.url}/auth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'admin', password: PASSWORD }),
        })
      ).json()) as { accessToken: string }
    ).accessToken;
    for (let i = 0; i < 5; i += 1) {
      await fetch(`${runtime.url}/secrets/data/app/key`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ data: { v: String(i) } }),
      });
    }
    const engine = await ENGINE_HANDLERS.auditDigest();
    const scheduled = {
      version: '0',
      id: '5c1f9f5e-0000-4000-8000-000000000001',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [],
      detail: {},
    };
    // With less time left than the engine keeps for itself, a run signs nothing and says so.
    const late = await engine(scheduled, lambdaContext('vaultpilot-local-audit-digest', 20, 'us-east-1'));
    const summary = await engine(scheduled, lambdaContext('vaultpilot-local-audit-digest', 120, 'us-east-1'));
    const idle = await engine(scheduled, lambdaContext('vaultpilot-local-audit-digest', 120, 'us-east-1'));
    const served = await (
      await fetch(`${runtime.url}/audit/public-key`, { headers: { authorization: `Bearer ${token}` } })
    ).text();
    await runtime.stop();

    // Act
    const verify = cliIo(cwd);
    const verified = await runCli(['audit', 'verify', '--tenant', 'default'], verify.io);
    const exporting = cliIo(cwd);
    const exported = await runCli(
      ['audit', 'export', '--tenant', 'default', '--out', 'audit.ndjson'],
      exporting.io,
    );
    const key = cliIo(cwd);
    await runCli(['audit', 'public-key'], key.io);
    await (await import('node:fs/promises')).writeFile(join(cwd, 'key.pem'), key.out.join(''));
    const offline = cliIo(cwd);
    const offlineCode = await runCli(
      ['audit', 'verify', '--file', 'audit.ndjson', '--public-key', 'key.pem'],
      offline.io,
    );
    const csv = cliIo(cwd);
    await runCli(['audit', 'export', '--tenant', 'default', '--format', 'csv'], csv.io);

    // Assess
    expect(late).toMatchObject({ tenants: 1, digestsSigned: 0, unfinishedTenants: 1, failedTenants: 0 });
    expect(summary).toMatchObject({
      implemented: true,
      tenants: 1,
      digestsSigned: 1,
      unfinishedTenants: 0,
      failedTenants: 0,
    });
    expect(idle).toMatchObject({ digestsSigned: 0 });
    expect(verified).toBe(EXIT_OK);
    expect(verify.out.join('')).toMatch(/^INTACT: \d+ entries \(seq 1\.\.\d+\), 1 signed digests verified/);
    expect(exported).toBe(EXIT_OK);
    expect(await readFile(join(cwd, 'audit.ndjson'), 'utf8')).toContain('"type":"digest"');
    expect(key.out.join('')).toBe(served);
    expect(offlineCode).toBe(EXIT_OK);
    expect(csv.out.join('')).toMatch(/^seq,time,/);
  });

  it('refuses bad usage and reports a missing file', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'vaultpilot-audit-cli-'));
    const both = cliIo(cwd);
    expect(await runCli(['audit', 'verify', '--file', 'x', '--tenant', 'a'], both.io)).toBe(EXIT_USAGE);
    const neither = cliIo(cwd);
    expect(await runCli(['audit', 'verify'], neither.io)).toBe(EXIT_USAGE);
    const missing = cliIo(cwd);
    expect(await runCli(['audit', 'verify', '--file', 'nope.ndjson'], missing.io)).toBe(EXIT_FAILURE);
    expect(missing.err.join('')).toMatch(/does not exist/);
  });
});

describe('an audit table from an older data directory', () => {
  it('is rebuilt with the indexes, its events gaining their index keys and tenants their registry', async () => {
    // Prepare: the audit table as the previous version created it (no indexes), with one event.
    const dynamo = await startLocalDynamo({ path: undefined, host: '127.0.0.1', port: 0 });
    const raw = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const TableName = localTableName('audit');
    await raw.send(
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    await waitUntilActive(raw, TableName);
    const documents = DynamoDBDocumentClient.from(raw);
    const event = auditEvent('legacy', 1);
    const key = { pk: 'legacy#events', sk: `${event.time}#${event.eventId}` };
    await documents.send(new PutCommand({ TableName, Item: { ...key, ...event, expiresAt: 1 } }));

    // Act
    await ensureTables(dynamo.endpoint, 'us-east-1', TABLE_LIST);

    // Assess
    const { Table } = await raw.send(new DescribeTableCommand({ TableName }));
    expect((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName).sort()).toEqual(
      TABLE_SPECS.audit.indexes.map((index) => index.indexName).sort(),
    );
    const { Item } = await documents.send(new GetCommand({ TableName, Key: key }));
    expect(Item).toMatchObject({ actorKey: `legacy#${event.actor.id}`, actionKey: `legacy#${event.action}` });
    const { Item: registry } = await documents.send(
      new GetCommand({ TableName, Key: { pk: 'legacy#registry', sk: 'tenant' } }),
    );
    expect(registry).toMatchObject({ tenant: 'legacy' });
    raw.destroy();
    await dynamo.close().catch((error: unknown) => {
      if (error !== null) throw error;
    });
  });
});
