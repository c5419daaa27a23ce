// @ts-check
'use strict';
// The client half of `vaultpilot` as plain JS, so a `vaultpilot kv get` does not pay for tsx and
// the TypeScript transform on every start (measured in `npm run bench -- cli`).
//
// Built with esbuild on first use into node_modules/.cache/vaultpilot-cli/:
// - client.cjs: the whole client (lambdas/cli/main.ts) in one CommonJS file. One file, because
//   each module Node loads costs its resolution and compilation; CommonJS, because Node's ES module
//   loader costs a few milliseconds more to start than require() (docs/cli.md, figures). The
//   command groups other than kv and run are in it too, but initialised only when they run.
// - contracts-HASH.cjs: the API contracts the other command groups check answers with, and the
//   full zod they are written in, required only by those groups (kv and run use zod/mini).
// - client.<V8 version>-<arch>.cache: V8's code cache of client.cjs (compiled functions, no data),
//   made right after a build by a training run of `kv get -field` (with a token, and with a
//   throwaway profile) against a throwaway loopback server answering a made-up secret, so a start deserialises the hot path's bytecode instead of
//   parsing and compiling it. V8 refuses a cache made by another version or with other flags, and
//   the client then compiles as without one. Nothing is written at any other time.
// inputs.json records the size and modification time of what it was built from; any change
// rebuilds it. Where the cache cannot be written (a read-only install), or with
// VAULTPILOT_CLI_TSX=1, the sources run through tsx.
//
// The check runs on every start, so it is kept to about twenty synchronous stats: the project's
// own sources one by one, the dependencies through npm's record of node_modules
// (node_modules/.package-lock.json, rewritten by every `npm install` or `npm ci` that changes it)
// instead of each of their files. A hand edit inside node_modules is not noticed: delete the
// cache directory after one.
const {
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

const ROOT = path.resolve(__dirname, '..');
const ENTRY = path.join(ROOT, 'lambdas', 'cli', 'main.ts');
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'vaultpilot-cli');
const BUNDLE = path.join(CACHE, 'client.cjs');
const INPUTS = path.join(CACHE, 'inputs.json');
/** Per V8 version and architecture: a cache is only valid for the V8 that made it. */
const CODE_CACHE = path.join(CACHE, `client.${process.versions.v8}-${process.arch}.cache`);
/** This file: a change to how the bundle is built rebuilds it too. */
const SELF = path.relative(ROOT, __filename);
const DEPENDENCIES = 'node_modules/.package-lock.json';
const OLD_FILE_MS = 60 * 60_000;

/** @typedef {{ runClient: (argv: readonly string[], io: object) => Promise<number> }} ClientModule */
/** @typedef {Record<string, [number, number]>} Stamps */

/**
 * What the bundle depends on, by path relative to `root`: the given inputs (esbuild's metafile),
 * those under node_modules/ replaced by npm's record of node_modules where there is one.
 * @param {string} root
 * @param {readonly string[]} files
 * @returns {Stamps}
 */
function stampInputs(root, files) {
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
function inputsAreCurrent(root, stamps) {
  if (typeof stamps !== 'object' || stamps === null) return false;
  for (const [file, seen] of Object.entries(stamps)) {
    const info = statSync(path.join(root, file), { throwIfNoEntry: false });
    if (info === undefined || !Array.isArray(seen) || info.size !== seen[0] || info.mtimeMs !== seen[1])
      return false;
  }
  return true;
}

/** True when client.cjs was built from the sources as they are. */
function bundleIsCurrent() {
  let stamps;
  try {
    stamps = JSON.parse(readFileSync(INPUTS, 'utf8'));
  } catch {
    return false;
  }
  return inputsAreCurrent(ROOT, stamps);
}

/** This Node's code cache (empty when the training run failed); undefined when there is none. */
function codeCache() {
  try {
    return readFileSync(CODE_CACHE);
  } catch {
    return undefined;
  }
}

/**
 * Runs client.cjs as require() would (the same wrapper, its own require), compiled with V8's code
 * cache when there is one.
 * @param {Buffer | undefined} cachedData
 * @returns {{ client: ClientModule, script: import('node:vm').Script }}
 */
function instantiate(cachedData) {
  const script = new vm.Script(Module.wrap(readFileSync(BUNDLE, 'utf8')), {
    filename: BUNDLE,
    ...(cachedData === undefined || cachedData.length === 0 ? {} : { cachedData }),
  });
  const module = { exports: {} };
  script
    .runInThisContext()
    .call(module.exports, module.exports, Module.createRequire(BUNDLE), module, BUNDLE, CACHE);
  return { client: module.exports, script };
}

/** What the training run's server answers: a made-up secret of the bench's size. */
const TRAINING_ANSWER = JSON.stringify({
  data: {
    data: { value: 'x'.repeat(1024) },
    metadata: {
      version: 1,
      created_time: '2026-01-01T00:00:00.000Z',
      created_by: 'user:training',
      deletion_time: '',
      destroyed: false,
      custom_metadata: null,
    },
  },
});

/**
 * The code cache: a fresh instance of the client runs `kv get -field` against a loopback server
 * of this process (a made-up token and secret; no file of the user is read), then V8 serialises
 * what it compiled. Any failure leaves an empty cache: the client then compiles.
 * @param {string} suffix
 */
async function trainCodeCache(suffix) {
  const { createServer } = require('node:http');
  const { tmpdir } = require('node:os');
  const { mkdtempSync, rmSync } = require('node:fs');
  const server = createServer((request, response) => {
    request.resume();
    response.writeHead(200, { 'content-type': 'application/json' }).end(TRAINING_ANSWER);
  });
  /** @type {Uint8Array} */
  let cache = new Uint8Array(0);
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(undefined));
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const base = `http://127.0.0.1:${address.port}`;
    const { client, script } = instantiate(undefined);
    const sink = { write: () => true };
    const kvGet = (/** @type {Record<string, string>} */ env) =>
      client.runClient(['kv', 'get', '-field=value', 'training/path'], {
        stdin: [],
        stdout: sink,
        stderr: sink,
        env,
        cwd: CACHE,
      });
    // With VAULTPILOT_TOKEN, then with a signed-in profile in a throwaway config directory (the
    // profile files' checks and schemas are on that path).
    const withToken = await kvGet({ VAULTPILOT_ADDR: base, VAULTPILOT_TOKEN: 'training' });
    const config = mkdtempSync(path.join(tmpdir(), 'vaultpilot-cli-training-'));
    let withProfile;
    try {
      const profile = {
        apiUrl: base,
        auth: { kind: 'password', username: 'training', signInEndpoint: `${base}/auth/token` },
      };
      const tokens = { accessToken: 'training', expiresAt: Date.now() + 3_600_000 };
      writeFileSync(path.join(config, 'profiles.json'), JSON.stringify({ profiles: { default: profile } }), {
        mode: 0o600,
      });
      writeFileSync(path.join(config, 'tokens.json'), JSON.stringify({ default: tokens }), { mode: 0o600 });
      withProfile = await kvGet({ VAULTPILOT_CONFIG_DIR: config });
    } finally {
      rmSync(config, { recursive: true, force: true });
    }
    if (withToken === 0 && withProfile === 0) cache = script.createCachedData();
  } catch {
    // No loopback here, say: the client runs without a code cache.
  } finally {
    // Also the training request's kept-alive connection, which would hold this process open.
    server.closeAllConnections();
    server.close();
  }
  writeFileSync(`${CODE_CACHE}.${suffix}`, cache);
  renameSync(`${CODE_CACHE}.${suffix}`, CODE_CACHE);
}

/** The API contracts the client imports (with the full zod): lambdas/shared/contracts/NAME.js. */
const CONTRACT = /^(?:\.\.\/)+shared\/contracts\/([a-z0-9-]+)\.js$/;
/** The generated entry of the contracts file (no file on disk). */
const CONTRACTS_ENTRY = '<vaultpilot-cli-contracts>';
/** Where the client finds the contracts file; its real name carries a hash of its content. */
const CONTRACTS_PLACEHOLDER = './vaultpilot-contracts.cjs';

async function buildBundle() {
  const { build } = require('esbuild');
  const { createHash } = require('node:crypto');
  /** @type {Set<string>} */
  const contracts = new Set();
  /** @type {import('esbuild').BuildOptions} */
  const common = {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // import() of what is bundled or built in becomes require(): an import() from CommonJS
    // starts Node's ES module loader, which is what this bundle avoids.
    supported: { 'dynamic-import': false },
    minify: true,
    keepNames: true,
    metafile: true,
    write: false,
    logLevel: 'silent',
    absWorkingDir: ROOT,
  };
  const client = await build({
    ...common,
    entryPoints: [ENTRY],
    outfile: BUNDLE,
    plugins: [
      {
        // The contracts are bundled apart (below): in the client file, the full zod would be
        // compiled by every command, though only the groups other than kv and run use it.
        name: 'contracts-apart',
        setup(plugin) {
          plugin.onResolve({ filter: CONTRACT }, (args) => {
            const name = CONTRACT.exec(args.path)?.[1] ?? '';
            contracts.add(name);
            return { path: name, namespace: 'contract' };
          });
          plugin.onLoad({ filter: /.*/, namespace: 'contract' }, (args) => ({
            contents: `module.exports = require(${JSON.stringify(CONTRACTS_PLACEHOLDER)})[${JSON.stringify(args.path)}];`,
            loader: 'js',
            resolveDir: ROOT,
          }));
          plugin.onResolve({ filter: /^\.\/vaultpilot-contracts\.cjs$/ }, (args) => ({
            path: args.path,
            external: true,
          }));
        },
      },
    ],
  });
  const contractBuild = await build({
    ...common,
    stdin: {
      contents: [...contracts]
        .sort()
        .map(
          (name) =>
            `export * as ${JSON.stringify(name)} from ${JSON.stringify(`./lambdas/shared/contracts/${name}.ts`)};`,
        )
        .join('\n'),
      resolveDir: ROOT,
      sourcefile: CONTRACTS_ENTRY,
      loader: 'ts',
    },
    outfile: path.join(CACHE, 'contracts.cjs'),
  });
  const entry = client.outputFiles.find((file) => file.path === BUNDLE);
  const contractFile = contractBuild.outputFiles[0];
  if (entry === undefined || contractFile === undefined) throw new Error('esbuild wrote no bundle');
  const contractName = `contracts-${createHash('sha256').update(contractFile.contents).digest('hex').slice(0, 12)}.cjs`;
  const code = entry.text.replaceAll(CONTRACTS_PLACEHOLDER, `./${contractName}`);
  const stamps = stampInputs(ROOT, [
    ...new Set([
      ...Object.keys(client.metafile.inputs).filter((file) => !file.startsWith('contract:')),
      ...Object.keys(contractBuild.metafile.inputs).filter((file) => file !== CONTRACTS_ENTRY),
      SELF,
    ]),
  ]);
  mkdirSync(CACHE, { recursive: true });
  // Temporary names and renames: a concurrent start sees the old files or the new, not half of one.
  // The contracts first (their name carries a content hash), then the client that requires them,
  // then the record that makes the next start use them.
  const suffix = `${process.pid}.${Date.now()}.tmp`;
  /** @type {[string, string | Uint8Array][]} */
  const writes = [
    [path.join(CACHE, contractName), contractFile.contents],
    [BUNDLE, code],
    [INPUTS, JSON.stringify(stamps)],
  ];
  for (const [file, contents] of writes) {
    writeFileSync(`${file}.${suffix}`, contents);
    renameSync(`${file}.${suffix}`, file);
  }
  await trainCodeCache(suffix);
  // Contracts and ES module chunks of earlier builds, once no process started from an older client
  // can still want one: the contracts load after the client, when a command group needs them.
  for (const name of readdirSync(CACHE)) {
    if (
      name === contractName ||
      name === path.basename(CODE_CACHE) ||
      !/^(contracts-|chunk-|contract-).*\.(cjs|mjs)$|^client\.mjs$|^client\..*\.cache$/.test(name)
    )
      continue;
    try {
      const file = path.join(CACHE, name);
      if (Date.now() - statSync(file).mtimeMs > OLD_FILE_MS) unlinkSync(file);
    } catch {
      // Removed by a concurrent build already.
    }
  }
}

/** @returns {Promise<ClientModule>} */
async function throughTsx() {
  const { register } = await import('tsx/esm/api');
  register();
  const { pathToFileURL } = require('node:url');
  return import(pathToFileURL(ENTRY).href);
}

/**
 * The client: from the bundle when it is current (CommonJS with its code cache, no ES module
 * loader), else after building it, else through tsx. A current bundle without a cache for this
 * Node (an upgrade) is rebuilt, or used without one where the cache directory is read-only.
 * @returns {Promise<ClientModule>}
 */
async function loadClient() {
  if (process.env.VAULTPILOT_CLI_TSX === '1') return throughTsx();
  try {
    const current = bundleIsCurrent();
    let cache = current ? codeCache() : undefined;
    if (cache === undefined) {
      try {
        await buildBundle();
        cache = codeCache();
      } catch (error) {
        if (!current) throw error;
      }
    }
    return instantiate(cache).client;
  } catch {
    return throughTsx();
  }
}

module.exports = { loadClient, stampInputs, inputsAreCurrent };
