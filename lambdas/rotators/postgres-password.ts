/**
 * `postgres-password`: a PostgreSQL role's password, changed through a managing credential kept in
 * the secret store (`managingSecretPath`: `username` and `password` of a role allowed to alter the
 * managed one). Two strategies, as Secrets Manager's templates:
 * - `single-user`: `ALTER ROLE <user> PASSWORD …` on the one role. PostgreSQL keeps one password
 *   per role, so the old password stops working at `set` (a short window: `test` and `finish`
 *   follow at once); a failed test sets the old password back.
 * - `alternating-users`: two roles, `<user>` and `<user><cloneSuffix>` (created at the first
 *   rotation as a member of `<user>`). Each rotation changes the password of the role that is
 *   not current, so the current credential keeps working throughout and after `finish`.
 * `test` logs in afresh with the new password and runs `SELECT 1`.
 *
 * Injection safety. `ALTER ROLE` and `CREATE ROLE` are utility statements, which take no bind
 * parameters, so role names and passwords go into the statement text: names only through
 * `escapeIdentifier` (double-quoted, `"` doubled) and passwords only through `escapeLiteral`
 * (single-quoted, `'` and `\` doubled, `E''` form when a backslash is present, so the result does
 * not depend on `standard_conforming_strings`). Both refuse NUL, which would cut the statement
 * short. Every other query (role lookups) uses bind parameters. The tests rotate roles whose
 * names and passwords contain quotes, backslashes, semicolons and comment markers.
 *
 * Keeping the password out of server logs: the statement runs in a transaction that first asks
 * for `SET LOCAL log_statement = 'none'` (allowed to superusers; ignored when refused), and with
 * `passwordEncryption: 'scram-sha-256'` only a SCRAM verifier computed here is sent, never the
 * password (as psql's `\password` does) — but then server-side password checks such as the
 * `passwordcheck` module cannot see the password, so the default sends it for the server to hash.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type pg from 'pg';
import pgUtils from 'pg/lib/utils.js';
import { DependencyUnavailableError, NotFoundError, ValidationError } from '../core/errors.js';
import { generateValue } from '../core/rotation/generator.js';
import {
  RotationRefusedError,
  RotationTestFailedError,
  type Rotator,
  type RotatorContext,
} from '../core/rotation/rotator.js';
import type { SecretData } from '../core/secrets/kv-service.js';
import { parsePostgresSettings, type PostgresSettings } from './postgres-password-settings.js';

// Only pg's escaping is imported with the module (pg/lib/utils, typed in ./pg-utils.d.ts). The
// driver is loaded on the first connection: it costs the rotation worker about 30 ms of CPU at
// cold start, and most of its batches hold no PostgreSQL rotation.
const { escapeIdentifier, escapeLiteral } = pgUtils;

let driver: Promise<typeof pg> | undefined;

function loadDriver(): Promise<typeof pg> {
  return (driver ??= import('pg').then((module) => module.default));
}

// The settings live apart so that functions that only check them bundle no PostgreSQL driver.
export type { PostgresSettings } from './postgres-password-settings.js';

type Context = RotatorContext<PostgresSettings>;
type Login = { readonly username: string; readonly password: string };

/** The statement that sets a role's password, with the name and the password escaped. */
export function alterRolePasswordStatement(role: string, password: string): string {
  return `ALTER ROLE ${identifier(role)} WITH PASSWORD ${literal(password)}`;
}

export function createRoleStatement(role: string, password: string): string {
  return `CREATE ROLE ${identifier(role)} WITH LOGIN PASSWORD ${literal(password)}`;
}

function identifier(name: string): string {
  if (name.includes('\0')) throw new ValidationError('A role name cannot contain NUL');
  return escapeIdentifier(name);
}

function literal(value: string): string {
  if (value.includes('\0')) throw new ValidationError('A password cannot contain NUL');
  return escapeLiteral(value);
}

/**
 * A SCRAM-SHA-256 verifier (RFC 5802/7677, PostgreSQL's stored format) for an ASCII password:
 * PostgreSQL stores it as it is, and the password itself never reaches the server.
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  salted.fill(0);
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** SQLSTATEs worth retrying: connection loss, resources, shutdown, serialization, lock and statement timeouts. */
const SQLSTATE_TRANSIENT = /^(08|53|57P0[1-3]|40001|40P01|55P03|57014)/;
/** Socket and DNS errors that a later attempt may not meet. */
const NETWORK_TRANSIENT = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);
/** Node's certificate verification failures: the certificate or the name is wrong, no retry fixes that. */
const TLS_VERIFICATION =
  /^(ERR_TLS_CERT_ALTNAME_INVALID|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_|INVALID_CA|ERR_SSL_)/;

function sqlState(error: unknown): string | undefined {
  const code = errorCode(error);
  return code !== undefined && /^[0-9A-Z]{5}$/.test(code) && !NETWORK_TRANSIENT.has(code) ? code : undefined;
}

function errorCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** What went wrong on the way to PostgreSQL, and whether a later attempt may succeed. */
interface Problem {
  readonly transient: boolean;
  /** For the record: names hosts, roles and causes, never statements or passwords. */
  readonly description: string;
}

/**
 * Names the cause of a failed connection or statement. pg reports a server without TLS, a
 * refused certificate or a lost socket as plain errors (no SQLSTATE); each gets its own words
 * here, so the record says what to fix, and only causes a retry can outlive are transient.
 */
function problemOf(error: unknown, settings: PostgresSettings, login: string): Problem {
  const { host, port, tls } = settings.connection;
  const server = `${host}:${port}`;
  const state = sqlState(error);
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : '';
  if (state !== undefined) {
    // Server messages of these classes name roles and rules (passwordcheck: "password is too short"), never values.
    const said = message.slice(0, 200);
    if (state === '28P01') {
      return {
        transient: false,
        description: `authentication failed for ${login} (SQLSTATE 28P01; wrong password, or no such role)`,
      };
    }
    if (state === '28000') {
      const missing = /role .* does not exist/.test(message);
      return {
        transient: false,
        description: missing
          ? `the role ${login} does not exist (SQLSTATE 28000)`
          : `${login} may not connect (SQLSTATE 28000: ${said})`,
      };
    }
    if (state === '3D000') {
      return {
        transient: false,
        description: `the database ${settings.connection.database} does not exist (SQLSTATE 3D000)`,
      };
    }
    if (SQLSTATE_TRANSIENT.test(state)) return { transient: true, description: `SQLSTATE ${state}` };
    const detail = /^(22023|42501|42704)$/.test(state) ? `: ${said}` : '';
    return { transient: false, description: `SQLSTATE ${state}${detail}` };
  }
  if (/does not support SSL/i.test(message)) {
    return {
      transient: false,
      description: `the server ${server} does not offer TLS, and connection.tls is ${tls}: enable TLS on the server, or set connection.tls to "disable" on a network you trust`,
    };
  }
  if (code !== undefined && TLS_VERIFICATION.test(code)) {
    return {
      transient: false,
      description: `the TLS certificate of ${server} failed verification (${code})`,
    };
  }
  if (code !== undefined && NETWORK_TRANSIENT.has(code)) {
    return { transient: true, description: `${server} is unreachable (${code})` };
  }
  if (/timeout|terminated/i.test(message)) {
    return { transient: true, description: `${server} is unreachable (${message.slice(0, 120)})` };
  }
  // Not recognized: retried (within the engine's bound), and named so a person can tell.
  const name = error instanceof Error ? error.name : 'UnknownError';
  return { transient: true, description: `${server} failed (${name}: ${message.slice(0, 160)})` };
}

/** Maps a pg error to the engine's vocabulary: transient errors retry, others end the step at once. */
function classify(
  error: unknown,
  what: string,
  settings: PostgresSettings,
  login: string,
  asTest = false,
): Error {
  const problem = problemOf(error, settings, login);
  if (problem.transient) {
    return new DependencyUnavailableError(
      `PostgreSQL is unreachable for ${what}: ${problem.description}`,
      30,
      { cause: error },
    );
  }
  return asTest
    ? new RotationTestFailedError(`The new password does not work: ${what} failed: ${problem.description}`, {
        cause: error,
      })
    : new RotationRefusedError(`PostgreSQL refused ${what} (${problem.description})`, { cause: error });
}

export interface PostgresRotatorOptions {
  /** Builds clients; tests may wrap it. */
  readonly client?: (config: pg.ClientConfig) => pg.Client;
}

export function createPostgresPasswordRotator(
  options: PostgresRotatorOptions = {},
): Rotator<PostgresSettings> {
  const newClient = async (config: pg.ClientConfig): Promise<pg.Client> =>
    options.client === undefined ? new (await loadDriver()).Client(config) : options.client(config);

  function clientConfig(settings: PostgresSettings, login: Login): pg.ClientConfig {
    const { connection } = settings;
    return {
      host: connection.host,
      port: connection.port,
      database: connection.database,
      user: login.username,
      password: login.password,
      connectionTimeoutMillis: connection.connectTimeoutMs,
      query_timeout: 30_000,
      application_name: 'vaultpilot-rotation',
      ssl:
        connection.tls === 'disable'
          ? false
          : connection.tls === 'require'
            ? { rejectUnauthorized: false }
            : { rejectUnauthorized: true, servername: connection.host },
    };
  }

  async function withConnection<T>(
    settings: PostgresSettings,
    login: Login,
    what: string,
    work: (client: pg.Client) => Promise<T>,
    asTest = false,
  ): Promise<T> {
    const client = await newClient(clientConfig(settings, login));
    // An idle client's socket error must not crash the process; the query that needed it fails.
    client.on('error', () => undefined);
    try {
      try {
        await client.connect();
      } catch (error: unknown) {
        throw classify(error, `${what} (connecting as ${login.username})`, settings, login.username, asTest);
      }
      try {
        return await work(client);
      } catch (error: unknown) {
        if (error instanceof RotationRefusedError || error instanceof RotationTestFailedError) throw error;
        if (error instanceof DependencyUnavailableError || error instanceof ValidationError) throw error;
        throw classify(error, what, settings, login.username, asTest);
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async function managing(context: Context): Promise<Login> {
    let data: SecretData;
    try {
      data = await context.secrets.read(context.settings.managingSecretPath);
    } catch (error: unknown) {
      if (error instanceof NotFoundError) {
        throw new RotationRefusedError('The managing credential is missing from the secret store', {
          cause: error,
        });
      }
      throw error;
    }
    const username = data.username;
    const password = data.password;
    if (username === undefined || password === undefined) {
      throw new RotationRefusedError('The managing credential needs username and password fields');
    }
    return { username, password };
  }

  function loginOf(value: SecretData, fallbackUser: string): Login {
    const password = value.password;
    if (password === undefined) throw new RotationRefusedError('The value has no password field');
    return { username: value.username ?? fallbackUser, password };
  }

  function otherUser(settings: PostgresSettings, current: string): string {
    const base = settings.connection.username;
    return current === base ? `${base}${settings.cloneSuffix}` : base;
  }

  function passwordExpression(settings: PostgresSettings, password: string): string {
    // SCRAM verifiers are computed for ASCII passwords only (no SASLprep here); others go as they are.
    return settings.passwordEncryption === 'scram-sha-256' && /^[\x20-\x7e]+$/.test(password)
      ? scramVerifier(password)
      : password;
  }

  /** Runs utility statements in one transaction, asking the server not to log them. */
  async function runQuietly(client: pg.Client, statements: readonly string[]): Promise<void> {
    await client.query('BEGIN');
    try {
      await client.query('SAVEPOINT quiet');
      try {
        await client.query("SET LOCAL log_statement = 'none'");
      } catch {
        // Only superusers may change it; without it the statement may be logged by the server.
        await client.query('ROLLBACK TO SAVEPOINT quiet');
      }
      for (const statement of statements) await client.query(statement);
      await client.query('COMMIT');
    } catch (error: unknown) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  async function roleExists(
    client: pg.Client,
    role: string,
  ): Promise<{ exists: boolean; canLogin: boolean }> {
    const result = await client.query<{ rolcanlogin: boolean }>(
      'SELECT rolcanlogin FROM pg_roles WHERE rolname = $1',
      [role],
    );
    const row = result.rows[0];
    return { exists: row !== undefined, canLogin: row?.rolcanlogin === true };
  }

  async function setPassword(context: Context, role: string, password: string, what: string): Promise<void> {
    const admin = await managing(context);
    await withConnection(context.settings, admin, what, async (client) => {
      if (!(await roleExists(client, role)).exists) {
        throw new RotationRefusedError(`The role ${role} does not exist`);
      }
      await runQuietly(client, [
        alterRolePasswordStatement(role, passwordExpression(context.settings, password)),
      ]);
    });
  }

  return {
    type: 'postgres-password',

    parseSettings(raw) {
      return parsePostgresSettings(raw);
    },

    async preflight(context) {
      const admin = await managing(context);
      const current = loginOf(context.current, context.settings.connection.username);
      const target =
        context.settings.strategy === 'single-user'
          ? current.username
          : otherUser(context.settings, current.username);
      return withConnection(context.settings, admin, 'preflight', async (client) => {
        const role = await roleExists(client, target);
        const notes = [
          role.exists
            ? `would set a new password for ${target}`
            : `would create ${target} as a member of ${context.settings.connection.username}`,
        ];
        if (role.exists && !role.canLogin) notes.push(`${target} cannot log in: the test would fail`);
        return notes;
      });
    },

    async create(context) {
      const current = loginOf(context.current, context.settings.connection.username);
      const username =
        context.settings.strategy === 'single-user'
          ? current.username
          : otherUser(context.settings, current.username);
      return {
        pending: { ...context.current, username, password: generateValue(context.settings.password) },
        provider: { pendingUser: username },
      };
    },

    async set(context) {
      const pending = loginOf(context.pending, context.settings.connection.username);
      if (context.settings.strategy === 'single-user') {
        await setPassword(context, pending.username, pending.password, 'ALTER ROLE');
        return {};
      }
      const admin = await managing(context);
      const base = context.settings.connection.username;
      return withConnection(context.settings, admin, 'ALTER ROLE', async (client) => {
        const password = passwordExpression(context.settings, pending.password);
        if ((await roleExists(client, pending.username)).exists) {
          await runQuietly(client, [alterRolePasswordStatement(pending.username, password)]);
          return {};
        }
        // The clone inherits the base role's privileges through membership (Secrets Manager does the same).
        await runQuietly(client, [
          createRoleStatement(pending.username, password),
          `GRANT ${identifier(base)} TO ${identifier(pending.username)}`,
        ]);
        return { provider: { createdRole: pending.username } };
      });
    },

    async test(context) {
      const pending = loginOf(context.pending, context.settings.connection.username);
      await withConnection(
        context.settings,
        pending,
        'a fresh login',
        async (client) => {
          const result = await client.query<{ ok: number }>('SELECT 1 AS ok');
          if (result.rows[0]?.ok !== 1) throw new RotationTestFailedError('SELECT 1 did not answer 1');
        },
        true,
      );
      return {};
    },

    async finish() {
      // Nothing lives on at the server: the old password is gone (single user) or stays valid until
      // the next rotation changes it (alternating users).
      return {};
    },

    async retire() {
      return { status: 'done' };
    },

    async discard(context) {
      const current = loginOf(context.current, context.settings.connection.username);
      if (context.settings.strategy === 'single-user') {
        // The server may hold the pending password: set the current one back.
        await setPassword(context, current.username, current.password, 'ALTER ROLE (rollback)');
        return {};
      }
      const pendingUser =
        context.pending?.username ??
        (typeof context.provider.pendingUser === 'string'
          ? context.provider.pendingUser
          : otherUser(context.settings, current.username));
      const admin = await managing(context);
      await withConnection(context.settings, admin, 'rollback', async (client) => {
        if (!(await roleExists(client, pendingUser)).exists) return;
        if (context.provider.createdRole === pendingUser) {
          await runQuietly(client, [`DROP ROLE ${identifier(pendingUser)}`]);
          return;
        }
        // The role predates this rotation: replace the pending password with one nobody knows.
        const unknown = generateValue({ length: 48, classes: ['lower', 'upper', 'digits'], exclude: '' });
        await runQuietly(client, [
          alterRolePasswordStatement(pendingUser, passwordExpression(context.settings, unknown)),
        ]);
      });
      return {};
    },

    async restore(context) {
      const previous = loginOf(context.previous, context.settings.connection.username);
      // Idempotent for both strategies: the previous role gets its previous password (again).
      await setPassword(context, previous.username, previous.password, 'ALTER ROLE (restore)');
      return {};
    },
  };
}
