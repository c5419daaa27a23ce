/**
 * A valid request for every route of the route table, built fresh for each use (its own secret,
 * policy, credential, rotation…), and the same request aimed at an object of the foreign
 * tenant. The suites take the route list from `ROUTES`; a route without a fixture here fails
 * the suite, so a new route cannot slip past the fuzzer, the matrix or the fault injection.
 */
import { afterAll, expect } from 'vitest';
import { localRotationQueue } from '../../lambdas/adapters/local/in-process-rotation-queue.js';
import { localEventBus } from '../../lambdas/adapters/local/in-process-event-bus.js';
import type { RouteSpec } from '../../lambdas/shared/routes.js';
import { FakeGithub } from '../support/fake-github.js';
import { type Bed, CANARY, FOREIGN, randomHex, replay, type UserName } from './harness.js';

export interface FixtureRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
}

export interface RouteFixture {
  /** Builds what the request needs in the caller's tenant (as `owner`), and the request. */
  readonly own: (bed: Bed, owner: string) => Promise<FixtureRequest>;
  /**
   * The same request on an object only the foreign tenant has (answers 404 to anyone else);
   * undefined when the route names no object (lists, creates by a fresh name, the caller's own).
   */
  readonly foreign?: (bed: Bed) => Promise<FixtureRequest>;
  /** Reads back, without faults, whether a mutation took effect (true) or left nothing (false). */
  readonly applied?: (bed: Bed, request: FixtureRequest, reader: string) => Promise<boolean>;
}

let counter = 0;
/** A fresh name per use: seeded, so a replay names the same objects. */
export function fresh(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}-${randomHex(6)}`;
}

async function ok(bed: Bed, who: string, method: string, path: string, body?: unknown): Promise<any> {
  const answer = await bed.call(who, method, path, body);
  expect(
    answer.status,
    replay(`fixture ${method} ${path}: ${answer.text.replaceAll(CANARY, '<CANARY>')}`),
  ).toBeLessThan(300);
  return answer.json;
}

async function secret(bed: Bed, who: string): Promise<string> {
  const path = `rel/${fresh('s')}`;
  await ok(bed, who, 'POST', `/secrets/data/${path}`, { data: { value: `${CANARY}-${randomHex(8)}` } });
  return path;
}

/**
 * A policy on a prefix no fixture uses: attaching it to a group narrows that role there only,
 * so the attachment fixtures do not change what the matrix's callers may do under `rel/`.
 */
async function policy(bed: Bed, who: string): Promise<string> {
  const name = fresh('p');
  await ok(bed, who, 'PUT', `/policies/${name}`, { rules: [{ path: 'unused/*', capabilities: ['list'] }] });
  return name;
}

async function credential(bed: Bed, who: string): Promise<string> {
  const json = await ok(bed, who, 'POST', '/credentials', {
    type: 'api-token',
    name: fresh('token'),
    owner: 'team-reliability',
    expiresAt: '2031-01-31',
  });
  return json.data.id as string;
}

/** A vault-secret credential that can be rotated (its secret holds a canary value). */
async function rotatable(bed: Bed, who: string): Promise<string> {
  const path = await secret(bed, who);
  const json = await ok(bed, who, 'POST', '/credentials', {
    type: 'vault-secret',
    name: fresh('rotated'),
    secretPath: path,
    generator: { length: 32, field: 'value' },
    rotationPolicy: { intervalDays: 30, deactivateAfterDays: 0, deleteAfterDays: 0 },
  });
  return json.data.id as string;
}

async function settled(bed: Bed, who: string, rotationId: string): Promise<string> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    await localRotationQueue.drain();
    const answer = await bed.call(who, 'GET', `/rotations/${rotationId}`);
    const state = (answer.json as { data?: { state?: string } } | undefined)?.data?.state;
    if (state !== undefined && !['pending', 'in-progress'].includes(state)) return state;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(replay(`rotation ${rotationId} did not settle`));
}

async function rotation(bed: Bed, who: string, settle: boolean): Promise<string> {
  const id = await rotatable(bed, who);
  const json = await ok(bed, who, 'POST', `/credentials/${id}/rotate`);
  const rotationId = json.data.rotationId as string;
  if (settle) expect(await settled(bed, who, rotationId), replay('fixture rotation')).toBe('succeeded');
  return rotationId;
}

let github: FakeGithub | undefined;
afterAll(async () => {
  await github?.close();
  github = undefined;
});

/** The local stand-in for GitHub's API (assisted github-pat rotations), started on first use. */
async function fakeGithub(): Promise<FakeGithub> {
  if (github === undefined) {
    github = new FakeGithub(() => Date.now());
    await github.start();
  }
  return github;
}

/** An assisted github-pat rotation waiting for its value, and a token GitHub accepts for it. */
async function awaitingRotation(bed: Bed, who: string): Promise<{ rotationId: string; token: string }> {
  const api = await fakeGithub();
  const path = `rel/${fresh('pat')}`;
  await ok(bed, who, 'POST', `/secrets/data/${path}`, { data: { token: `github_pat_11${randomHex(24)}` } });
  const json = await ok(bed, who, 'POST', '/credentials', {
    type: 'github-pat',
    name: fresh('pat'),
    owner: 'reliability@example.com',
    expiresAt: new Date(Date.now() + 10 * 86_400_000).toISOString(),
    secretPath: path,
    github: { baseUrl: api.baseUrl },
    rotationPolicy: { intervalDays: 90 },
  });
  const started = await ok(bed, who, 'POST', `/credentials/${json.data.id as string}/rotate`);
  const rotationId = started.data.rotationId as string;
  expect(await settled(bed, who, rotationId), replay('fixture assisted rotation')).toBe('awaiting-input');
  const token = `github_pat_11${randomHex(32)}`;
  api.pats.set(token, { login: 'reliability', expiresAt: Date.now() + 90 * 86_400_000 });
  return { rotationId, token };
}

async function rotationPolicy(bed: Bed, who: string): Promise<string> {
  const name = fresh('rp');
  await ok(bed, who, 'PUT', `/rotation-policies/${name}`, { policy: { intervalDays: 90 } });
  return name;
}

async function discoveryRun(bed: Bed, who: string): Promise<string> {
  const json = await ok(bed, who, 'POST', '/discovery/runs');
  await localEventBus.drain();
  return json.data.id as string;
}

/** A signed-webhook channel (its secret in the secret store), to the bed's receiver. */
async function channel(bed: Bed, who: string): Promise<string> {
  const json = await ok(bed, who, 'POST', '/notifications/channels', {
    kind: 'webhook',
    name: fresh('channel'),
    url: `${bed.receiver.origin}/hook`,
    signingKey: `signing-key-${randomHex(16)}-0123456789abcdef`,
  });
  return json.data.id as string;
}

/** An SNS channel: locally its test message goes to the log, so a test sends nothing out. */
async function snsChannel(bed: Bed, who: string): Promise<string> {
  const json = await ok(bed, who, 'POST', '/notifications/channels', {
    kind: 'sns',
    name: fresh('sns'),
    topicArn: 'arn:aws:sns:us-east-1:123456789012:vaultpilot-alerts',
  });
  return json.data.id as string;
}

const ROUTE = { name: 'reliability route', eventTypes: ['rotation.failed'], channels: 'all' };

async function notificationRoute(bed: Bed, who: string): Promise<string> {
  const json = await ok(bed, who, 'POST', '/notifications/routes', ROUTE);
  return json.data.id as string;
}

const snooze = () => ({ kind: 'snoozed', until: new Date(Date.now() + 7 * 86_400_000).toISOString() });

/** A credential whose alerts are snoozed. */
async function held(bed: Bed, who: string): Promise<string> {
  const id = await credential(bed, who);
  await ok(bed, who, 'PUT', `/notifications/holds/${id}`, snooze());
  return id;
}

const rival: UserName = 'rival-admin';

async function status(bed: Bed, reader: string, path: string): Promise<number> {
  return (await bed.call(reader, 'GET', path)).status;
}

export const FIXTURES: Readonly<Record<string, RouteFixture>> = {
  getHealth: { own: async () => ({ method: 'GET', path: '/health' }) },
  getOpenApiDocument: { own: async () => ({ method: 'GET', path: '/openapi.json' }) },
  getMe: { own: async () => ({ method: 'GET', path: '/me' }) },

  readSecret: {
    own: async (bed, owner) => ({ method: 'GET', path: `/secrets/data/${await secret(bed, owner)}` }),
    foreign: async (bed) => ({ method: 'GET', path: `/secrets/data/${await secret(bed, rival)}` }),
  },
  writeSecret: {
    own: async () => ({
      method: 'POST',
      path: `/secrets/data/rel/${fresh('w')}`,
      body: { data: { value: `${CANARY}-${randomHex(8)}` } },
    }),
    applied: async (bed, request, reader) => (await status(bed, reader, request.path)) === 200,
  },
  softDeleteSecretVersions: {
    own: async (bed, owner) => ({
      method: 'POST',
      path: `/secrets/delete/${await secret(bed, owner)}`,
      body: { versions: [1] },
    }),
    foreign: async (bed) => ({
      method: 'POST',
      path: `/secrets/delete/${await secret(bed, rival)}`,
      body: { versions: [1] },
    }),
    applied: async (bed, request, reader) =>
      (await status(bed, reader, request.path.replace('/secrets/delete/', '/secrets/data/'))) === 404,
  },
  undeleteSecretVersions: {
    own: async (bed, owner) => {
      const path = await secret(bed, owner);
      await ok(bed, owner, 'POST', `/secrets/delete/${path}`, { versions: [1] });
      return { method: 'POST', path: `/secrets/undelete/${path}`, body: { versions: [1] } };
    },
    foreign: async (bed) => {
      const path = await secret(bed, rival);
      await ok(bed, rival, 'POST', `/secrets/delete/${path}`, { versions: [1] });
      return { method: 'POST', path: `/secrets/undelete/${path}`, body: { versions: [1] } };
    },
    applied: async (bed, request, reader) =>
      (await status(bed, reader, request.path.replace('/secrets/undelete/', '/secrets/data/'))) === 200,
  },
  destroySecretVersions: {
    own: async (bed, owner) => ({
      method: 'POST',
      path: `/secrets/destroy/${await secret(bed, owner)}`,
      body: { versions: [1] },
    }),
    foreign: async (bed) => ({
      method: 'POST',
      path: `/secrets/destroy/${await secret(bed, rival)}`,
      body: { versions: [1] },
    }),
    applied: async (bed, request, reader) =>
      (await status(bed, reader, request.path.replace('/secrets/destroy/', '/secrets/data/'))) !== 200,
  },
  listSecretsAtRoot: { own: async () => ({ method: 'GET', path: '/secrets/metadata?list=true' }) },
  readSecretMetadata: {
    own: async (bed, owner) => ({ method: 'GET', path: `/secrets/metadata/${await secret(bed, owner)}` }),
    foreign: async (bed) => ({ method: 'GET', path: `/secrets/metadata/${await secret(bed, rival)}` }),
  },
  writeSecretMetadata: {
    own: async (bed, owner) => ({
      method: 'POST',
      path: `/secrets/metadata/${await secret(bed, owner)}`,
      body: { max_versions: 7, custom_metadata: { team: 'reliability' } },
    }),
    applied: async (bed, request, reader) => {
      const answer = await bed.call(reader, 'GET', request.path);
      return (answer.json as { data?: { max_versions?: number } } | undefined)?.data?.max_versions === 7;
    },
  },
  deleteSecret: {
    own: async (bed, owner) => ({ method: 'DELETE', path: `/secrets/metadata/${await secret(bed, owner)}` }),
    foreign: async (bed) => ({ method: 'DELETE', path: `/secrets/metadata/${await secret(bed, rival)}` }),
    applied: async (bed, request, reader) => (await status(bed, reader, request.path)) === 404,
  },

  // Vault's KV v2 API under /v1 (docs/vault-api.md): the same store, so the same fixtures' secrets.
  vaultHealth: { own: async () => ({ method: 'GET', path: '/v1/sys/health' }) },
  listVaultMounts: { own: async () => ({ method: 'GET', path: '/v1/sys/mounts' }) },
  readVaultMountInfo: { own: async () => ({ method: 'GET', path: '/v1/sys/internal/ui/mounts/secret/rel' }) },
  lookupVaultToken: { own: async () => ({ method: 'GET', path: '/v1/auth/token/lookup-self' }) },
  vaultSealStatus: { own: async () => ({ method: 'GET', path: '/v1/sys/seal-status' }) },
  vaultLeader: { own: async () => ({ method: 'GET', path: '/v1/sys/leader' }) },
  vaultInitStatus: { own: async () => ({ method: 'GET', path: '/v1/sys/init' }) },
  renewVaultToken: {
    own: async () => ({ method: 'POST', path: '/v1/auth/token/renew-self', body: { increment: '1h' } }),
  },
  readVaultKvConfig: { own: async () => ({ method: 'GET', path: '/v1/secret/config' }) },
  writeVaultKvConfig: {
    own: async () => ({ method: 'POST', path: '/v1/secret/config', body: { max_versions: 5 } }),
  },
  readVaultSecret: {
    own: async (bed, owner) => ({ method: 'GET', path: `/v1/secret/data/${await secret(bed, owner)}` }),
    foreign: async (bed) => ({ method: 'GET', path: `/v1/secret/data/${await secret(bed, rival)}` }),
  },
  writeVaultSecret: {
    own: async () => ({
      method: 'POST',
      path: `/v1/secret/data/rel/${fresh('vw')}`,
      body: { data: { value: `${CANARY}-${randomHex(8)}` } },
    }),
    applied: async (bed, request, reader) => (await status(bed, reader, request.path)) === 200,
  },
  patchVaultSecret: {
    own: async (bed, owner) => ({
      method: 'PATCH',
      path: `/v1/secret/data/${await secret(bed, owner)}`,
      body: { data: { patched: 'yes' } },
    }),
    foreign: async (bed) => ({
      method: 'PATCH',
      path: `/v1/secret/data/${await secret(bed, rival)}`,
      body: { data: { patched: 'yes' } },
    }),
    applied: async (bed, request, reader) => {
      const answer = await bed.call(
        reader,
        'GET',
        request.path.replace('/v1/secret/data/', '/secrets/data/'),
      );
      return (
        (answer.json as { data?: { data?: { patched?: string } } } | undefined)?.data?.data?.patched === 'yes'
      );
    },
  },
  deleteLatestVaultSecretVersion: {
    own: async (bed, owner) => ({ method: 'DELETE', path: `/v1/secret/data/${await secret(bed, owner)}` }),
    foreign: async (bed) => ({ method: 'DELETE', path: `/v1/secret/data/${await secret(bed, rival)}` }),
    applied: async (bed, request, reader) => (await status(bed, reader, request.path)) === 404,
  },
  deleteVaultSecretVersions: {
    own: async (bed, owner) => ({
      method: 'POST',
      path: `/v1/secret/delete/${await secret(bed, owner)}`,
      body: { versions: [1] },
    }),
    foreign: async (bed) => ({
      method: 'POST',
      path: `/v1/secret/delete/${await secret(bed, rival)}`,
      body: { versions: [1] },
    }),
    applied: async (bed, request, reader) =>
      (await status(bed, reader, request.path.replace('/v1/secret/delete/', '/v1/secret/data/'))) === 404,
  },
  undeleteVaultSecretVersions: {
    own: async (bed, owner) => {
      const path = await secret(bed, owner);
      await ok(bed, owner, 'POST', `/secrets/delete/${path}`, { versions: [1] });
      return { method: 'POST', path: `/v1/secret/undelete/${path}`, body: { versions: [1] } };
    },
    foreign: async (bed) => {
      const path = await secret(bed, rival);
      await ok(bed, rival, 'POST', `/secrets/delete/${path}`, { versions: [1] });
      return { method: 'POST', path: `/v1/secret/undelete/${path}`, body: { versions: [1] } };
    },
    applied: async (bed, request, reader) =>
      (await status(bed, reader, request.path.replace('/v1/secret/undelete/', '/v1/secret/data/'))) === 200,
  },
  destroyVaultSecretVersions: {
    own: async (bed, owner) => ({
      method: 'POST',
      path: `/v1/secret/destroy/${await secret(bed, owner)}`,
      body: { versions: [1] },
    }),
    foreign: async (bed) => ({
      method: 'POST',
      path: `/v1/secret/destroy/${await secret(bed, rival)}`,
      body: { versions: [1] },
    }),
    applied: async (bed, request, reader) =>
      (await status(bed, reader, request.path.replace('/v1/secret/destroy/', '/v1/secret/data/'))) !== 200,
  },
  listVaultSecretsAtRoot: {
    own: async (bed, owner) => {
      await secret(bed, owner);
      return { method: 'GET', path: '/v1/secret/metadata?list=true' };
    },
  },
  readVaultSecretMetadata: {
    own: async (bed, owner) => ({ method: 'GET', path: `/v1/secret/metadata/${await secret(bed, owner)}` }),
    foreign: async (bed) => ({ method: 'GET', path: `/v1/secret/metadata/${await secret(bed, rival)}` }),
  },
  writeVaultSecretMetadata: {
    own: async (bed, owner) => ({
      method: 'POST',
      path: `/v1/secret/metadata/${await secret(bed, owner)}`,
      body: { max_versions: 7, custom_metadata: { team: 'reliability' } },
    }),
    applied: async (bed, request, reader) => {
      const answer = await bed.call(reader, 'GET', request.path);
      return (answer.json as { data?: { max_versions?: number } } | undefined)?.data?.max_versions === 7;
    },
  },
  patchVaultSecretMetadata: {
    own: async (bed, owner) => ({
      method: 'PATCH',
      path: `/v1/secret/metadata/${await secret(bed, owner)}`,
      body: { max_versions: 6, custom_metadata: { team: 'reliability' } },
    }),
    foreign: async (bed) => ({
      method: 'PATCH',
      path: `/v1/secret/metadata/${await secret(bed, rival)}`,
      body: { max_versions: 6 },
    }),
    applied: async (bed, request, reader) => {
      const answer = await bed.call(reader, 'GET', request.path);
      return (answer.json as { data?: { max_versions?: number } } | undefined)?.data?.max_versions === 6;
    },
  },
  deleteVaultSecretMetadata: {
    own: async (bed, owner) => ({
      method: 'DELETE',
      path: `/v1/secret/metadata/${await secret(bed, owner)}`,
    }),
    foreign: async (bed) => ({ method: 'DELETE', path: `/v1/secret/metadata/${await secret(bed, rival)}` }),
    applied: async (bed, request, reader) => (await status(bed, reader, request.path)) === 404,
  },
  readVaultSecretSubkeys: {
    own: async (bed, owner) => ({ method: 'GET', path: `/v1/secret/subkeys/${await secret(bed, owner)}` }),
    foreign: async (bed) => ({ method: 'GET', path: `/v1/secret/subkeys/${await secret(bed, rival)}` }),
  },
  // The /v1 catch-all: a path no route serves, naming a secret the caller's tenant has, or one
  // only the foreign tenant has; both are the same 404, whoever asks and with whatever token.
  vaultUnknownPath: {
    own: async (bed, owner) => ({ method: 'GET', path: `/v1/secret/history/${await secret(bed, owner)}` }),
    foreign: async (bed) => ({ method: 'GET', path: `/v1/secret/history/${await secret(bed, rival)}` }),
  },

  listPolicies: { own: async () => ({ method: 'GET', path: '/policies' }) },
  listPolicyAttachments: { own: async () => ({ method: 'GET', path: '/policies/attachments' }) },
  attachPoliciesToGroup: {
    own: async (bed, owner) => ({
      method: 'PUT',
      path: '/policies/attachments/groups/viewer',
      body: { policies: [await policy(bed, owner)] },
    }),
    applied: async (bed, request, reader) => {
      const answer = await bed.call(reader, 'GET', '/policies/attachments');
      const wanted = (request.body as { policies: string[] }).policies[0] ?? '';
      return answer.text.includes(wanted);
    },
  },
  attachPoliciesToClient: {
    own: async (bed, owner) => ({
      method: 'PUT',
      path: `/policies/attachments/clients/${bed.spareClientId}`,
      body: { policies: [await policy(bed, owner)] },
    }),
    applied: async (bed, request, reader) => {
      const answer = await bed.call(reader, 'GET', '/policies/attachments');
      const wanted = (request.body as { policies: string[] }).policies[0] ?? '';
      return answer.text.includes(wanted);
    },
  },
  readPolicy: {
    own: async (bed, owner) => ({ method: 'GET', path: `/policies/${await policy(bed, owner)}` }),
    foreign: async (bed) => ({ method: 'GET', path: `/policies/${await policy(bed, rival)}` }),
  },
  putPolicy: {
    own: async () => ({
      method: 'PUT',
      path: `/policies/${fresh('p')}`,
      body: { rules: [{ path: 'rel/+/x', capabilities: ['list'] }] },
    }),
    applied: async (bed, request, reader) => (await status(bed, reader, request.path)) === 200,
  },
  deletePolicy: {
    own: async (bed, owner) => ({ method: 'DELETE', path: `/policies/${await policy(bed, owner)}` }),
    foreign: async (bed) => ({ method: 'DELETE', path: `/policies/${await policy(bed, rival)}` }),
    applied: async (bed, request, reader) => (await status(bed, reader, request.path)) === 404,
  },

  rewrapDataKeys: { own: async () => ({ method: 'POST', path: '/admin/rewrap', body: { limit: 10 } }) },

  listAuditEvents: {
    own: async () => ({ method: 'GET', path: '/audit?limit=5' }),
    foreign: async () => ({ method: 'GET', path: `/audit?limit=5&tenant=${FOREIGN}` }),
  },
  verifyAuditChain: {
    own: async () => ({ method: 'GET', path: '/audit/verify' }),
    foreign: async () => ({ method: 'GET', path: `/audit/verify?tenant=${FOREIGN}` }),
  },
  exportAuditLog: {
    own: async () => ({ method: 'GET', path: '/audit/export?format=ndjson' }),
    foreign: async () => ({ method: 'GET', path: `/audit/export?format=ndjson&tenant=${FOREIGN}` }),
  },
  getAuditPublicKey: { own: async () => ({ method: 'GET', path: '/audit/public-key' }) },
  hashAuditIdentifier: {
    own: async () => ({ method: 'POST', path: '/audit/hash', body: { value: 'AKIAEXAMPLEIDENTIFIER' } }),
  },
  listAuditDigests: {
    own: async () => ({ method: 'GET', path: '/audit/digests' }),
    foreign: async () => ({ method: 'GET', path: `/audit/digests?tenant=${FOREIGN}` }),
  },
  signAuditDigest: { own: async () => ({ method: 'POST', path: '/audit/digests' }) },
  readAuditSettings: {
    own: async () => ({ method: 'GET', path: '/audit/settings' }),
    foreign: async () => ({ method: 'GET', path: `/audit/settings?tenant=${FOREIGN}` }),
  },
  writeAuditSettings: {
    own: async () => ({ method: 'PUT', path: '/audit/settings', body: { retentionDays: 400 } }),
    foreign: async () => ({
      method: 'PUT',
      path: `/audit/settings?tenant=${FOREIGN}`,
      body: { retentionDays: 401 },
    }),
  },

  listCredentials: { own: async () => ({ method: 'GET', path: '/credentials' }) },
  registerCredential: {
    own: async () => ({
      method: 'POST',
      path: '/credentials',
      body: {
        type: 'api-token',
        name: fresh('registered'),
        owner: 'team-reliability',
        expiresAt: '2031-02-01',
      },
    }),
  },
  getCredential: {
    own: async (bed, owner) => ({ method: 'GET', path: `/credentials/${await credential(bed, owner)}` }),
    foreign: async (bed) => ({ method: 'GET', path: `/credentials/${await credential(bed, rival)}` }),
  },
  updateCredential: {
    own: async (bed, owner) => ({
      method: 'PATCH',
      path: `/credentials/${await credential(bed, owner)}`,
      body: { owner: 'team-changed' },
    }),
    foreign: async (bed) => ({
      method: 'PATCH',
      path: `/credentials/${await credential(bed, rival)}`,
      body: { owner: 'team-changed' },
    }),
    applied: async (bed, request, reader) => {
      const answer = await bed.call(reader, 'GET', request.path);
      return (answer.json as { data?: { owner?: string } } | undefined)?.data?.owner === 'team-changed';
    },
  },
  unregisterCredential: {
    own: async (bed, owner) => ({ method: 'DELETE', path: `/credentials/${await credential(bed, owner)}` }),
    foreign: async (bed) => ({ method: 'DELETE', path: `/credentials/${await credential(bed, rival)}` }),
    applied: async (bed, request, reader) => (await status(bed, reader, request.path)) === 404,
  },

  rotateCredential: {
    own: async (bed, owner) => ({
      method: 'POST',
      path: `/credentials/${await rotatable(bed, owner)}/rotate`,
    }),
    foreign: async (bed) => ({ method: 'POST', path: `/credentials/${await rotatable(bed, rival)}/rotate` }),
    applied: async (bed, request, reader) => {
      const answer = await bed.call(reader, 'GET', request.path.replace(/\/rotate$/, '/rotations'));
      // The list answers {data: {rotations: [...]}} (routes.ts, listCredentialRotations).
      const listed = answer.json as { data?: { rotations?: unknown[] } } | undefined;
      return (listed?.data?.rotations?.length ?? 0) > 0;
    },
  },
  listCredentialRotations: {
    own: async (bed, owner) => ({
      method: 'GET',
      path: `/credentials/${await credential(bed, owner)}/rotations`,
    }),
    foreign: async (bed) => ({
      method: 'GET',
      path: `/credentials/${await credential(bed, rival)}/rotations`,
    }),
  },
  getRotation: {
    own: async (bed, owner) => ({ method: 'GET', path: `/rotations/${await rotation(bed, owner, false)}` }),
    foreign: async (bed) => ({ method: 'GET', path: `/rotations/${await rotation(bed, rival, false)}` }),
  },
  rollbackRotation: {
    own: async (bed, owner) => ({
      method: 'POST',
      path: `/rotations/${await rotation(bed, owner, true)}/rollback`,
    }),
    foreign: async (bed) => ({
      method: 'POST',
      path: `/rotations/${await rotation(bed, rival, true)}/rollback`,
    }),
    applied: async (bed, request, reader) => {
      const answer = await bed.call(reader, 'GET', request.path.replace(/\/rollback$/, ''));
      return (answer.json as { data?: { state?: string } } | undefined)?.data?.state === 'rolled-back';
    },
  },
  submitRotation: {
    own: async (bed, owner) => {
      const { rotationId, token } = await awaitingRotation(bed, owner);
      return { method: 'POST', path: `/rotations/${rotationId}/submit`, body: { value: { token } } };
    },
    foreign: async (bed) => {
      const { rotationId, token } = await awaitingRotation(bed, rival);
      return { method: 'POST', path: `/rotations/${rotationId}/submit`, body: { value: { token } } };
    },
    // The change is the submission being taken: the rotation no longer waits. What follows is
    // the engine's (it answers `in-progress` when the storage refused a later step, and its
    // scheduled runs finish it), so `succeeded` is not required here.
    applied: async (bed, request, reader) => {
      const answer = await bed.call(reader, 'GET', request.path.replace(/\/submit$/, ''));
      const state = (answer.json as { data?: { state?: string } } | undefined)?.data?.state;
      return state !== undefined && state !== 'awaiting-input';
    },
  },
  listRotationPolicies: { own: async () => ({ method: 'GET', path: '/rotation-policies' }) },
  getRotationPolicy: {
    own: async (bed, owner) => ({
      method: 'GET',
      path: `/rotation-policies/${await rotationPolicy(bed, owner)}`,
    }),
    foreign: async (bed) => ({
      method: 'GET',
      path: `/rotation-policies/${await rotationPolicy(bed, rival)}`,
    }),
  },
  putRotationPolicy: {
    own: async () => ({
      method: 'PUT',
      path: `/rotation-policies/${fresh('rp')}`,
      body: { policy: { intervalDays: 60 } },
    }),
    applied: async (bed, request, reader) => (await status(bed, reader, request.path)) === 200,
  },
  deleteRotationPolicy: {
    own: async (bed, owner) => ({
      method: 'DELETE',
      path: `/rotation-policies/${await rotationPolicy(bed, owner)}`,
    }),
    foreign: async (bed) => ({
      method: 'DELETE',
      path: `/rotation-policies/${await rotationPolicy(bed, rival)}`,
    }),
    applied: async (bed, request, reader) => (await status(bed, reader, request.path)) === 404,
  },

  startDiscoveryRun: { own: async () => ({ method: 'POST', path: '/discovery/runs' }) },
  runExpiryCheck: { own: async () => ({ method: 'POST', path: '/notifications/expiry-check' }) },
  listDiscoveryRuns: { own: async () => ({ method: 'GET', path: '/discovery/runs' }) },
  getDiscoveryRun: {
    own: async (bed, owner) => ({ method: 'GET', path: `/discovery/runs/${await discoveryRun(bed, owner)}` }),
    foreign: async (bed) => ({ method: 'GET', path: `/discovery/runs/${await discoveryRun(bed, rival)}` }),
  },
  getDiscoverySettings: { own: async () => ({ method: 'GET', path: '/discovery/settings' }) },
  putDiscoverySettings: {
    own: async () => ({
      method: 'PUT',
      path: '/discovery/settings',
      body: { regions: ['eu-west-1'], disabledRules: [] },
    }),
  },
  listFindingRules: { own: async () => ({ method: 'GET', path: '/discovery/rules' }) },

  listNotificationDeliveries: { own: async () => ({ method: 'GET', path: '/notifications?limit=5' }) },
  listNotificationChannels: { own: async () => ({ method: 'GET', path: '/notifications/channels' }) },
  createNotificationChannel: {
    own: async (bed) => ({
      method: 'POST',
      path: '/notifications/channels',
      body: {
        kind: 'slack',
        name: fresh('slack'),
        webhookUrl: `${bed.receiver.origin}/slack`,
      },
    }),
  },
  getNotificationChannel: {
    own: async (bed, owner) => ({
      method: 'GET',
      path: `/notifications/channels/${await channel(bed, owner)}`,
    }),
    foreign: async (bed) => ({ method: 'GET', path: `/notifications/channels/${await channel(bed, rival)}` }),
  },
  updateNotificationChannel: {
    own: async (bed, owner) => ({
      method: 'PATCH',
      path: `/notifications/channels/${await channel(bed, owner)}`,
      body: { name: 'renamed channel' },
    }),
    foreign: async (bed) => ({
      method: 'PATCH',
      path: `/notifications/channels/${await channel(bed, rival)}`,
      body: { name: 'renamed channel' },
    }),
    applied: async (bed, request, reader) => {
      const answer = await bed.call(reader, 'GET', request.path);
      return (answer.json as { data?: { name?: string } } | undefined)?.data?.name === 'renamed channel';
    },
  },
  deleteNotificationChannel: {
    own: async (bed, owner) => ({
      method: 'DELETE',
      path: `/notifications/channels/${await channel(bed, owner)}`,
    }),
    foreign: async (bed) => ({
      method: 'DELETE',
      path: `/notifications/channels/${await channel(bed, rival)}`,
    }),
    applied: async (bed, request, reader) => (await status(bed, reader, request.path)) === 404,
  },
  testNotificationChannel: {
    own: async (bed, owner) => ({
      method: 'POST',
      path: `/notifications/channels/${await snsChannel(bed, owner)}/test`,
    }),
    foreign: async (bed) => ({
      method: 'POST',
      path: `/notifications/channels/${await snsChannel(bed, rival)}/test`,
    }),
  },
  listNotificationRoutes: { own: async () => ({ method: 'GET', path: '/notifications/routes' }) },
  createNotificationRoute: {
    own: async () => ({ method: 'POST', path: '/notifications/routes', body: ROUTE }),
  },
  getNotificationRoute: {
    own: async (bed, owner) => ({
      method: 'GET',
      path: `/notifications/routes/${await notificationRoute(bed, owner)}`,
    }),
    foreign: async (bed) => ({
      method: 'GET',
      path: `/notifications/routes/${await notificationRoute(bed, rival)}`,
    }),
  },
  putNotificationRoute: {
    own: async () => ({ method: 'PUT', path: `/notifications/routes/${fresh('rt')}`, body: ROUTE }),
    applied: async (bed, request, reader) => (await status(bed, reader, request.path)) === 200,
  },
  deleteNotificationRoute: {
    own: async (bed, owner) => ({
      method: 'DELETE',
      path: `/notifications/routes/${await notificationRoute(bed, owner)}`,
    }),
    foreign: async (bed) => ({
      method: 'DELETE',
      path: `/notifications/routes/${await notificationRoute(bed, rival)}`,
    }),
    applied: async (bed, request, reader) => (await status(bed, reader, request.path)) === 404,
  },
  listAlertHolds: { own: async () => ({ method: 'GET', path: '/notifications/holds' }) },
  getAlertHold: {
    own: async (bed, owner) => ({ method: 'GET', path: `/notifications/holds/${await held(bed, owner)}` }),
    foreign: async (bed) => ({ method: 'GET', path: `/notifications/holds/${await held(bed, rival)}` }),
  },
  putAlertHold: {
    own: async (bed, owner) => ({
      method: 'PUT',
      path: `/notifications/holds/${await credential(bed, owner)}`,
      body: snooze(),
    }),
    foreign: async (bed) => ({
      method: 'PUT',
      path: `/notifications/holds/${await credential(bed, rival)}`,
      body: snooze(),
    }),
    applied: async (bed, request, reader) => (await status(bed, reader, request.path)) === 200,
  },
  deleteAlertHold: {
    own: async (bed, owner) => ({ method: 'DELETE', path: `/notifications/holds/${await held(bed, owner)}` }),
    foreign: async (bed) => ({ method: 'DELETE', path: `/notifications/holds/${await held(bed, rival)}` }),
    applied: async (bed, request, reader) => (await status(bed, reader, request.path)) === 404,
  },
};

export function fixtureOf(route: RouteSpec): RouteFixture {
  const fixture = FIXTURES[route.operationId];
  if (fixture === undefined) throw new Error(`No reliability fixture for ${route.operationId}: add one`);
  return fixture;
}

/** A route changes state when it is not a read (GET, HEAD), and not one served only to refuse (`refusedWith`). */
export function isMutating(route: RouteSpec): boolean {
  return route.method !== 'GET' && route.method !== 'HEAD' && route.refusedWith === undefined;
}
