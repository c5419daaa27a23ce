/**
 * Where the CPU of secret reads and writes goes on the local runtime: `npx tsx
 * test/bench/secrets-profile.ts [out-dir]` runs the secrets benchmark's read and write loops (one
 * hot 1 KiB secret; writes over 32 paths, each pruning) in memory, records a V8 CPU profile of
 * each loop through node:inspector (the chain appends the loop queued included: they run in the
 * same process), writes them as `<out-dir>/read.cpuprofile` and `write.cpuprofile` (for Chrome
 * DevTools or speedscope), and prints each profile's samples grouped by who spent them.
 *
 * A sample is charged to the innermost frame that belongs to a known owner (dynalite, the AWS
 * SDK, aws-jwt-verify, zod, our lambdas/ code, ...); frames of Node's own modules are charged to
 * their nearest such caller, and callbacks Node runs from the event loop with no such caller are
 * "node: event loop". No value is printed. Loops are bounded in count.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Session } from 'node:inspector/promises';
import type { Profiler } from 'node:inspector';
import { bounded } from './secrets-api.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const READS = Number(process.env.BENCH_SECRETS_READS ?? 1500);
const WRITES = Number(process.env.BENCH_SECRETS_WRITES ?? 600);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const WRITE_PATHS = 32;
const PASSWORD = 'bench-password-0123456789';

/** Owners by the script URL of a frame, first match wins. */
const OWNERS: readonly (readonly [RegExp, string])[] = [
  [
    /node_modules\/(dynalite|[^/]*level[^/]*|functional-red-black-tree|lock|async|big\.js)\//,
    'dynalite (server)',
  ],
  [/node_modules\/@smithy\/signature-v4|httpAuthSchemes/, 'AWS SDK: SigV4 signing'],
  [/node_modules\/(@aws-sdk\/lib-dynamodb|@aws-sdk\/util-dynamodb)\//, 'AWS SDK: document marshalling'],
  [/node_modules\/(@smithy|@aws-sdk)\//, 'AWS SDK: client stack (middleware, protocol, retries)'],
  [/node_modules\/aws-jwt-verify\//, 'aws-jwt-verify (token check)'],
  [/node_modules\/zod\//, 'zod'],
  [/node_modules\/@aws-lambda-powertools\//, 'Powertools logger and metrics'],
  [/node_modules\/@middy\//, 'middy'],
  [/undici/, 'benchmark client (fetch)'],
  [/lambdas\/local\//, 'ours: local runtime (HTTP server, event building)'],
  [/lambdas\/(core\/audit|adapters\/aws\/dynamodb-audit)/, 'ours: audit events, sink and chain'],
  [
    /lambdas\/(core\/secrets|adapters\/aws\/dynamodb-secret-store|adapters\/local\/file-keyring)/,
    'ours: secret store and envelope',
  ],
  [/lambdas\//, 'ours: other (handler, access, shared)'],
  [/node_modules\//, 'other packages'],
];

function ownerOfUrl(url: string): string | undefined {
  return OWNERS.find(([pattern]) => pattern.test(url))?.[1];
}

/** Milliseconds of samples per owner, largest first. */
export function chargeSamples(profile: Profiler.Profile): { owner: string; ms: number }[] {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const owners = new Map<number, string>();
  const ownerOf = (id: number): string => {
    const known = owners.get(id);
    if (known !== undefined) return known;
    const { functionName, url } = nodes.get(id)?.callFrame ?? { functionName: '', url: '' };
    const parent = parents.get(id);
    let owner = ownerOfUrl(url);
    if (owner === undefined) {
      if (functionName === '(garbage collector)') owner = 'garbage collection';
      else if (functionName === '(idle)') owner = 'idle';
      else if (functionName === '(program)') owner = 'V8 and native (unattributed)';
      else if (parent === undefined || nodes.get(parent)?.callFrame.functionName === '(root)') {
        owner = 'node: event loop (sockets, HTTP parsing, promise jobs)';
      } else owner = ownerOf(parent);
    }
    owners.set(id, owner);
    return owner;
  };
  const totals = new Map<string, number>();
  profile.samples?.forEach((id, i) => {
    const owner = ownerOf(id);
    totals.set(owner, (totals.get(owner) ?? 0) + (profile.timeDeltas?.[i] ?? 0) / 1000);
  });
  return [...totals].map(([owner, ms]) => ({ owner, ms })).sort((a, b) => b.ms - a.ms);
}

async function main(outDir: string): Promise<void> {
  const { signInLocal, startInMemoryRuntime } = await import('../support/local-api.js');
  const { auditAppendsSettled } = await import('../../lambdas/platform/index.js');
  mkdirSync(outDir, { recursive: true });
  const runtime = await startInMemoryRuntime({
    adminPassword: PASSWORD,
    log: { info: () => undefined, error: (message) => console.error(message) },
  });
  const session = new Session();
  try {
    const { url } = runtime;
    const auth = { authorization: `Bearer ${await signInLocal(url, 'admin', PASSWORD)}` };
    const send = async (path: string, init: RequestInit = {}): Promise<void> => {
      const response = await fetch(`${url}/secrets/data/${path}`, init);
      await response.arrayBuffer();
      if (response.status !== 200)
        throw new Error(`${init.method ?? 'GET'} ${path} answered ${response.status}`);
    };
    const put = (path: string): Promise<void> =>
      send(path, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ data: { value: randomBytes(768).toString('base64') } }),
      });
    const read = (): Promise<void> => send('bench/hot', { headers: auth });
    const write = (i: number): Promise<void> =>
      put(`bench/write-${String(i % WRITE_PATHS).padStart(2, '0')}`);

    // As in secrets-api.ts: the hot secret, every write path full (maxVersions = 10), a warm-up.
    await put('bench/hot');
    await bounded(WRITE_PATHS * 10, CONCURRENCY, write);
    for (let i = 0; i < 50; i += 1) await read();
    await auditAppendsSettled();

    session.connect();
    await session.post('Profiler.enable');
    for (const [name, count, call] of [
      ['read', READS, read],
      ['write', WRITES, write],
    ] as const) {
      await session.post('Profiler.start');
      const started = performance.now();
      await bounded(count, CONCURRENCY, call);
      await auditAppendsSettled();
      const seconds = (performance.now() - started) / 1000;
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(`${outDir}/${name}.cpuprofile`, JSON.stringify(profile));
      const charged = chargeSamples(profile);
      const total = charged.reduce((sum, { ms }) => sum + ms, 0);
      console.log(
        `${name}: ${count} requests, concurrency ${CONCURRENCY}, ${(count / seconds).toFixed(0)} req/s ` +
          `with their chain appends; ${total.toFixed(0)} ms of samples (${outDir}/${name}.cpuprofile)`,
      );
      for (const { owner, ms } of charged) {
        console.log(`  ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${owner}`);
      }
    }
  } finally {
    session.disconnect();
    await runtime.stop();
  }
}

await main(process.argv[2] ?? 'cpu-profiles');
