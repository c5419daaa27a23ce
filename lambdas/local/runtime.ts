/**
 * The local runtime behind `npm start`: dynalite with tables from the specs, the local identity
 * provider, the API server and the scheduler, wired so that the in-process handlers see the
 * same environment variables CDK gives the Lambda functions.
 */
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readEnvironment, type LocalRuntimeConfig } from '../shared/config.js';
import { parseLocalLimits, type LocalLimits } from './local-limits.js';
import { RequestRateLimiter } from './request-rate-limiter.js';
import { randomUUID } from 'node:crypto';
import { localEventBus } from '../adapters/local/in-process-event-bus.js';
import { DISCOVERY_EVENT_TYPES } from '../core/discovery/engine.js';
import type { DomainEvent } from '../core/events.js';
import { ENGINE_LIST, ENGINES } from '../shared/engines.js';
import { EVENT_SOURCE, eventBridgeDetail } from '../shared/events.js';
import { localTableName, TABLE_LIST } from '../shared/tables.js';
import { ensureTables, startLocalDynamo, type LocalDynamo } from './dynamo.js';
import { MANIFESTS } from '../functions/index.js';
import { subscribeNotifier } from './notifier-subscription.js';
import {
  API_HANDLERS,
  ENGINE_HANDLERS,
  NOTIFIER,
  ROTATION_WORKER,
  ROTATION_WORKER_COMMAND,
  ROTATION_WORKER_TIMEOUT_SECONDS,
  sqsEvent,
} from './handler-registry.js';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { FileDigestSigner } from '../adapters/local/file-digest-signer.js';
import { FileKeyring, KeyringKeysMissingError, KeyringStateError } from '../adapters/local/file-keyring.js';
import { wrappedKeyIds } from '../adapters/local/wrapped-key-census.js';
import { localRollbackRunner } from '../adapters/local/in-process-rollback-runner.js';
import { localRotationQueue } from '../adapters/local/in-process-rotation-queue.js';
import { LocalIdentityProvider } from './identity.js';
import { handleIdentityRequest } from './identity-routes.js';
import { DASHBOARD_DIST } from './dashboard-build.js';
import { DashboardSite } from './dashboard-site.js';
import { LocalAuthorizationServer } from './oauth-authorize.js';
import { checkInvocationIsolation, invoke } from './invocation.js';
import { lambdaContext } from './lambda-context.js';
import { LocalStateError } from './local-state-error.js';
import { LocalScheduler } from './scheduler.js';
import { createLocalApiServer } from './server.js';
import { acquireDataDirLock } from './data-dir-lock.js';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_STAGE = 'local';
/** The app client id of the dashboard in the local issuer (Cognito generates one in AWS). */
export const LOCAL_USER_CLIENT_ID = 'vaultpilot-dashboard';

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

/**
 * Refuses to start when the stored data is wrapped under key-encryption keys the keyring does not
 * hold (a lost or stale `keys/` folder), naming the key ids and the folder to restore, and when
 * the audit signing key the data directory has signed with is gone. Creates the keyring on a
 * first start, when no data names a key.
 */
async function checkKeyring(dataDir: string, dynamodbEndpoint: string): Promise<void> {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: LOCAL_REGION,
      endpoint: dynamodbEndpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
  try {
    const ids = await wrappedKeyIds(client, {
      secrets: localTableName('secrets'),
      settings: localTableName('settings'),
    });
    await new FileKeyring({ dataDir }).verifyHolds(ids);
  } catch (error: unknown) {
    if (!(error instanceof KeyringKeysMissingError)) throw error;
    const keys = resolve(dataDir, 'keys');
    throw new LocalStateError(
      `The stored data is wrapped under key-encryption key${error.missingKeyIds.length === 1 ? '' : 's'} ` +
        `${error.missingKeyIds.join(', ')}, which ${keys} does not hold. Restore that folder ` +
        `(${error.missingKeyIds.map((id) => `${id}.key`).join(', ')} and keyring.json) from a backup of ` +
        'the data directory (README "Backup and restore"). VaultPilot will not create a new key meanwhile: ' +
        'secrets written under it would hide that the old ones can no longer be read.',
      { cause: error },
    );
  } finally {
    client.destroy();
  }
  try {
    await new FileDigestSigner({ dataDir }).verifyPresent();
  } catch (error: unknown) {
    if (!(error instanceof KeyringStateError)) throw error;
    throw new LocalStateError(error.message, { cause: error });
  }
}

/** The environment CDK gives every function, pointed at the local services. */
function functionEnvironment(
  issuer: string,
  dynamodbEndpoint: string,
  dataDir: string | undefined,
  corsOrigins: readonly string[],
): Record<string, string> {
  return {
    // No KMS locally: key-encryption keys in 0600 files under the data dir (memory if none).
    VAULTPILOT_KEYRING: 'local',
    // Audit digests are signed with an Ed25519 key file next to the keyring's (memory if none).
    VAULTPILOT_AUDIT_SIGNER: 'local',
    ...(dataDir === undefined ? {} : { VAULTPILOT_KEYRING_DIR: dataDir }),
    // On disk, unwrapping a data key is a local AES operation plus a check that its key file is
    // still there; without the cache every read makes that check, so a lost keys/ folder fails
    // reads closed at once instead of after the cache's five minutes. Setting the variable wins.
    ...(dataDir !== undefined && readEnvironment().VAULTPILOT_DATA_KEY_CACHE_MAX_AGE_SECONDS === undefined
      ? { VAULTPILOT_DATA_KEY_CACHE_MAX_AGE_SECONDS: '0' }
      : {}),
    VAULTPILOT_RUNTIME: 'local',
    VAULTPILOT_STAGE: LOCAL_STAGE,
    VAULTPILOT_AUTH_MODE: 'local',
    VAULTPILOT_LOCAL_ISSUER: issuer,
    VAULTPILOT_LOCAL_JWKS_URI: `${issuer}/.well-known/jwks.json`,
    VAULTPILOT_USER_CLIENT_IDS: LOCAL_USER_CLIENT_ID,
    VAULTPILOT_DYNAMODB_ENDPOINT: dynamodbEndpoint,
    VAULTPILOT_CORS_ORIGINS: corsOrigins.join(','),
    // Alerts: links point at this server's dashboard; email goes to VAULTPILOT_SMTP_URL when
    // set, else into the data directory's outbox (a temporary folder when running in memory).
    VAULTPILOT_DASHBOARD_URL: readEnvironment().VAULTPILOT_DASHBOARD_URL ?? issuer,
    VAULTPILOT_OUTBOX_DIR:
      readEnvironment().VAULTPILOT_OUTBOX_DIR ??
      join(dataDir ?? join(tmpdir(), `vaultpilot-${process.pid}`), 'outbox'),
    AWS_REGION: LOCAL_REGION,
    POWERTOOLS_SERVICE_NAME: 'vaultpilot',
    POWERTOOLS_METRICS_NAMESPACE: 'VaultPilot',
    // Metrics are a CloudWatch (EMF) concern: off locally, so the console carries only logs.
    POWERTOOLS_METRICS_DISABLED: 'true',
    // Requests overlap in this one process, as invocations do in a Lambda Managed Instances
    // environment, where Lambda sets this variable: Powertools then keeps each invocation's logger
    // keys and context in its own invoke-store context (invocation.ts). Powertools and the store
    // read only whether it is set; the local server does not cap requests at this number.
    AWS_LAMBDA_MAX_CONCURRENCY: '64',
    ...Object.fromEntries(TABLE_LIST.map((spec) => [spec.envVar, localTableName(spec.id)])),
  };
}

/** A bus event as an EventBridge rule delivers it to a function. */
function busEvent(event: DomainEvent): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': event.type,
    source: EVENT_SOURCE,
    account: LOCAL_ACCOUNT,
    time: event.time,
    region: LOCAL_REGION,
    resources: [],
    detail: eventBridgeDetail(event),
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

export interface LocalRuntimeOptions {
  /** The built dashboard to serve on the API's port (default frontend/dist). */
  readonly dashboardDir?: string;
}

/**
 * Starts everything and resolves once the runtime is ready. The port is bound first (its URL is
 * the issuer), but until every route, the identity provider and the first admin are ready every
 * request answers 503 with Retry-After, `/health` included.
 *
 * `limits` default to the environment's (VAULTPILOT_CORS_ORIGINS, the sign-in, hashing and rate
 * limits of `local-limits.ts`).
 */
export async function startLocalRuntime(
  config: LocalRuntimeConfig,
  log: RuntimeLog,
  limits: LocalLimits = parseLocalLimits(readEnvironment()),
  options: LocalRuntimeOptions = {},
): Promise<LocalRuntime> {
  checkInvocationIsolation();
  const dataDir = config.inMemory ? undefined : resolve(config.dataDir);
  let releaseLock = (): void => undefined;
  if (dataDir !== undefined) {
    await prepareDataDir(dataDir);
    releaseLock = acquireDataDirLock(dataDir);
  }

  let identity: LocalIdentityProvider | undefined;
  let rateLimiter: RequestRateLimiter | undefined;
  let ready = false;
  // The dashboard's sign-in and files; both need the port, so they are set once it is known.
  let authorization: LocalAuthorizationServer | undefined;
  let dashboard: DashboardSite | undefined;
  const server = createLocalApiServer({
    stage: LOCAL_STAGE,
    region: LOCAL_REGION,
    corsOrigins: limits.corsOrigins,
    isReady: () => ready,
    admit: (headers) => rateLimiter?.admit(headers),
    sideRoutes: [
      async (request) => authorization?.handle(request),
      async (request) => dashboard?.handle(request),
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
    if (dataDir !== undefined) await checkKeyring(dataDir, dynamo.endpoint);

    // The functions' region is fixed locally (dynalite, the local issuer); discovery scans the
    // region the developer works in, unless VAULTPILOT_DISCOVERY_REGIONS says otherwise.
    const developerRegion = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (developerRegion !== undefined && /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(developerRegion)) {
      process.env.VAULTPILOT_DISCOVERY_REGIONS ??= developerRegion;
    }
    Object.assign(process.env, functionEnvironment(url, dynamo.endpoint, dataDir, limits.corsOrigins));
    // Discovery uses the machine's AWS credentials when it has some; probing the EC2 instance
    // metadata service for them would only wait for a timeout on a laptop. Set it to false to allow.
    process.env.AWS_EC2_METADATA_DISABLED ??= 'true';
    if (dataDir === undefined) delete process.env.VAULTPILOT_KEYRING_DIR;
    // Pretty logs and no metrics on the console locally (Powertools' own development switch).
    process.env.POWERTOOLS_DEV ??= config.logFormat === 'pretty' ? 'true' : 'false';
    // Loaded only now: the handlers' logger and metrics read the variables above when their
    // module first loads, and the functions' compositions load them.
    const { resetFunctions } = await import('../platform/cold-start.js');
    const { auditAppendsSettled } = await import('../platform/index.js');
    resetFunctions();

    identity = await LocalIdentityProvider.open({
      dataDir,
      issuer: url,
      tokenTtlSeconds: config.tokenTtlSeconds,
      userClientId: LOCAL_USER_CLIENT_ID,
      signInPolicy: limits.signIn,
      hashing: limits.hashing,
    });
    const admin = await identity.ensureAdmin(config.adminPassword);
    rateLimiter = new RequestRateLimiter(limits.rateLimits, url, identity.jwks());
    // Every API handler loaded (and its module initialised) before the first request is let in.
    await Promise.all(Object.values(API_HANDLERS).map((load) => load()));
    authorization = new LocalAuthorizationServer({ identity, clientId: LOCAL_USER_CLIENT_ID });
    dashboard = new DashboardSite({
      distDir: options.dashboardDir ?? DASHBOARD_DIST,
      stage: LOCAL_STAGE,
      url,
      clientId: LOCAL_USER_CLIENT_ID,
    });

    // `POST /discovery/runs` publishes a request; as the EventBridge rule does in AWS, it starts
    // the discovery engine, here without holding up the bus for the length of the run.
    const engineRuns = new Set<Promise<void>>();
    const unsubscribe = localEventBus.subscribe(DISCOVERY_EVENT_TYPES.runRequested, (event) => {
      const spec = ENGINES.discovery;
      const run = (async () => {
        const handler = await ENGINE_HANDLERS.discovery();
        await invoke(
          handler,
          busEvent(event),
          lambdaContext(`vaultpilot-local-${spec.handler}`, spec.timeoutSeconds, LOCAL_REGION),
        );
      })().catch((error: unknown) =>
        log.error('Discovery run failed', {
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        }),
      );
      engineRuns.add(run);
      void run.finally(() => engineRuns.delete(run));
    });
    cleanups.push(async () => {
      unsubscribe();
      await localEventBus.drain();
      await Promise.allSettled([...engineRuns]);
    });

    // The notifier, as its EventBridge rule and Lambda's asynchronous retries run it in AWS.
    const notifierManifest = MANIFESTS.notifier;
    const notifications = subscribeNotifier(localEventBus, {
      eventTypes: notifierManifest.trigger.eventTypes,
      toBusEvent: busEvent,
      invoke: async (event) => {
        const handler = await NOTIFIER();
        return invoke(
          handler,
          event,
          lambdaContext(
            `vaultpilot-local-${notifierManifest.name}`,
            notifierManifest.timeoutSeconds,
            LOCAL_REGION,
          ),
        );
      },
      onDeadLetter: (event, error) =>
        log.error('Notification event failed every retry (dead-lettered)', {
          eventId: String(event.id),
          type: String(event['detail-type']),
          error: error instanceof Error ? error.name : 'UnknownError',
        }),
    });
    cleanups.push(() => notifications.stop());

    // The rotation queue: as the SQS event source does in AWS, the worker handler receives its
    // messages in batches and reports the ones to deliver again.
    localRotationQueue.setConsumer(async (messages) => {
      const worker = await ROTATION_WORKER();
      const response = await invoke(
        worker,
        sqsEvent(messages),
        lambdaContext('vaultpilot-local-rotation-worker', ROTATION_WORKER_TIMEOUT_SECONDS, LOCAL_REGION),
      );
      return response.batchItemFailures.map((failure) => failure.itemIdentifier);
    });
    cleanups.push(async () => {
      await localRotationQueue.drain();
      localRotationQueue.close();
    });
    // Explicit rollbacks: the rotations API invokes the worker directly, as Lambda Invoke does in AWS.
    localRollbackRunner.setInvoker(async (command) => {
      const worker = await ROTATION_WORKER_COMMAND();
      return invoke(
        worker,
        command,
        lambdaContext('vaultpilot-local-rotation-worker', ROTATION_WORKER_TIMEOUT_SECONDS, LOCAL_REGION),
      );
    });
    cleanups.push(async () => {
      localRollbackRunner.setInvoker(undefined);
    });

    let scheduler: LocalScheduler | undefined;
    if (config.scheduler) {
      scheduler = new LocalScheduler({
        jobs: ENGINE_LIST.map((engine) => ({
          id: engine.id,
          schedule: engine.schedule,
          fire: async (event) => {
            const handler = await ENGINE_HANDLERS[engine.id]();
            await invoke(
              handler,
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

    ready = true;
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
          // The chain appends still queued finish before the database closes.
          await auditAppendsSettled();
          cleanups.splice(1, 1);
          await cleanup();
          resetFunctions();
        })();
        return stopped;
      },
    };
  } catch (error: unknown) {
    await cleanup();
    throw error;
  }
}
