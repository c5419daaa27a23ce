/**
 * `npm start`: runs VaultPilot on this machine with no AWS account. See README "Quick start".
 *
 *   npm start -- [--port N] [--host H] [--data-dir DIR] [--in-memory] [--no-scheduler] [--no-dashboard-build]
 *
 * Flags override the environment variables of the same meaning (PORT, VAULTPILOT_HOST,
 * VAULTPILOT_DATA_DIR, VAULTPILOT_IN_MEMORY, VAULTPILOT_SCHEDULER).
 */
import { parseArgs } from 'node:util';

// The AWS SDK warns on Node 20 that its 2027 releases need Node 22 (Lambda runs nodejs22.x);
// locally it only talks to dynalite, so the notice would just bury the start-up output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { ConfigError, parseLocalRuntimeConfig, readEnvironment } from '../lambdas/shared/config.js';
import { parseLocalLimits } from '../lambdas/local/local-limits.js';
import { LocalStateError } from '../lambdas/local/local-state-error.js';
import { startLocalRuntime, type LocalRuntime, type RuntimeLog } from '../lambdas/local/runtime.js';
import { ensureDashboardBuild } from '../lambdas/local/dashboard-build.js';

const USAGE = `Usage: npm start -- [options]

Runs the VaultPilot API, identity provider, DynamoDB (dynalite) and scheduler locally.

Options:
  --port N          HTTP port (env PORT, default 3000; 0 picks a free port)
  --host H          interface to listen on (env VAULTPILOT_HOST, default 127.0.0.1)
  --data-dir DIR    where data and keys are kept (env VAULTPILOT_DATA_DIR, default .vaultpilot)
  --in-memory       keep nothing on disk (env VAULTPILOT_IN_MEMORY=true)
  --no-scheduler    do not run the scheduled engines (env VAULTPILOT_SCHEDULER=false)
  --no-dashboard-build  serve frontend/dist as it is, without building it when stale
  -h, --help        show this help
`;

function timestamp(): string {
  return new Date().toISOString().slice(11, 19);
}

const log: RuntimeLog = {
  info: (message, extra) =>
    console.log(`${timestamp()} ${message}${extra === undefined ? '' : ` ${JSON.stringify(extra)}`}`),
  error: (message, extra) =>
    console.error(`${timestamp()} ERROR ${message}${extra === undefined ? '' : ` ${JSON.stringify(extra)}`}`),
};

function banner(runtime: LocalRuntime): string {
  const lines = [
    '',
    'VaultPilot is running locally.',
    `  Dashboard    ${runtime.url}/   (sign in as admin)`,
    `  API          ${runtime.url}   (try ${runtime.url}/health)`,
    `  OpenAPI      ${runtime.url}/openapi.json`,
    `  JWKS         ${runtime.issuer}/.well-known/jwks.json`,
    `  DynamoDB     ${runtime.dynamodbEndpoint}   (tables: vaultpilot-*)`,
    `  Data         ${runtime.dataDir ?? 'in memory (nothing is kept)'}`,
  ];
  if (runtime.scheduler !== undefined) {
    for (const [id, next] of Object.entries(runtime.scheduler.nextFireTimes())) {
      lines.push(`  Schedule     ${id.padEnd(18)} next ${next.toISOString()}`);
    }
  }
  lines.push('');
  if (runtime.generatedAdminPassword !== undefined) {
    lines.push(
      'Created user "admin" (tenant "default", group admin). Its one-time password, shown only now:',
      `  ${runtime.generatedAdminPassword}`,
      '',
    );
  } else if (runtime.adminCreated) {
    lines.push(
      'Created user "admin" (tenant "default") with the password from VAULTPILOT_ADMIN_PASSWORD.',
      '',
    );
  }
  lines.push(
    'Sign in:',
    `  curl -s ${runtime.url}/auth/token -H 'content-type: application/json' \\`,
    `    -d '{"username":"admin","password":"<password>"}'`,
    `  curl -s ${runtime.url}/me -H "authorization: Bearer <accessToken>"`,
    'Add users and machine clients with: npx vaultpilot users add | clients add  (see --help)',
    'Press Ctrl+C to stop.',
    '',
  );
  return lines.join('\n');
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'data-dir': { type: 'string' },
        'in-memory': { type: 'boolean' },
        'no-scheduler': { type: 'boolean' },
        'no-dashboard-build': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error: unknown) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (args.help === true) {
    console.log(USAGE);
    return 0;
  }

  const overrides: Record<string, string> = {};
  if (args.port !== undefined) overrides.PORT = args.port;
  if (args.host !== undefined) overrides.VAULTPILOT_HOST = args.host;
  if (args['data-dir'] !== undefined) overrides.VAULTPILOT_DATA_DIR = args['data-dir'];
  if (args['in-memory'] === true) overrides.VAULTPILOT_IN_MEMORY = 'true';
  if (args['no-scheduler'] === true) overrides.VAULTPILOT_SCHEDULER = 'false';

  const started = performance.now();
  const environment = { ...readEnvironment(), ...overrides };
  const config = parseLocalRuntimeConfig(environment);
  // `npm run dev` serves the dashboard from Vite's dev server instead, so it skips the build.
  if (args['no-dashboard-build'] !== true) {
    await ensureDashboardBuild({
      info: (message) => log.info(message),
      error: (message) => log.error(message),
    });
  }
  const runtime = await startLocalRuntime(config, log, parseLocalLimits(environment));
  console.log(banner(runtime));
  log.info(`Ready in ${Math.round(performance.now() - started)} ms`);

  await new Promise<void>((resolveStop) => {
    const stop = (signal: NodeJS.Signals): void => {
      log.info(`${signal} received, shutting down`);
      runtime.stop().then(
        () => {
          log.info('Stopped; all data is on disk');
          resolveStop();
        },
        (error: unknown) => {
          log.error('Shutdown failed', { reason: error instanceof Error ? error.message : String(error) });
          process.exitCode = 1;
          resolveStop();
        },
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return process.exitCode === undefined ? 0 : Number(process.exitCode);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof LocalStateError) {
      console.error(error.message);
    } else {
      console.error('VaultPilot could not start:', error instanceof Error ? error.message : String(error));
    }
    process.exitCode = 1;
  },
);
