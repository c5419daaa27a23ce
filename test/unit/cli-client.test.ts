/**
 * The `vaultpilot` client's parts that need no server: argument parsing with the Vault CLI's
 * habits, the environment names of `run`, the values of `kv put`, the profile and token files
 * and their permissions, usage errors and `--help` on every command, and which half of the
 * executable a command reaches.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseArguments } from '../../lambdas/cli/args.js';
import { CliUsageError, CommandFailedError, ProfileError } from '../../lambdas/cli/errors.js';
import { secretFields } from '../../lambdas/cli/kv.js';
import { allCommands, COMMAND_GROUPS } from '../../lambdas/cli/main.js';
import { configDirectory, ProfileStore } from '../../lambdas/cli/profiles.js';
import { environmentName, secretEnvironment } from '../../lambdas/cli/run.js';
import { CLI_BIN, client, REPOSITORY_ROOT } from '../support/cli-client.js';

const CLIENT_COMMANDS = await allCommands();

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'vp-cli-unit-'));
}

function ioWith(stdin: string, cwd = scratch()) {
  let stderr = '';
  return {
    io: {
      stdin: Readable.from(stdin === '' ? [] : [Buffer.from(stdin)]),
      stdout: { write: () => true },
      stderr: { write: (chunk: string) => (stderr += chunk) },
      env: {},
      cwd,
    },
    stderr: () => stderr,
  };
}

describe('parseArguments', () => {
  const specs = {
    field: { type: 'string' },
    cas: { type: 'string' },
    json: { type: 'boolean' },
    path: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  } as const;

  it('accepts -name=value, --name value, -name value and --name=value alike', () => {
    const parsed = parseArguments(
      ['-field=a', '--cas', '3', 'p/x', '--json', '-path', 'one', '--path=two'],
      specs,
    );
    expect(parsed.values).toEqual({ field: 'a', cas: '3', json: true, path: ['one', 'two'] });
    expect(parsed.positionals).toEqual(['p/x']);
    expect(parsed.rest).toBeUndefined();
  });

  it('keeps - as a positional and everything after -- apart', () => {
    const parsed = parseArguments(['p', '-', '-h', '--', 'node', '-e', '--json'], specs);
    expect(parsed.positionals).toEqual(['p', '-']);
    expect(parsed.values).toEqual({ help: true });
    expect(parsed.rest).toEqual(['node', '-e', '--json']);
  });

  it('reads -flag=false as false', () => {
    expect(parseArguments(['-json=false'], specs).values.json).toBe(false);
  });

  it.each([
    [['-verbose'], /unknown option -verbose/],
    [['--field'], /-field needs a value/],
    [['-json=maybe'], /true or false/],
  ])('refuses %j as a usage error', (argv, message) => {
    expect(() => parseArguments(argv, specs)).toThrow(CliUsageError);
    expect(() => parseArguments(argv, specs)).toThrow(message);
  });
});

describe('environment names of vaultpilot run', () => {
  it.each([
    ['password', 'PASSWORD'],
    ['db-password', 'DB_PASSWORD'],
    ['api.key', 'API_KEY'],
    ['Mixed Case!', 'MIXED_CASE_'],
    ['1st', '_1ST'],
    ['ünï', '_N_'],
  ])('maps %s to %s', (field, name) => {
    expect(environmentName(field)).toBe(name);
  });

  it('merges the fields of several secrets', () => {
    expect(
      secretEnvironment([
        { path: 'a', data: { user: 'u' } },
        { path: 'b', data: { 'db-host': 'h' } },
      ]),
    ).toEqual({ USER: 'u', DB_HOST: 'h' });
  });

  it('refuses two fields of two paths that map to one name, naming both and no value', () => {
    const collide = () =>
      secretEnvironment([
        { path: 'prod/db', data: { 'db-password': 'first-value' } },
        { path: 'prod/other', data: { DB_PASSWORD: 'second-value' } },
      ]);
    expect(collide).toThrow(CommandFailedError);
    expect(collide).toThrow(
      /DB_PASSWORD would come from both prod\/db \(field db-password\) and prod\/other/,
    );
    expect(collide).not.toThrow(/value/);
  });

  it('refuses two spellings in one secret', () => {
    expect(() => secretEnvironment([{ path: 'x', data: { 'a-b': '1', a_b: '2' } }])).toThrow(
      /x \(field a-b\) and x \(field a_b\)/,
    );
  });
});

describe('values of kv put', () => {
  it('reads a JSON object from stdin with -', async () => {
    const { io } = ioWith('{"a":"1","b":"2"}');
    expect(await secretFields(io, ['-'])).toEqual({ a: '1', b: '2' });
  });

  it('reads KEY=@file as the file content and KEY=- as stdin without its last newline', async () => {
    const cwd = scratch();
    writeFileSync(join(cwd, 'cert.pem'), 'line1\nline2\n');
    const { io, stderr } = ioWith('from-stdin\n', cwd);
    expect(await secretFields(io, ['cert=@cert.pem', 'token=-'])).toEqual({
      cert: 'line1\nline2\n',
      token: 'from-stdin',
    });
    expect(stderr()).toBe('');
  });

  it('takes KEY=VALUE with a warning about shell history', async () => {
    const { io, stderr } = ioWith('');
    expect(await secretFields(io, ['a=b=c'])).toEqual({ a: 'b=c' });
    expect(stderr()).toContain('shell history');
  });

  it.each([
    [['x=-', 'y=-'], /stdin can be read only once/],
    [['noequals'], /is not key=value/],
    [['-'], /not valid JSON/],
    [['@missing.json'], /cannot read missing.json/],
  ])('refuses %j', async (words, message) => {
    const { io } = ioWith(words[0] === '-' ? '{oops' : 'v');
    await expect(secretFields(io, words)).rejects.toThrow(message);
  });

  it('refuses JSON whose fields are not strings', async () => {
    const { io } = ioWith('{"port":5432}');
    await expect(secretFields(io, ['-'])).rejects.toThrow(/field 'port' is not a string/);
  });
});

describe('profiles and tokens on disk', () => {
  it('chooses VAULTPILOT_CONFIG_DIR, then XDG_CONFIG_HOME, then ~/.config', () => {
    expect(configDirectory({ VAULTPILOT_CONFIG_DIR: '/a', XDG_CONFIG_HOME: '/b' })).toBe('/a');
    expect(configDirectory({ XDG_CONFIG_HOME: '/b', HOME: '/h' })).toBe('/b/vaultpilot');
    expect(configDirectory({ HOME: '/h' })).toBe('/h/.config/vaultpilot');
  });

  it('writes both files 0600 in a 0700 directory and reads them back', async () => {
    // Prepare
    const dir = join(scratch(), 'nested', 'vaultpilot');
    const store = new ProfileStore(dir);

    // Act
    await store.saveProfile('default', { apiUrl: 'http://127.0.0.1:1' });
    await store.saveTokens('default', { accessToken: 'a', expiresAt: 1 });

    // Assess
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(store.profilesFile).mode & 0o777).toBe(0o600);
    expect(statSync(store.tokensFile).mode & 0o777).toBe(0o600);
    expect(await store.profile('default')).toEqual({ apiUrl: 'http://127.0.0.1:1' });
    expect(await store.storedTokens('default')).toEqual({ accessToken: 'a', expiresAt: 1 });
    expect(await store.dropTokens('default')).toBe(true);
    expect(await store.storedTokens('default')).toBeUndefined();
  });

  it.each([0o644, 0o640, 0o604, 0o660])(
    'refuses a token file with mode %o, saying how to fix it',
    async (looseMode) => {
      // Prepare
      const store = new ProfileStore(scratch());
      await store.saveTokens('default', { accessToken: 'secret-token', expiresAt: 1 });
      chmodSync(store.tokensFile, looseMode);

      // Act
      const read = store.storedTokens('default');

      // Assess
      await expect(read).rejects.toThrow(ProfileError);
      await expect(store.storedTokens('default')).rejects.toThrow(`mode 0${looseMode.toString(8)}`);
      await expect(store.storedTokens('default')).rejects.not.toThrow(/secret-token/);
    },
  );

  it('refuses a loose profile file too, and a malformed one with a message', async () => {
    const store = new ProfileStore(scratch());
    await store.saveProfile('default', { apiUrl: 'http://127.0.0.1:1' });
    chmodSync(store.profilesFile, 0o666);
    await expect(store.profile('default')).rejects.toThrow(/chmod 600/);
    writeFileSync(store.profilesFile, '{"profiles":{"default":{"apiUrl":"ftp://x"}}}', { mode: 0o600 });
    chmodSync(store.profilesFile, 0o600);
    await expect(store.profile('default')).rejects.toThrow(
      /not a valid VaultPilot file at profiles\.default\.apiUrl/,
    );
  });

  it('refuses something other than a regular file in the place of the token file', async () => {
    // Prepare
    const store = new ProfileStore(scratch());
    mkdirSync(store.tokensFile, { mode: 0o700 });

    // Act
    const read = store.storedTokens('default');

    // Assess
    await expect(read).rejects.toThrow(ProfileError);
    await expect(store.storedTokens('default')).rejects.toThrow(/is not a regular file/);
  });
});

describe('usage and help', () => {
  it('loads each command from the one group that owns its first word', async () => {
    // Prepare
    const owners = COMMAND_GROUPS.flatMap((group) => group.words);

    // Act
    const loaded = await Promise.all(
      COMMAND_GROUPS.map(async (group) => ({ group, commands: await group.load() })),
    );

    // Assess: findCommand looks only in the group of argv[0], so a command listed in another
    // group (or a group word with no command) would be unreachable or a dead end.
    expect(new Set(owners).size).toBe(owners.length);
    for (const { group, commands } of loaded) {
      expect(commands.length).toBeGreaterThan(0);
      expect(new Set(commands.map((command) => command.words[0]))).toEqual(new Set(group.words));
    }
  });

  it.each(CLIENT_COMMANDS.map((command) => [command.words.join(' ')]))(
    '%s --help prints its usage, exit 0',
    async (words) => {
      const run = await client([...words.split(' '), '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Usage: vaultpilot /);
      expect(run.stdout).toContain('-profile NAME');
    },
  );

  it.each(CLIENT_COMMANDS.map((command) => [command.words.join(' '), command] as const))(
    '%s --help names every option the command takes',
    (_words, command) => {
      const unnamed = Object.keys(command.options).filter(
        (option) => !new RegExp(`(^|\\s|\\[)--?${option}\\b`, 'm').test(command.help),
      );
      expect(unnamed).toEqual([]);
    },
  );

  it.each([
    [['kv', 'get']],
    [['kv', 'get', 'a', 'b']],
    [['kv', 'get', '-verbose', 'a']],
    [['kv', 'get', 'a/../b']],
    [['kv', 'put', 'a']],
    [['kv', 'undelete', 'a']],
    [['kv', 'get', '-format=xml', 'a']],
    [['kv', 'get', '-version=zero', 'a']],
    [['run', '--path', 'a']],
    [['run', '--', 'true']],
    [['credentials', 'register', '-type=vault-secret']],
    [['login', '-client-id', 'c', '-username', 'u']],
  ])('%j is a usage error: exit 2 with a pointer to the help', async (argv) => {
    const run = await client(argv, { env: { VAULTPILOT_CONFIG_DIR: scratch() } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Run 'vaultpilot .+ --help' for its options\.\n$/);
    expect(run.stdout).toBe('');
  });

  it.each([
    [['credentials', '--help'], 'credentials', ['credentials list', 'credentials rollback'], 'kv get'],
    [['help', 'kv'], 'kv', ['kv get', 'kv metadata put'], 'credentials list'],
    [['kv', 'metadata', '-h'], 'kv metadata', ['kv metadata get', 'kv metadata delete'], 'kv get '],
  ])('%j lists the subcommands of that group only, exit 0', async (argv, prefix, listed, absent) => {
    // Act
    const run = await client(argv);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Usage: vaultpilot ${prefix} <subcommand> \\[options\\]\n`));
    for (const words of listed) expect(run.stdout).toContain(`  ${words}`);
    expect(run.stdout).not.toContain(absent);
    expect(run.stdout).toContain(`Run 'vaultpilot ${prefix} <subcommand> --help' for its options.`);
  });

  it('answers a group without a subcommand with its subcommands on stderr, exit 2', async () => {
    // Act
    const run = await client(['discovery']);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^vaultpilot: 'discovery' needs a subcommand\n\nUsage: vaultpilot discovery <subcommand>/,
    );
    expect(run.stderr).toContain('  discovery run ');
    expect(run.stderr).not.toContain('kv get');
  });

  it('lists the client and the data-directory commands in one usage', async () => {
    const run = await client(['help']);
    expect(run.stdout).toContain('kv get');
    expect(run.stdout).toContain('users add');
    expect(run.stdout).toContain('Exit codes');
  });

  it('answers a command with no profile with a pointer to login, exit 1', async () => {
    const run = await client(['kv', 'list'], { env: { VAULTPILOT_CONFIG_DIR: scratch() } });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      "vaultpilot kv list: no profile 'default': run 'vaultpilot login -address URL' first\n",
    );
  });
});

const CACHE_DIR = join(REPOSITORY_ROOT, 'node_modules', '.cache', 'vaultpilot-cli');

describe('bin/vaultpilot-cli.cjs routes each command to its half', () => {
  function bin(argv: string[]) {
    return spawnSync(process.execPath, [CLI_BIN, ...argv], {
      cwd: REPOSITORY_ROOT,
      encoding: 'utf8',
      env: { ...process.env, VAULTPILOT_CONFIG_DIR: scratch() },
    });
  }

  it('sends audit verify to the API, and audit verify --file to the offline verifier', () => {
    const api = bin(['audit', 'verify', '--help']);
    const offline = bin(['audit', 'verify', '--file', 'x.ndjson', '--help']);
    expect(api.status).toBe(0);
    expect(api.stdout).toContain('GET /audit/verify');
    expect(offline.status).toBe(0);
    expect(offline.stdout).toContain('--public-key');
  });

  it('runs the client from its cached bundle, which records the inputs it was built from', () => {
    const run = bin(['kv', 'get', '--help']);
    const inputs = JSON.parse(
      readFileSync(join(REPOSITORY_ROOT, 'node_modules', '.cache', 'vaultpilot-cli', 'inputs.json'), 'utf8'),
    );
    expect(run.status).toBe(0);
    expect(Object.keys(inputs)).toContain('lambdas/cli/main.ts');
    expect(Object.keys(inputs)).toContain('bin/cli-bundle.cjs');
    // The dependencies count through npm's record of node_modules, not file by file.
    expect(Object.keys(inputs).filter((file) => file.startsWith('node_modules/'))).toEqual([
      'node_modules/.package-lock.json',
    ]);
  });

  it("keeps a code cache of the bundle, made by the training run, that this Node's V8 accepts", () => {
    // Prepare: a start builds the bundle and trains the cache if they are missing or stale
    expect(bin(['kv', 'get', '--help']).status).toBe(0);
    const cache = join(CACHE_DIR, `client.${process.versions.v8}-${process.arch}.cache`);

    // Act: compile the bundle with it in a plain node process, as the shim does
    const check = spawnSync(
      process.execPath,
      [
        '-e',
        `const { Script } = require('node:vm'); const { wrap } = require('node:module'); const { readFileSync } = require('node:fs');
         const cachedData = readFileSync(${JSON.stringify(cache)});
         const script = new Script(wrap(readFileSync(${JSON.stringify(join(CACHE_DIR, 'client.cjs'))}, 'utf8')), { cachedData });
         process.stdout.write(JSON.stringify({ size: cachedData.length, rejected: script.cachedDataRejected }));`,
      ],
      { encoding: 'utf8' },
    );

    // Assess
    expect(check.status, check.stderr).toBe(0);
    const result = JSON.parse(check.stdout) as { size: number; rejected: boolean };
    expect(result.size).toBeGreaterThan(10_000);
    expect(result.rejected).toBe(false);
  });
});

describe("bin/cli-bundle.cjs's staleness check", () => {
  /**
   * Runs the check's two functions in a child process (bin/ is plain JS, outside the TypeScript
   * build): stamps `files` under `root`, applies `change`, and answers whether the stamps still hold.
   */
  function staleAfter(
    root: string,
    files: string[],
    change: string,
  ): { current: boolean; stamped: string[] } {
    const script = `
      import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
      import { join } from 'node:path';
      import { inputsAreCurrent, stampInputs } from ${JSON.stringify(join(REPOSITORY_ROOT, 'bin', 'cli-bundle.cjs'))};
      const root = ${JSON.stringify(root)};
      const stamps = stampInputs(root, ${JSON.stringify(files)});
      ${change}
      process.stdout.write(JSON.stringify({ current: inputsAreCurrent(root, stamps), stamped: Object.keys(stamps) }));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as { current: boolean; stamped: string[] };
  }

  function checkout(withLockfile: boolean): string {
    const root = scratch();
    mkdirSync(join(root, 'lambdas/cli'), { recursive: true });
    mkdirSync(join(root, 'node_modules/zod'), { recursive: true });
    writeFileSync(join(root, 'lambdas/cli/main.ts'), 'export {};\n');
    writeFileSync(join(root, 'node_modules/zod/index.js'), 'export {};\n');
    if (withLockfile) writeFileSync(join(root, 'node_modules/.package-lock.json'), '{}\n');
    return root;
  }

  const FILES = ['lambdas/cli/main.ts', 'node_modules/zod/index.js'];

  it('holds while nothing changed, and stamps node_modules through its lockfile', () => {
    const result = staleAfter(checkout(true), FILES, '');
    expect(result).toEqual({
      current: true,
      stamped: ['lambdas/cli/main.ts', 'node_modules/.package-lock.json'],
    });
  });

  it.each([
    ['a source edited', "appendFileSync(join(root, 'lambdas/cli/main.ts'), '// more\\n');"],
    ['a source deleted', "rmSync(join(root, 'lambdas/cli/main.ts'));"],
    [
      'npm install rewrote the lockfile',
      "writeFileSync(join(root, 'node_modules/.package-lock.json'), '{ }\\n');",
    ],
  ])('fails after %s', (_what, change) => {
    expect(staleAfter(checkout(true), FILES, change).current).toBe(false);
  });

  it('stamps each dependency file where npm left no lockfile in node_modules', () => {
    const root = checkout(false);
    const result = staleAfter(
      root,
      FILES,
      "appendFileSync(join(root, 'node_modules/zod/index.js'), '// more\\n');",
    );
    expect(result).toEqual({ current: false, stamped: FILES });
  });
});

describe('vaultpilot completion', () => {
  /** What bash offers after `words` (the last one being typed), with the generated script loaded. */
  function complete(script: string, words: string[]): string[] {
    const array = ['vaultpilot', ...words].map((word) => `'${word}'`).join(' ');
    const probe = `${script}\nCOMP_WORDS=(${array}); COMP_CWORD=${words.length}; _vaultpilot; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const run = spawnSync('bash', ['-c', probe], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    return run.stdout.split('\n').filter((line) => line.length > 0);
  }

  it('prints a bash script that completes commands, subcommands and options', async () => {
    // Act
    const run = await client(['completion', 'bash']);

    // Assess
    expect(run.code).toBe(0);
    expect(complete(run.stdout, ['k'])).toEqual(['kv']);
    expect(complete(run.stdout, ['kv', ''])).toEqual([
      'get',
      'put',
      'patch',
      'list',
      'delete',
      'undelete',
      'destroy',
      'metadata',
    ]);
    expect(complete(run.stdout, ['kv', 'get', '-f'])).toEqual(['-field', '-format']);
    expect(complete(run.stdout, ['users', ''])).toEqual(['add', 'list']);
  });

  it('prints the same for zsh behind bashcompinit, and refuses another shell with exit 2', async () => {
    const zsh = await client(['completion', 'zsh']);
    const fish = await client(['completion', 'fish']);
    expect(zsh.stdout).toMatch(/^autoload -U \+X compinit/);
    expect(zsh.stdout).toContain('complete -o default -F _vaultpilot vaultpilot');
    expect(fish.code).toBe(2);
  });
});
