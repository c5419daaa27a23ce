/**
 * The `github-app-token` rotator driven by the rotation engine on dynalite against a local HTTP
 * server answering GitHub's documented shapes and errors (test/support/fake-github.ts): a token
 * minted with an RS256 App JWT and tested with GET /installation/repositories; a wrong private
 * key (401), an unknown (404) or suspended (403) installation roll back; 503 is transient; a
 * crash at every checkpoint and a retry leave one current version.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DependencyUnavailableError, ValidationError } from '../../lambdas/core/errors.js';
import type { RotationEngine } from '../../lambdas/core/rotation/engine.js';
import { RotationSecrets } from '../../lambdas/core/rotation/rotation-secrets.js';
import { createGithubAppTokenRotator } from '../../lambdas/rotators/github-app-token.js';
import { FakeGithub } from '../support/fake-github.js';
import {
  crashPoints,
  policy,
  type RotationHarness,
  runManualRotation,
  startManualRotation,
  startRotationHarness,
  sweepCrashes,
  TENANT,
} from '../support/rotation-harness.js';

const KEY_PATH = 'github/app-key';
const WRONG_KEY_PATH = 'github/wrong-key';

let h: RotationHarness;
let github: FakeGithub;

beforeAll(async () => {
  h = await startRotationHarness();
  github = new FakeGithub(() => h.clock.now().getTime());
  await github.start();
  await h.secrets.write('user:setup', TENANT, KEY_PATH, { privateKey: github.privateKeyPem });
  const wrong = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await h.secrets.write('user:setup', TENANT, WRONG_KEY_PATH, {
    privateKey: wrong.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  });
});

afterAll(async () => {
  await github.close();
  await h.close();
});

beforeEach(() => {
  h.faults.restart();
  github.failWith = undefined;
  github.calls.length = 0;
});

const engineWith = (faulty = false): RotationEngine =>
  h.engine({ 'github-app-token': createGithubAppTokenRotator({ allowHttpLoopback: true }) }, { faulty });

let count = 0;
async function appCredential(github_: Record<string, unknown> = {}) {
  count += 1;
  const secretPath = `ci/github-token-${count}`;
  const id = await h.addCredential(
    {
      type: 'github-app-token',
      name: `CI token ${count}`,
      secretPath,
      settings: {
        github: {
          appId: Number(github.appId),
          installationId: 4242,
          privateKeySecretPath: KEY_PATH,
          baseUrl: github.baseUrl,
          ...github_,
        },
      },
      policy: policy(),
    },
    { token: 'ghs_previous_token_value_0000000000', expiresAt: '2026-01-15T10:30:00Z' },
  );
  return { id, secretPath };
}

async function current(path: string) {
  const read = await h.secrets.read(TENANT, path);
  return { version: read.metadata.version, data: read.data };
}

describe('a github-app-token rotation', () => {
  it('mints an installation token with the App JWT, tests it and stores it with its expiry', async () => {
    // Prepare
    const { id, secretPath } = await appCredential();
    // Act
    const record = await runManualRotation(engineWith(), id);
    // Assess
    expect(record.state).toBe('succeeded');
    const { version, data } = await current(secretPath);
    expect(version).toBe(2);
    expect(github.valid(data.token)).toBe(true);
    expect(Date.parse(data.expiresAt ?? '')).toBe(h.clock.now().getTime() + 3_600_000);
    expect(github.calls).toEqual([
      'POST /app/installations/4242/access_tokens',
      'GET /installation/repositories',
    ]);
  });

  it('rolls back on a wrong private key (401), an unknown (404) or a suspended (403) installation', async () => {
    github.installations.set('777', 'suspended');
    const cases = [
      [
        { privateKeySecretPath: WRONG_KEY_PATH },
        /GitHub did not accept the App JWT \(wrong private key or App id\) \(401\)/,
      ],
      [{ appId: 999 }, /GitHub did not accept the App JWT .* \(401\)/],
      [{ installationId: 1 }, /GitHub knows no installation 1 of App 123456 \(404\)/],
      [{ installationId: 777 }, /suspended, or not permitted\) \(403\)/],
    ] as const;
    for (const [settings, failure] of cases) {
      // Prepare
      const { id, secretPath } = await appCredential(settings);
      // Act
      const record = await runManualRotation(engineWith(), id);
      // Assess
      expect(record.state).toBe('failed');
      expect(record.failure).toMatch(failure);
      expect((await current(secretPath)).version).toBe(1);
      expect(await new RotationSecrets(h.secrets, TENANT).readPending(id, record.rotationId)).toBeUndefined();
    }
  });

  it('waits while GitHub answers 503 and finishes once it recovers', async () => {
    // Prepare
    const { id, secretPath } = await appCredential();
    const engine = engineWith();
    const key = await startManualRotation(engine, id);
    github.failWith = 503;
    // Act
    await expect(engine.run(key)).rejects.toThrow(DependencyUnavailableError);
    github.failWith = undefined;
    const record = (await engine.run(key)).record;
    // Assess
    expect(record.state).toBe('succeeded');
    expect((await current(secretPath)).version).toBe(2);
  });

  it('refuses plain HTTP outside loopback and bad ids', () => {
    const strict = createGithubAppTokenRotator();
    const paths = (github_: unknown) => {
      try {
        strict.parseSettings({ github: github_ });
        return [];
      } catch (error: unknown) {
        if (!(error instanceof ValidationError)) throw error;
        return (error.details as { issues: { path: string }[] }).issues.map((issue) => issue.path);
      }
    };
    const good = { appId: 1, installationId: '2', privateKeySecretPath: 'a/b' };
    expect(paths(good)).toEqual([]);
    expect(strict.parseSettings({ github: good })).toMatchObject({
      baseUrl: 'https://api.github.com',
      appId: '1',
    });
    expect(paths({ ...good, baseUrl: 'http://127.0.0.1:1' })).toEqual(['github.baseUrl']);
    expect(paths({ ...good, appId: 'abc' })).toEqual(['github.appId']);
  });
});

describe('crash safety', () => {
  it('leaves one current, working token after a crash anywhere and a retry', async () => {
    const probe = await appCredential();
    h.faults.calls.length = 0;
    await runManualRotation(engineWith(true), probe.id);
    const points = crashPoints(h.faults.calls);
    expect(points.length).toBeGreaterThan(10);
    await sweepCrashes(h, points, {
      engine: () => engineWith(true),
      prepare: () => appCredential(),
      attempt: async (engine, { id }) =>
        (await engine.run(await startManualRotation(engine, id, `crash-${id}`))).record,
      verify: async (record, { id, secretPath }, point) => {
        expect(record.state, point).toBe('succeeded');
        const now = await current(secretPath);
        expect(now.version, point).toBe(2);
        expect(github.valid(now.data.token), point).toBe(true);
        expect(
          await new RotationSecrets(h.secrets, TENANT).readPending(id, record.rotationId),
        ).toBeUndefined();
      },
    });
  }, 240_000);
});

describe('values stay secret', () => {
  it('keeps the token and the private key out of records, audit events and events', async () => {
    const { id, secretPath } = await appCredential();
    const record = await runManualRotation(engineWith(), id);
    const { data } = await current(secretPath);
    const everything = JSON.stringify([record, h.audit.events, h.bus.events]);
    expect((data.token ?? '').length).toBeGreaterThan(20);
    expect(everything).not.toContain(data.token);
    expect(everything).not.toContain('PRIVATE KEY');
  });
});
