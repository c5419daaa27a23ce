/**
 * Keyring outage: the local keyring's key files go missing or become unreadable while the
 * runtime runs (and across a cold start of the functions). Reads and writes must fail closed —
 * 503 with Retry-After and no value — and nothing may be written under a key the keyring made up
 * in the meantime: once the files are back, every secret still opens with the keys it had.
 */
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetFunctions } from '../../lambdas/platform/cold-start.js';
import { localTableName } from '../../lambdas/shared/tables.js';
import {
  answerProblems,
  assertCanaryContained,
  type Bed,
  CANARY,
  describe as describeExchange,
  expectNone,
  randomHex,
  replay,
  startBed,
} from './harness.js';

let bed: Bed;
let dataDir: string;
let keysDir: string;
let originalKeys: string[];
const valueOf = (label: string): string => `${CANARY}-${label}`;

async function keyIdsOnDisk(): Promise<string[]> {
  try {
    const manifest = JSON.parse(await readFile(join(keysDir, 'keyring.json'), 'utf8')) as { keys: string[] };
    return manifest.keys;
  } catch {
    return [];
  }
}

async function keyFilesOnDisk(): Promise<string[]> {
  try {
    return (await readdir(keysDir)).filter((name) => name.endsWith('.key')).sort();
  } catch {
    return [];
  }
}

/** The key ids the stored envelopes were wrapped under, read straight from the table. */
async function envelopeKeyIds(): Promise<Set<string>> {
  const ids = new Set<string>();
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await bed.direct.send(
      new ScanCommand({
        TableName: localTableName('secrets'),
        ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
      }),
    );
    for (const item of page.Items ?? []) {
      const keyId = (item.envelope as { keyId?: unknown } | undefined)?.keyId;
      if (typeof keyId === 'string') ids.add(keyId);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return ids;
}

/** Reads and writes during the outage: each must be a 503 with Retry-After that shows no value. */
async function failsClosed(situation: string): Promise<string[]> {
  const problems: string[] = [];
  const known = await envelopeKeyIds();
  const read = await bed.call('admin', 'GET', '/secrets/data/outage/existing');
  const path = `outage/new-${randomHex(6)}`;
  const write = await bed.call('admin', 'POST', `/secrets/data/${path}`, { data: { value: valueOf(path) } });
  for (const [request, answer] of [
    [`GET /secrets/data/outage/existing`, read],
    [`POST /secrets/data/${path}`, write],
  ] as const) {
    const [method, target] = request.split(' ') as [string, string];
    problems.push(...answerProblems(method, target, answer).map((problem) => `${situation}: ${problem}`));
    if (answer.status !== 503 || !/^\d+$/.test(answer.headers.get('retry-after') ?? '')) {
      problems.push(
        `${situation}: expected 503 with Retry-After, ${describeExchange(method, target, answer)}`,
      );
    }
    if (answer.text.includes(CANARY)) problems.push(`${situation}: a value in the answer to ${request}`);
  }
  const wrappedUnder = [...(await envelopeKeyIds())].filter(
    (id) => !known.has(id) && !originalKeys.includes(id),
  );
  if (wrappedUnder.length > 0)
    problems.push(`${situation}: data wrapped under new key(s) ${wrappedUnder.join(', ')}`);
  const files = await keyFilesOnDisk();
  const newFiles = files.filter((file) => !originalKeys.includes(file.replace(/\.key$/, '')));
  if (newFiles.length > 0) problems.push(`${situation}: new key file(s) created: ${newFiles.join(', ')}`);
  return problems;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'vaultpilot-reliability-'));
  keysDir = join(dataDir, 'keys');
  bed = await startBed({
    minimal: true,
    env: { VAULTPILOT_IN_MEMORY: 'false', VAULTPILOT_DATA_DIR: dataDir },
  });
  const written = await bed.call('admin', 'POST', '/secrets/data/outage/existing', {
    data: { value: valueOf('existing') },
  });
  expect(written.status, replay('writing the secret the outage must not lose')).toBe(200);
  originalKeys = await keyIdsOnDisk();
  expect(originalKeys.length, replay('the keyring wrote its manifest')).toBeGreaterThan(0);
}, 120_000);

afterAll(async () => {
  await bed?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('keyring outage', () => {
  it('fails closed while the keys directory is missing, also after a cold start, and loses nothing', async () => {
    // Prepare
    await rename(keysDir, `${keysDir}.away`);

    // Act
    const running = await failsClosed('keys/ missing while running');
    resetFunctions();
    const cold = await failsClosed('keys/ missing after a cold start');
    await rm(keysDir, { recursive: true, force: true });
    await rename(`${keysDir}.away`, keysDir);
    resetFunctions();
    const restored = await bed.call('admin', 'GET', '/secrets/data/outage/existing');

    // Assess
    const problems = [...running, ...cold];
    if (restored.status !== 200 || restored.json?.data?.data?.value !== valueOf('existing')) {
      problems.push(
        `after restoring keys/: ${describeExchange('GET', '/secrets/data/outage/existing', restored)}`,
      );
    }
    expect(await keyIdsOnDisk(), replay('the keyring after the outage')).toEqual(originalKeys);
    expectNone(problems, 'keys/ missing');
  });

  it('fails closed while the key file is missing or unreadable, and loses nothing', async () => {
    // Prepare
    const [keyId] = originalKeys;
    const keyFile = join(keysDir, `${keyId ?? ''}.key`);
    const original = await readFile(keyFile);
    const known = await envelopeKeyIds();
    const problems: string[] = [];

    // Act: the key file gone (the manifest still names it)
    await rename(keyFile, `${keyFile}.away`);
    resetFunctions();
    problems.push(...(await failsClosed('key file missing')));
    await rm(keyFile, { force: true });
    await rename(`${keyFile}.away`, keyFile);

    // Act: the key file unreadable (cut short)
    await writeFile(keyFile, original.subarray(0, 5), { mode: 0o600 });
    resetFunctions();
    problems.push(...(await failsClosed('key file unreadable')));
    await writeFile(keyFile, original, { mode: 0o600 });
    resetFunctions();
    const restored = await bed.call('admin', 'GET', '/secrets/data/outage/existing');
    const after = await bed.call('admin', 'POST', '/secrets/data/outage/after', {
      data: { value: valueOf('after') },
    });

    // Assess
    if (restored.status !== 200 || restored.json?.data?.data?.value !== valueOf('existing')) {
      problems.push(
        `after restoring the key file: ${describeExchange('GET', '/secrets/data/outage/existing', restored)}`,
      );
    }
    if (after.status !== 200)
      problems.push(
        `writing after the outage: ${describeExchange('POST', '/secrets/data/outage/after', after)}`,
      );
    const unknown = [...(await envelopeKeyIds())].filter(
      (id) => !known.has(id) && !originalKeys.includes(id),
    );
    if (unknown.length > 0)
      problems.push(`envelopes under keys the keyring did not have before: ${unknown.join(', ')}`);
    expectNone(problems, 'key file missing or unreadable');
  });

  it('leaks no secret value into any response or log line', () => {
    assertCanaryContained(bed);
  });
});
