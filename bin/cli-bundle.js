// @ts-check
// The client half of `vaultpilot` as plain JS, so a `vaultpilot kv get` does not pay for tsx and
// the TypeScript transform on every start (measured in `npm run bench -- cli`).
// Built with esbuild on first use into node_modules/.cache/vaultpilot-cli/: a small entry (argv,
// dispatch, HTTP, profiles) and one chunk per command group, loaded when its command runs.
// inputs.json records the size and modification time of what it was built from; any change
// rebuilds it. Where the cache cannot be written (a read-only install), or with
// VAULTPILOT_CLI_TSX=1, the sources run through tsx.
//
// The check runs on every start, so it is kept to about twenty synchronous stats: the project's
// own sources one by one, the dependencies through npm's record of node_modules
// (node_modules/.package-lock.json, rewritten by every `npm install` or `npm ci` that changes it)
// instead of each of their files. A hand edit inside node_modules is not noticed: delete the
// cache directory after one.
import {
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = path.join(ROOT, 'lambdas', 'cli', 'main.ts');
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'vaultpilot-cli');
const BUNDLE = path.join(CACHE, 'client.mjs');
const INPUTS = path.join(CACHE, 'inputs.json');
/** This file: a change to how the bundle is built rebuilds it too. */
const SELF = path.relative(ROOT, fileURLToPath(import.meta.url));
const DEPENDENCIES = 'node_modules/.package-lock.json';
const OLD_CHUNK_MS = 60 * 60_000;

/** @typedef {{ runClient: (argv: readonly string[], io: object) => Promise<number> }} ClientModule */
/** @typedef {Record<string, [number, number]>} Stamps */

/**
 * What the bundle depends on, by path relative to `root`: the given inputs (esbuild's metafile),
 * those under node_modules/ replaced by npm's record of node_modules where there is one.
 * @param {string} root
 * @param {readonly string[]} files
 * @returns {Stamps}
 */
export function stampInputs(root, files) {
  const dependencies = statSync(path.join(root, DEPENDENCIES), { throwIfNoEntry: false });
  /** @type {Stamps} */
  const stamps = {};
  for (const file of files) {
    if (dependencies !== undefined && file.startsWith('node_modules/')) continue;
    const info = statSync(path.join(root, file));
    stamps[file] = [info.size, info.mtimeMs];
  }
  if (dependencies !== undefined) stamps[DEPENDENCIES] = [dependencies.size, dependencies.mtimeMs];
  return stamps;
}

/**
 * True when every recorded input still has its recorded size and modification time.
 * @param {string} root
 * @param {unknown} stamps what inputs.json holds
 */
export function inputsAreCurrent(root, stamps) {
  if (typeof stamps !== 'object' || stamps === null) return false;
  for (const [file, seen] of Object.entries(stamps)) {
    const info = statSync(path.join(root, file), { throwIfNoEntry: false });
    if (info === undefined || !Array.isArray(seen) || info.size !== seen[0] || info.mtimeMs !== seen[1])
      return false;
  }
  return true;
}

function bundleIsCurrent() {
  let stamps;
  try {
    stamps = JSON.parse(readFileSync(INPUTS, 'utf8'));
  } catch {
    return false;
  }
  return inputsAreCurrent(ROOT, stamps);
}

/** The API contracts the client imports (with the full zod): lambdas/shared/contracts/NAME.js. */
const CONTRACT = /^(?:\.\.\/)+shared\/contracts\/([a-z0-9-]+)\.js$/;

async function buildBundle() {
  const { build } = await import('esbuild');
  /** @type {Set<string>} */
  const contracts = new Set();
  /** @type {import('esbuild').BuildOptions} */
  const common = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    keepNames: true,
    outdir: CACHE,
    outExtension: { '.js': '.mjs' },
    metafile: true,
    write: false,
    logLevel: 'silent',
    absWorkingDir: ROOT,
  };
  const result = await build({
    ...common,
    entryPoints: [ENTRY],
    // The command groups (main.ts) and the profile schemas go in chunks loaded on demand.
    splitting: true,
    entryNames: 'client',
    chunkNames: 'chunk-[hash]',
    plugins: [
      {
        // The API contracts (used by the command groups other than kv and run) are bundled apart,
        // sharing one copy of the full zod among themselves: in a chunk shared with the client,
        // zod's core would carry what the full zod needs to every command that loads zod/mini.
        name: 'contracts-apart',
        setup(plugin) {
          plugin.onResolve({ filter: CONTRACT }, (args) => {
            const name = CONTRACT.exec(args.path)?.[1] ?? '';
            contracts.add(name);
            return { path: `./contract-${name}.mjs`, external: true };
          });
        },
      },
    ],
  });
  const contractBuild = await build({
    ...common,
    entryPoints: [...contracts].map((name) => ({
      in: path.join(ROOT, 'lambdas', 'shared', 'contracts', `${name}.ts`),
      out: `contract-${name}`,
    })),
    splitting: true,
    chunkNames: 'chunk-[hash]',
  });
  const entry = result.outputFiles.find((file) => file.path === BUNDLE);
  if (entry === undefined) throw new Error('esbuild wrote no entry');
  const stamps = stampInputs(ROOT, [
    ...new Set([...Object.keys(result.metafile.inputs), ...Object.keys(contractBuild.metafile.inputs), SELF]),
  ]);
  mkdirSync(CACHE, { recursive: true });
  // Temporary names and renames: a concurrent start sees the old files or the new, not half of one.
  // Chunks first (their names carry a content hash), then the entry that imports them, then the
  // record that makes the next start use them.
  const suffix = `${process.pid}.${Date.now()}.tmp`;
  const writes = [
    ...contractBuild.outputFiles,
    ...result.outputFiles.filter((file) => file !== entry),
    entry,
  ];
  for (const file of writes) {
    writeFileSync(`${file.path}.${suffix}`, file.contents);
    renameSync(`${file.path}.${suffix}`, file.path);
  }
  writeFileSync(`${INPUTS}.${suffix}`, JSON.stringify(stamps));
  renameSync(`${INPUTS}.${suffix}`, INPUTS);
  // Chunks of earlier builds, once no process started from their entry can still want one: a
  // command group's chunk loads after the entry, so a process that started just before this build
  // may import an old chunk a moment from now.
  const current = new Set(writes.map((file) => path.basename(file.path)));
  for (const name of readdirSync(CACHE)) {
    if (!name.startsWith('chunk-') || !name.endsWith('.mjs') || current.has(name)) continue;
    try {
      const chunk = path.join(CACHE, name);
      if (Date.now() - statSync(chunk).mtimeMs > OLD_CHUNK_MS) unlinkSync(chunk);
    } catch {
      // Removed by a concurrent build already.
    }
  }
}

/** @returns {Promise<ClientModule>} */
async function throughTsx() {
  const { register } = await import('tsx/esm/api');
  register();
  return import(pathToFileURL(ENTRY).href);
}

/** @returns {Promise<ClientModule>} */
export async function loadClient() {
  if (process.env.VAULTPILOT_CLI_TSX === '1') return throughTsx();
  try {
    if (!bundleIsCurrent()) await buildBundle();
    return await import(pathToFileURL(BUNDLE).href);
  } catch {
    return throughTsx();
  }
}
