/**
 * The local runtime behind `npm start`: dynalite with tables from the specs, the local identity
 * provider, the API server and the scheduler, wired so that the in-process handlers see the
 * same environment variables CDK gives the Lambda functions.
 */
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { LocalRuntimeConfig } from '../shared/config.js';
import { resetContainer } from '../shared/container.js';
import { ENGINE_LIST } from '../shared/engines.js';
import { localTableName, TABLE_LIST } from '../shared/tables.js';
import { ensureTables, startLocalDynamo, type LocalDynamo } from './dynamo.js';
import { ENGINE_HANDLERS } from './handler-registry.js';
import { LocalIdentityProvider } from './identity.js';
import { handleIdentityRequest } from './identity-routes.js';
import { lambdaContext } from './lambda-context.js';
import { LocalStateError } from './local-state-error.js';
import { LocalScheduler } from './scheduler.js';
import { createLocalApiServer } from './server.js';
import { acquireDataDirLock } from './data-dir-lock.js';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_STAGE = 'local';
/** The app client id of the dashboard in the local issuer (Cognito generates one in AWS). */
export const LOCAL_USER_CLIENT_ID = 'vaultpilot-local-dashboard';
/** Origins the local API accepts cross-origin requests from (the dashboard's dev server). */
const LOCAL_CORS_ORIGINS = ['http://localhost:5173', 'http://127.0.0.1:5173'];

export interface RuntimeLog {
  info(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

export interface LocalRuntime {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string | undefined;
  readonly dynamodbEndpoint: string;
  readonly dynamodbPort: number;
  readonly issuer: string;
  /** Set when this start created the admin user with a generated password (shown once). */
  readonly generatedAdminPassword: string | undefined;
  readonly adminCreated: boolean;
  readonly createdTables: readonly string[];
  readonly scheduler: LocalScheduler | undefined;
  /** The local identity provider (what the `vaultpilot` CLI manages on disk). */
  readonly identity: LocalIdentityProvider;
  stop(): Promise<void>;
}

async function prepareDataDir(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await access(dataDir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (error: unknown) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unknown error';
    throw new LocalStateError(
      `The data directory ${dataDir} cannot be used (${reason}); set VAULTPILOT_DATA_DIR or --data-dir to a writable directory`,
      { cause: error },
    );
  }
}

/** The environment CDK gives every function, pointed at the local services. */
function functionEnvironment(
  issuer: string,
  dynamodbEndpoint: string,
  dataDir: string | undefined,
): Record<string, string> {
  return {
    // No KMS locally: key-encryption keys in 0600 files under the data dir (memory if none).
    VAULTPILOT_KEYRING: 'local',
    ...(dataDir === undefined ? {} : { VAULTPILOT_KEYRING_DIR: dataDir }),
    VAULTPILOT_RUNTIME: 'local',
    VAULTPILOT_STAGE: LOCAL_STAGE,
    VAULTPILOT_AUTH_MODE: 'local',
    VAULTPILOT_LOCAL_ISSUER: issuer,
    VAULTPILOT_LOCAL_JWKS_URI: `${issuer}/.well-known/jwks.json`,
    VAULTPILOT_USER_CLIENT_IDS: LOCAL_USER_CLIENT_ID,
    VAULTPILOT_DYNAMODB_ENDPOINT: dynamodbEndpoint,
    VAULTPILOT_CORS_ORIGINS: LOCAL_CORS_ORIGINS.join(','),
    AWS_REGION: LOCAL_REGION,
    POWERTOOLS_SERVICE_NAME: 'vaultpilot',
    POWERTOOLS_METRICS_NAMESPACE: 'VaultPilot',
    // Handlers run concurrently in one process here, so Powertools' per-invocation metric
    // buffer would mix requests; metrics are a CloudWatch (EMF) concern, off locally.
    POWERTOOLS_METRICS_DISABLED: 'true',
    ...Object.fromEntries(TABLE_LIST.map((spec) => [spec.envVar, localTableName(spec.id)])),
  };
}

function listen(
  server: ReturnType<typeof createLocalApiServer>,
  host: string,
  port: number,
): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(
        error.code === 'EADDRINUSE'
          ? new LocalStateError(
              `Port ${port} is already in use; stop the other process or set PORT to a free port`,
            )
          : error.code === 'EACCES'
            ? new LocalStateError(
                `Port ${port} needs privileges this user does not have; set PORT above 1023`,
              )
            : error,
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolvePort((server.address() as AddressInfo).port);
    });
  });
}

export async function startLocalRuntime(config: LocalRuntimeConfig, log: RuntimeLog): Promise<LocalRuntime> {
  const dataDir = config.inMemory ? undefined : resolve(config.dataDir);
  let releaseLock = (): void => undefined;
  if (dataDir !== undefined) {
    await prepareDataDir(dataDir);
    releaseLock = acquireDataDirLock(dataDir);
  }

  let identity: LocalIdentityProvider | undefined;
  const server = createLocalApiServer({
    stage: LOCAL_STAGE,
    region: LOCAL_REGION,
    corsOrigins: LOCAL_CORS_ORIGINS,
    sideRoutes: [
      async (request) => (identity === undefined ? undefined : handleIdentityRequest(identity, request)),
    ],
    onRequest: ({ method, path, statusCode, ms }) => log.info(`${method} ${path} ${statusCode} ${ms}ms`),
    onUnexpectedError: (error, requestId) =>
      log.error('Unexpected error', {
        requestId,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      }),
  });
  let port: number;
  try {
    port = await listen(server, config.host, config.port);
  } catch (error: unknown) {
    releaseLock();
    throw error;
  }
  const displayHost = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  const url = `http://${displayHost}:${port}`;

  const cleanups: (() => Promise<void>)[] = [
    async () => releaseLock(),
    () => new Promise<void>((done) => server.close(() => done())),
  ];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
  };

  try {
    let dynamo: LocalDynamo;
    let createdTables: string[];
    try {
      dynamo = await startLocalDynamo({
        path: dataDir === undefined ? undefined : resolve(dataDir, 'dynamodb'),
        host: '127.0.0.1',
        port: config.dynamodbPort,
      });
      cleanups.push(() => dynamo.close());
      createdTables = await ensureTables(dynamo.endpoint, LOCAL_REGION, TABLE_LIST);
    } catch (error: unknown) {
      if (error instanceof LocalStateError) throw error;
      throw new LocalStateError(
        `The embedded DynamoDB could not start on ${dataDir ?? 'memory'}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }

    Object.assign(process.env, functionEnvironment(url, dynamo.endpoint, dataDir));
    if (dataDir === undefined) delete process.env.VAULTPILOT_KEYRING_DIR;
    // Pretty logs and no metrics on the console locally (Powertools' own development switch).
    process.env.POWERTOOLS_DEV ??= config.logFormat === 'pretty' ? 'true' : 'false';
    resetContainer();

    identity = await LocalIdentityProvider.open({
      dataDir,
      issuer: url,
      tokenTtlSeconds: config.tokenTtlSeconds,
      userClientId: LOCAL_USER_CLIENT_ID,
    });
    const admin = await identity.ensureAdmin(config.adminPassword);

    let scheduler: LocalScheduler | undefined;
    if (config.scheduler) {
      scheduler = new LocalScheduler({
        jobs: ENGINE_LIST.map((engine) => ({
          id: engine.id,
          schedule: engine.schedule,
          fire: async (event) => {
            const handler = await ENGINE_HANDLERS[engine.id]();
            await handler(
              event,
              lambdaContext(`vaultpilot-local-${engine.handler}`, engine.timeoutSeconds, LOCAL_REGION),
            );
          },
        })),
        region: LOCAL_REGION,
        account: LOCAL_ACCOUNT,
        logger: log,
      });
      scheduler.start();
      const running = scheduler;
      cleanups.push(() => running.stop());
    }

    let stopped: Promise<void> | undefined;
    return {
      url,
      port,
      dataDir,
      dynamodbEndpoint: dynamo.endpoint,
      dynamodbPort: dynamo.port,
      issuer: url,
      adminCreated: admin.created,
      generatedAdminPassword: admin.generatedPassword,
      createdTables,
      scheduler,
      identity,
      stop: () => {
        stopped ??= (async () => {
          // Stop taking requests first; in-flight ones finish before the database closes.
          const closing = new Promise<void>((done) => server.close(() => done()));
          server.closeIdleConnections();
          const forceAfter = setTimeout(() => server.closeAllConnections(), 10_000);
          await closing;
          clearTimeout(forceAfter);
          cleanups.splice(1, 1);
          await cleanup();
          resetContainer();
        })();
        return stopped;
      },
    };
  } catch (error: unknown) {
    await cleanup();
    throw error;
  }
}
