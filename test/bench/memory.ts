/**
 * `npm run bench -- memory [--requests N] [--scheduler]`: the resident memory of `npm start` under
 * a long run of mixed API traffic. Goal (issue 13): RSS after 100,000 requests ≤ RSS after 10,000
 * + 50 MB. `--scheduler` runs the scheduled engines too, as a plain `npm start` does (a long soak:
 * the rotation scheduler fires every 15 minutes, the audit digest and discovery every hour).
 *
 * The local runtime runs exactly as `npm start` runs it (bin/local.ts in its own Node process,
 * LevelDB in a throwaway data directory, scheduler off unless asked, dashboard not rebuilt), so its RSS is
 * read from /proc without the load generator's memory in it. The traffic cycles through secret
 * writes and reads (each a Query that stops at its Limit: the path that leaked a LevelDB iterator
 * per request before patches/dynalite+4.0.0.patch), the inventory, metadata listing, the audit
 * log, /me and /health. RSS is sampled after every tenth of the run, after a short idle pause so
 * that work in flight (audit chaining) has settled; the comparison is the last sample against the
 * one at a tenth of the run. The process runs with a probe (memory-gc-probe.cjs) that, after each
 * sample and once before the run, performs a full GC and reports the JavaScript heap and Buffers
 * still held: that figure is what a leak grows, whatever the GC's timing, and every RSS sample
 * follows such a GC by a tenth of the run, so the samples are alike.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PASSWORD = 'bench-memory-password-1';
const SECRET_PATHS = 200;
const ALLOWED_GROWTH_MB = 50;
/** Preloaded into the measured process: a full GC on SIGUSR2 (memory-gc-probe.cjs). */
const GC_PROBE = fileURLToPath(new URL('./memory-gc-probe.cjs', import.meta.url));

/**
 * The process's resident memory from /proc, in MB: the whole RSS, and its two parts, anonymous
 * memory (the JavaScript heap, malloc's arenas: LevelDB, libuv, OpenSSL) and file-backed pages
 * (Node's binary and libraries; LevelDB maps its table files).
 */
function residentMb(pid: number): { rss: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const kb = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1];
    if (kb === undefined) throw new Error(`No ${name} for process ${pid}`);
    return Number(kb) / 1024;
  };
  return { rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile') };
}

/** Starts bin/local.ts as `npm start` does and resolves with its API URL from the banner. */
function startLocal(dataDir: string, scheduler: boolean): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--require',
      GC_PROBE,
      '--import',
      'tsx',
      'bin/local.ts',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      ...(scheduler ? [] : ['--no-scheduler']),
      '--no-dashboard-build',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        VAULTPILOT_ADMIN_PASSWORD: PASSWORD,
        // Limits that never refuse: the run measures memory, not 429s.
        VAULTPILOT_RATE_LIMIT_CLIENT_RPS: '100000',
        VAULTPILOT_RATE_LIMIT_CLIENT_BURST: '100000',
        VAULTPILOT_RATE_LIMIT_TENANT_RPS: '100000',
        VAULTPILOT_RATE_LIMIT_TENANT_BURST: '100000',
        VAULTPILOT_TOKEN_TTL_SECONDS: '86400',
        POWERTOOLS_LOG_LEVEL: 'ERROR',
      },
    },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const url = /API\s+(http:\/\/\S+)/.exec(output)?.[1];
      if (url !== undefined) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve({ child, url });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split(/(?<=\n)/)) {
        if (line.startsWith(COLLECTED)) child.emit(COLLECTED, line.slice(COLLECTED.length));
        else process.stderr.write(line);
      }
    });
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}: ${output}`)));
  });
}

const COLLECTED = 'vaultpilot-bench: collected ';

/**
 * Asks the process for a full GC (memory-gc-probe.cjs) and answers what its JavaScript heap and
 * the memory V8 tracks outside it (Buffers) hold then (`live`), and the heap V8 keeps committed
 * after it (`heapTotal`), in MB.
 */
async function liveHeapMb(child: ChildProcess): Promise<{ live: number; heapTotal: number }> {
  const report = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('npm start did not run the GC within 30 s')), 30_000);
    child.once(COLLECTED, (line: string) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.kill('SIGUSR2');
  });
  const { heapUsed, heapTotal, external } = JSON.parse(report) as {
    heapUsed: number;
    heapTotal: number;
    external: number;
  };
  return { live: (heapUsed + external) / 1024 / 1024, heapTotal: heapTotal / 1024 / 1024 };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

type Call = (i: number) => Promise<void>;

function mixedTraffic(url: string, accessToken: string): { call: Call; write: Call } {
  const auth = { authorization: `Bearer ${accessToken}` };
  const expect200 = async (what: string, response: Response): Promise<void> => {
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${what} answered ${response.status}`);
  };
  const secretPath = (i: number): string => `memory/s-${String(i % SECRET_PATHS).padStart(3, '0')}`;
  const write: Call = async (i) =>
    expect200(
      'POST /secrets/data',
      await fetch(`${url}/secrets/data/${secretPath(i)}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ data: { password: `value-${i}`, user: 'svc' } }),
      }),
    );
  const steps: Call[] = [
    write,
    async (i) =>
      expect200('GET /secrets/data', await fetch(`${url}/secrets/data/${secretPath(i)}`, { headers: auth })),
    async (i) =>
      expect200(
        'GET /secrets/data',
        await fetch(`${url}/secrets/data/${secretPath(i + 7)}`, { headers: auth }),
      ),
    async (i) =>
      expect200(
        'GET /secrets/metadata/{path}',
        await fetch(`${url}/secrets/metadata/${secretPath(i + 3)}`, { headers: auth }),
      ),
    async () => expect200('GET /credentials', await fetch(`${url}/credentials?limit=50`, { headers: auth })),
    async () =>
      expect200('GET /secrets/metadata', await fetch(`${url}/secrets/metadata?list=true`, { headers: auth })),
    async () => expect200('GET /audit', await fetch(`${url}/audit?limit=20`, { headers: auth })),
    async (i) =>
      expect200(
        'GET /secrets/data',
        await fetch(`${url}/secrets/data/${secretPath(i + 11)}`, { headers: auth }),
      ),
    async () => expect200('GET /me', await fetch(`${url}/me`, { headers: auth })),
    async () => expect200('GET /health', await fetch(`${url}/health`)),
  ];
  return { call: (i) => steps[i % steps.length]!(i), write };
}

async function drive(call: Call, from: number, to: number): Promise<void> {
  let next = from;
  const worker = async (): Promise<void> => {
    while (next < to) {
      const i = next;
      next += 1;
      await call(i);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

export async function runMemoryBench(requests: number, options: { scheduler: boolean }): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vp-bench-memory-'));
  const { child, url } = await startLocal(dataDir, options.scheduler);
  const pid = child.pid;
  if (pid === undefined) throw new Error('npm start has no process id');
  try {
    const login = await fetch(`${url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: PASSWORD }),
    });
    if (login.status !== 200) throw new Error(`Sign-in answered ${login.status}`);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const { call, write } = mixedTraffic(url, accessToken);

    // Every secret path exists before reads start.
    await drive(write, 0, SECRET_PATHS);
    const seeded = residentMb(pid).rss;
    // Every RSS sample below is taken a tenth of the run after a full GC (this one, then the one
    // behind each sample's live-heap reading), so all of them have the same history: sampling the
    // first before any forced GC and the others after one would flatter the growth.
    const seededLive = (await liveHeapMb(child)).live;

    console.log(
      `npm start RSS under mixed API traffic: ${requests} requests, concurrency ${CONCURRENCY}, LevelDB data dir, ` +
        `scheduled engines ${options.scheduler ? 'on' : 'off'}, load average ${loadavg()
          .map((load) => load.toFixed(2))
          .join(' ')}`,
    );
    console.log(
      `  after start and ${SECRET_PATHS} seed writes: RSS ${seeded.toFixed(1)} MB, ` +
        `live heap + external after a full GC ${seededLive.toFixed(1)} MB`,
    );
    const tenth = Math.max(1, Math.floor(requests / 10));
    const samples: number[] = [];
    const live: number[] = [];
    const started = performance.now();
    for (let step = 1; step <= 10; step += 1) {
      await drive(call, (step - 1) * tenth, step * tenth);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const resident = residentMb(pid);
      samples.push(resident.rss);
      // Then what the JavaScript side still holds after a full GC: a leak grows it, while the
      // RSS also moves with when the GC last ran and how much of its space V8 keeps.
      const heap = await liveHeapMb(child);
      live.push(heap.live);
      const rate = (step * tenth) / ((performance.now() - started) / 1000);
      console.log(
        `  after ${String(step * tenth).padStart(7)} requests: RSS ${samples.at(-1)!.toFixed(1).padStart(7)} MB, ` +
          `live heap + external after a full GC ${live.at(-1)!.toFixed(1).padStart(6)} MB, ` +
          `V8 heap ${heap.heapTotal.toFixed(1)} MB; RSS anon ${resident.anon.toFixed(1)} + file ${resident.file.toFixed(1)} MB   (${rate.toFixed(0)} req/s overall)`,
      );
    }
    const growth = samples.at(-1)! - samples[0]!;
    console.log(
      `  growth from ${tenth} to ${tenth * 10} requests: RSS ${growth.toFixed(1)} MB (goal ≤ ${ALLOWED_GROWTH_MB} MB) ` +
        `${growth <= ALLOWED_GROWTH_MB ? 'met' : 'NOT met'}; live heap + external ${(live.at(-1)! - live[0]!).toFixed(1)} MB; ` +
        `peak RSS ${Math.max(...samples).toFixed(1)} MB; load average ${loadavg()
          .map((load) => load.toFixed(2))
          .join(' ')}`,
    );
  } finally {
    await stop(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}
