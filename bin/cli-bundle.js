// @ts-check
// The client half of `vaultpilot` as one plain-JS file, so a `vaultpilot kv get` does not pay for
// tsx and the TypeScript transform on every start (measured in `npm run bench -- cli`).
// Built with esbuild on first use into node_modules/.cache/vaultpilot-cli/, with the size and
// modification time of every input it read; any change rebuilds it. Where the cache cannot be
// written (a read-only install), or with VAULTPILOT_CLI_TSX=1, the sources run through tsx.
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = path.join(ROOT, 'lambdas', 'cli', 'main.ts');
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'vaultpilot-cli');
const BUNDLE = path.join(CACHE, 'client.mjs');
const INPUTS = path.join(CACHE, 'inputs.json');

/** @typedef {{ runClient: (argv: readonly string[], io: object) => Promise<number> }} ClientModule */

/** @returns {Promise<boolean>} true when the bundle was built from the inputs as they are now */
async function bundleIsCurrent() {
  let inputs;
  try {
    inputs = JSON.parse(await readFile(INPUTS, 'utf8'));
  } catch {
    return false;
  }
  if (typeof inputs !== 'object' || inputs === null) return false;
  const checks = Object.entries(inputs).map(async ([file, seen]) => {
    try {
      const info = await stat(path.join(ROOT, file));
      return Array.isArray(seen) && info.size === seen[0] && info.mtimeMs === seen[1];
    } catch {
      return false;
    }
  });
  return (await Promise.all(checks)).every(Boolean);
}

async function buildBundle() {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Code only `login` needs (the full zod of the API contracts) goes in a chunk loaded on demand.
    splitting: true,
    minify: true,
    keepNames: true,
    outdir: CACHE,
    entryNames: 'client',
    chunkNames: 'chunk-[hash]',
    outExtension: { '.js': '.mjs' },
    metafile: true,
    write: false,
    logLevel: 'silent',
    absWorkingDir: ROOT,
  });
  const entry = result.outputFiles.find((file) => file.path === BUNDLE);
  if (entry === undefined) throw new Error('esbuild wrote no entry');
  /** @type {Record<string, [number, number]>} */
  const inputs = {};
  for (const file of Object.keys(result.metafile.inputs)) {
    const info = await stat(path.join(ROOT, file));
    inputs[file] = [info.size, info.mtimeMs];
  }
  await mkdir(CACHE, { recursive: true });
  // Temporary names and renames: a concurrent start sees the old files or the new, not half of one.
  // Chunks first (their names carry a content hash), then the entry that imports them, then the
  // record that makes the next start use them.
  const suffix = `${process.pid}.${Date.now()}.tmp`;
  const writes = [...result.outputFiles.filter((file) => file !== entry), entry];
  for (const file of writes) {
    await writeFile(`${file.path}.${suffix}`, file.contents);
    await rename(`${file.path}.${suffix}`, file.path);
  }
  await writeFile(`${INPUTS}.${suffix}`, JSON.stringify(inputs));
  await rename(`${INPUTS}.${suffix}`, INPUTS);
  // Chunks of earlier builds; a process still running one has loaded it already.
  const current = new Set(result.outputFiles.map((file) => path.basename(file.path)));
  for (const name of await readdir(CACHE)) {
    if (name.startsWith('chunk-') && name.endsWith('.mjs') && !current.has(name))
      await unlink(path.join(CACHE, name)).catch(() => undefined);
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
    if (!(await bundleIsCurrent())) await buildBundle();
    return await import(pathToFileURL(BUNDLE).href);
  } catch {
    return throughTsx();
  }
}
