/**
 * `npm run bench -- lambda`: for every function, its minified bundle size and module-init time
 * (a cold start's import, in a fresh Node process) next to a bare bundle of exactly the AWS SDK
 * clients it uses, both built with the Lambda bundle options and timed in the same run. Init is
 * the median of BENCH_LAMBDA_RUNS loads (default 7), function and bare interleaved so both see
 * the same machine load. Goal (issue 12): init <= 1.2 x bare and size <= bare + 150 KB. The CPU
 * time of the same loads (user + system, median) is printed beside: on a shared machine it varies
 * far less than wall time, so it shows what a change did when other work runs at the same time.
 * Under each function, its bytes beyond the bare bundle by origin (esbuild's metafile): zod, the
 * Powertools logger and metrics, aws-jwt-verify, middy, more SDK code than the bare clients, other
 * packages, and VaultPilot's own code.
 *
 * Floors: for each distinct bare bundle (functions with the same SDK clients share one), a floor
 * bundle of those clients plus what every function of this design loads at init whatever its own
 * code (the Powertools logger and metrics, middy with injectLambdaContext, zod and one config
 * schema parsed: test/support/lambda-bundles.ts `floorSource`), timed in the same interleaved
 * runs as the first function that has that bare bundle, once with classic zod and once with
 * `zod/mini`. A floor above init 1.2 x bare means no code of the function's own can meet the init
 * goal while it keeps those libraries.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FunctionId, MANIFESTS } from '../../lambdas/functions/index.js';
import {
  AWS_FUNCTION_ENV,
  type BuiltBundle,
  bareClientsSource,
  bundleBareClients,
  bundleFloor,
  bundleFunction,
  type FloorZod,
  loadBundle,
} from '../support/lambda-bundles.js';

const RUNS = Number(process.env.BENCH_LAMBDA_RUNS ?? 7);
const SIZE_HEADROOM_KB = 150;
const INIT_RATIO_GOAL = 1.2;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

const ORIGINS: readonly (readonly [string, RegExp])[] = [
  ['zod', /node_modules\/zod\//],
  ['powertools', /node_modules\/(@aws-lambda-powertools|@aws\/lambda-invoke-store)\//],
  ['jwt-verify', /node_modules\/aws-jwt-verify\//],
  ['middy', /node_modules\/@middy\//],
  ['sdk', /node_modules\/(@aws-sdk|@smithy|@aws-crypto)\//],
  ['other pkgs', /node_modules\//],
  ['own code', /./],
];

function inputsOf(built: BuiltBundle): [string, number][] {
  return Object.values(built.metafile.outputs).flatMap((output) =>
    Object.entries(output.inputs).map(([path, input]): [string, number] => [path, input.bytesInOutput]),
  );
}

/** The function's bytes that the bare bundle does not hold, by origin. */
function beyondBare(fn: BuiltBundle, bare: BuiltBundle): string {
  const inBare = new Set(inputsOf(bare).map(([path]) => path));
  const bytes = new Map<string, number>();
  for (const [path, size] of inputsOf(fn)) {
    if (inBare.has(path)) continue;
    const origin = ORIGINS.find(([, pattern]) => pattern.test(path))?.[0] ?? 'own code';
    bytes.set(origin, (bytes.get(origin) ?? 0) + size);
  }
  return ORIGINS.flatMap(([origin]) => {
    const size = bytes.get(origin) ?? 0;
    return size < 512 ? [] : [`${origin} ${(size / 1024).toFixed(0)}`];
  }).join(', ');
}

async function initTime(file: string): Promise<{ wall: number; cpu: number }> {
  const loaded = await loadBundle(file, AWS_FUNCTION_ENV);
  if (loaded.status !== 0 || loaded.initMs === undefined || loaded.initCpuMs === undefined) {
    throw new Error(`${file} did not load: ${loaded.stderr.slice(0, 500)}`);
  }
  return { wall: loaded.initMs, cpu: loaded.initCpuMs };
}

/** A floor's figures, measured once per distinct bare bundle. */
interface Floor {
  /** The function whose runs the floor was timed in. */
  readonly measuredWith: string;
  readonly zod: FloorZod;
  /** KB beyond the bare bundle. */
  readonly extraKb: number;
  /** Median init (wall) over the bare bundle's median, same runs. */
  readonly ratio: number;
  /** Median init CPU over the bare bundle's, same runs. */
  readonly cpuRatio: number;
  readonly ms: number;
  readonly cpuMs: number;
}

const FLOOR_ZODS: readonly FloorZod[] = ['zod', 'zod/mini'];

function floorLine(floor: Floor, measuredHere: boolean): string {
  const label = floor.zod === 'zod' ? 'floor (zod)     ' : 'floor (zod/mini)';
  const where = measuredHere ? '' : `   (same bare bundle as ${floor.measuredWith}, timed there)`;
  return (
    `      ${label} +${floor.extraKb.toFixed(0)} KB, init ${floor.ms.toFixed(1)} ms ${floor.ratio.toFixed(2)} x bare, ` +
    `cpu ${floor.cpuMs.toFixed(1)} ms ${floor.cpuRatio.toFixed(2)} x${where}`
  );
}

export async function runLambdaBench(): Promise<void> {
  const outdir = mkdtempSync(join(tmpdir(), 'vaultpilot-bench-lambda-'));
  try {
    console.log(`Lambda bundles: minified size and module init (median of ${RUNS} cold loads), next to a`);
    console.log(
      'bare bundle of exactly the SDK clients each function uses. Goal: init <= 1.2 x bare, size <= bare + 150 KB.',
    );
    console.log('Under each function: its KB beyond the bare bundle, by origin.');
    console.log(
      'Then its floor: the bare bundle + Powertools logger and metrics, middy (injectLambdaContext), zod and one',
    );
    console.log(
      'config schema parsed, with classic zod and with zod/mini (one floor per distinct bare bundle).',
    );
    console.log(
      `  ${'function'.padEnd(19)} ${'size KB'.padStart(8)} ${'bare KB'.padStart(8)} ${'+KB'.padStart(6)}  ${'init ms'.padStart(8)} ${'bare ms'.padStart(8)} ${'ratio'.padStart(6)}  ${'cpu ms'.padStart(7)} ${'bare'.padStart(6)} ${'ratio'.padStart(6)}  goal`,
    );
    let met = 0;
    const ids = Object.keys(MANIFESTS) as FunctionId[];
    // Floors by bare bundle source: functions with the same SDK clients share theirs.
    const floors = new Map<string, readonly Floor[]>();
    const floorsOf: Floor[][] = [];
    for (const id of ids) {
      const fn = await bundleFunction(id, outdir);
      const bare = await bundleBareClients(id, outdir);
      const bareKey = bareClientsSource(id);
      const known = floors.get(bareKey);
      const floorBundles =
        known === undefined ? await Promise.all(FLOOR_ZODS.map((zod) => bundleFloor(id, zod, outdir))) : [];
      const floorTimes = floorBundles.map((): { wall: number[]; cpu: number[] } => ({ wall: [], cpu: [] }));
      const fnTimes: number[] = [];
      const bareTimes: number[] = [];
      const fnCpu: number[] = [];
      const bareCpu: number[] = [];
      // One unmeasured load each warms the file cache.
      await initTime(fn.file);
      await initTime(bare.file);
      for (const floor of floorBundles) await initTime(floor.file);
      for (let run = 0; run < RUNS; run += 1) {
        const fnRun = await initTime(fn.file);
        const bareRun = await initTime(bare.file);
        for (const [index, floor] of floorBundles.entries()) {
          const floorRun = await initTime(floor.file);
          floorTimes[index]?.wall.push(floorRun.wall);
          floorTimes[index]?.cpu.push(floorRun.cpu);
        }
        fnTimes.push(fnRun.wall);
        bareTimes.push(bareRun.wall);
        fnCpu.push(fnRun.cpu);
        bareCpu.push(bareRun.cpu);
      }
      const fnMs = median(fnTimes);
      const bareMs = median(bareTimes);
      const extraKb = (fn.bytes - bare.bytes) / 1024;
      const ratio = fnMs / bareMs;
      const fnCpuMs = median(fnCpu);
      const bareCpuMs = median(bareCpu);
      const sizeOk = extraKb <= SIZE_HEADROOM_KB;
      const initOk = ratio <= INIT_RATIO_GOAL;
      if (sizeOk && initOk) met += 1;
      console.log(
        `  ${MANIFESTS[id].name.padEnd(19)} ${(fn.bytes / 1024).toFixed(0).padStart(8)} ${(bare.bytes / 1024).toFixed(0).padStart(8)} ${extraKb.toFixed(0).padStart(6)}  ${fnMs.toFixed(1).padStart(8)} ${bareMs.toFixed(1).padStart(8)} ${ratio.toFixed(2).padStart(6)}  ${fnCpuMs.toFixed(1).padStart(7)} ${bareCpuMs.toFixed(1).padStart(6)} ${(fnCpuMs / bareCpuMs).toFixed(2).padStart(6)}  ${sizeOk ? 'size ok' : 'SIZE'} ${initOk ? 'init ok' : 'INIT'}`,
      );
      console.log(`      ${beyondBare(fn, bare)}`);
      const measured = floorBundles.map((floor, index): Floor => {
        const times = floorTimes[index] ?? { wall: [], cpu: [] };
        return {
          measuredWith: MANIFESTS[id].name,
          zod: FLOOR_ZODS[index] ?? 'zod',
          extraKb: (floor.bytes - bare.bytes) / 1024,
          ms: median(times.wall),
          cpuMs: median(times.cpu),
          ratio: median(times.wall) / bareMs,
          cpuRatio: median(times.cpu) / bareCpuMs,
        };
      });
      if (known === undefined) floors.set(bareKey, measured);
      const own = known ?? measured;
      floorsOf.push([...own]);
      for (const floor of own) console.log(floorLine(floor, known === undefined));
    }
    console.log(`  ${met} of ${ids.length} functions meet both goals`);
    // How many functions cannot meet the init goal whatever their own code, by either measure.
    // Compared as printed (two decimals), so a floor shown as 1.20 is not counted as over 1.2.
    const over = (zod: FloorZod, pick: (floor: Floor) => number): number =>
      floorsOf.filter((own) =>
        own.some((floor) => floor.zod === zod && Number(pick(floor).toFixed(2)) > INIT_RATIO_GOAL),
      ).length;
    const overSize = (zod: FloorZod): number =>
      floorsOf.filter((own) => own.some((floor) => floor.zod === zod && floor.extraKb > SIZE_HEADROOM_KB))
        .length;
    console.log(
      `  floors over init ${INIT_RATIO_GOAL} x bare: ${over('zod', (f) => f.ratio)} of ${ids.length} functions with classic zod ` +
        `(${over('zod', (f) => f.cpuRatio)} by CPU), ${over('zod/mini', (f) => f.ratio)} with zod/mini ` +
        `(${over('zod/mini', (f) => f.cpuRatio)} by CPU); for those the init goal cannot be met without dropping ` +
        'the Powertools logger and metrics, middy or zod',
    );
    console.log(
      `  floors over bare + ${SIZE_HEADROOM_KB} KB: ${overSize('zod')} of ${ids.length} with classic zod, ` +
        `${overSize('zod/mini')} with zod/mini`,
    );
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
