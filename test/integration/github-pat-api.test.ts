/**
 * Assisted rotation of a `github-pat` through the local API, as its owner uses it: register the
 * token with its expiry and a second contact, start a rotation (it waits: `awaiting-input`),
 * submit a token GitHub refuses (400 with the reason; the rotation stays open and the old token
 * current), then a good one (200, succeeded; the credential's expiry is GitHub's
 * `github-authentication-token-expiration`). A viewer may not submit; no token reaches a log line
 * or an answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { FakeGithub } from '../support/fake-github.js';
import { type ApiAnswer, apiCall, signInLocal, startInMemoryRuntime } from '../support/local-api.js';
import { settledRotation } from '../support/local-rotation.js';

const PASSWORD = 'integration-password-123';
const DAY = 24 * 3_600_000;
const OLD = 'github_pat_11AAAAAAA0old_token_that_must_never_be_logged';
const GOOD = 'github_pat_11BBBBBBB0new_token_that_must_never_be_logged';
const REVOKED = 'github_pat_11CCCCCCC0revoked_token_never_logged_either';
const logged: string[] = [];
let runtime: LocalRuntime;
let github: FakeGithub;
const tokens: Record<string, string> = {};

const call = (who: string, method: string, path: string, body?: unknown): Promise<ApiAnswer> =>
  apiCall(runtime.url, tokens[who], method, path, body);

beforeAll(async () => {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = (chunk: string | Uint8Array, ...rest: never[]) => {
      logged.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return write(chunk, ...rest);
    };
  }
  github = new FakeGithub(() => Date.now());
  await github.start();
  runtime = await startInMemoryRuntime({
    adminPassword: PASSWORD,
    log: {
      info: (line) => logged.push(line),
      error: (line, extra) => logged.push(`${line} ${JSON.stringify(extra)}`),
    },
  });
  await runtime.identity.addUser({
    username: 'vera',
    password: PASSWORD,
    tenant: 'default',
    groups: ['viewer'],
  });
  tokens.admin = await signInLocal(runtime.url, 'admin', PASSWORD);
  tokens.vera = await signInLocal(runtime.url, 'vera', PASSWORD);
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
  await github?.close();
});

describe('assisted rotation of a github-pat through the API', () => {
  it('waits for the owner, refuses a bad token with the reason, then takes a good one', async () => {
    // Prepare
    const expiresAt = new Date(Date.now() + 10 * DAY).toISOString();
    expect(
      (await call('admin', 'POST', '/secrets/data/github/deploy-pat', { data: { token: OLD } })).status,
    ).toBe(200);
    const registered = await call('admin', 'POST', '/credentials', {
      type: 'github-pat',
      name: 'deploy PAT',
      owner: 'alice@example.com',
      expiresAt,
      secretPath: 'github/deploy-pat',
      github: { baseUrl: github.baseUrl },
      assisted: { secondContact: 'security@example.com', reminderDays: [30, 7, 1] },
      rotationPolicy: { intervalDays: 90 },
    });
    expect(registered.status, registered.text).toBe(201);
    const credentialId = registered.json.data.id as string;
    github.pats.set(GOOD, { login: 'alice', expiresAt: Date.now() + 120 * DAY });
    github.pats.set(REVOKED, { login: 'alice', expiresAt: Date.now() - DAY });

    // Act: the rotation opens and waits.
    const started = await call('admin', 'POST', `/credentials/${credentialId}/rotate`);
    expect(started.status).toBe(202);
    const rotationId = started.json.data.rotationId as string;
    const waiting = await settledRotation(
      (method, path, body) => call('admin', method, path, body),
      rotationId,
    );
    expect(waiting.state).toBe('awaiting-input');

    // A viewer may not submit; a refused token answers 400 with the reason and changes nothing.
    const denied = await call('vera', 'POST', `/rotations/${rotationId}/submit`, { value: { token: GOOD } });
    const refused = await call('admin', 'POST', `/rotations/${rotationId}/submit`, {
      value: { token: REVOKED },
    });
    const malformed = await call('admin', 'POST', `/rotations/${rotationId}/submit`, {
      value: { token: 'short' },
    });
    const stillOld = await call('admin', 'GET', '/secrets/data/github/deploy-pat');
    const stillWaiting = await call('admin', 'GET', `/rotations/${rotationId}`);

    // A good token finishes the rotation.
    const accepted = await call('admin', 'POST', `/rotations/${rotationId}/submit`, {
      value: { token: GOOD },
    });
    const now = await call('admin', 'GET', '/secrets/data/github/deploy-pat');
    const credential = await call('admin', 'GET', `/credentials/${credentialId}`);

    // Assess
    expect(denied.status).toBe(403);
    expect(refused.status).toBe(400);
    expect(refused.json.error.message).toMatch(/401 Bad credentials/);
    expect(malformed.status).toBe(400);
    expect(JSON.stringify(malformed.json.error.details)).toContain('value.token');
    expect(stillOld.json.data.data.token).toBe(OLD);
    expect(stillWaiting.json.data.state).toBe('awaiting-input');
    expect(accepted.status, accepted.text).toBe(200);
    expect(accepted.json.data.state).toBe('succeeded');
    expect(now.json.data.data.token).toBe(GOOD);
    expect(Date.parse(credential.json.data.expiresAt)).toBeGreaterThan(Date.now() + 100 * DAY);
    const answers = JSON.stringify([
      denied.json,
      refused.json,
      malformed.json,
      accepted.json,
      credential.json,
    ]);
    for (const token of [GOOD, REVOKED, OLD]) {
      expect(answers).not.toContain(token);
      expect(logged.join('\n')).not.toContain(token);
    }
  }, 60_000);
});
