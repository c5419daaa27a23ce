/**
 * Updating a managed credential's rotation fields through `CredentialInventory#update`, with the
 * rotation engine's registrar (`InventoryRotationTargets`) and the rotators VaultPilot ships: the
 * due time follows policy, tags and last rotation; settings merge onto the stored ones and are
 * checked as at registration; in-flight rotations and discovered credentials are protected.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../lambdas/core/audit/audit-event.js';
import type { Caller } from '../../lambdas/core/audit/caller.js';
import {
  ROTATION_INPUT_FIELDS,
  UpdateCredentialSchema,
} from '../../lambdas/core/credentials/credential-input.js';
import { CredentialInventory } from '../../lambdas/core/credentials/inventory.js';
import { DEFAULT_DISCOVERY_SETTINGS } from '../../lambdas/core/discovery/settings.js';
import { ConflictError, ValidationError } from '../../lambdas/core/errors.js';
import { InventoryRotationTargets } from '../../lambdas/core/rotation/inventory-targets.js';
import { createRotators } from '../../lambdas/rotators/index.js';
import { UpdateCredentialRequest } from '../../lambdas/shared/contracts/credentials.js';
import { credential, DAY, daysAgo, NOW } from '../support/credentials.js';
import { MemoryCredentialStore, MemoryPolicyStore } from '../support/memory-inventory.js';

const TENANT = 'acme';

function setup() {
  const store = new MemoryCredentialStore();
  const policies = new MemoryPolicyStore();
  policies.add(TENANT, 'monthly', { intervalDays: 30 });
  policies.add(TENANT, 'quarterly', { intervalDays: 90 });
  const rotators = createRotators({
    iam: {
      iam: new IAMClient({ region: 'us-east-1' }),
      sts: (credentials) => new STSClient({ region: 'us-east-1', credentials }),
    },
  });
  // The engine's outcomes reach the inventory as in the runtime's wiring.
  const registrar = new InventoryRotationTargets(
    store,
    (tenant, id, update) => inventory.recordRotation(tenant, id, update),
    policies,
    rotators,
  );
  const audited: AuditEvent[] = [];
  const inventory: CredentialInventory = new CredentialInventory(
    store,
    { get: async () => DEFAULT_DISCOVERY_SETTINGS, put: async () => DEFAULT_DISCOVERY_SETTINGS },
    { record: async (event) => void audited.push(event) },
    { publish: async () => undefined },
    { now: () => NOW },
    { rotation: registrar },
  );
  return { store, policies, inventory, audited, registrar };
}

const operator: Caller = {
  principal: {
    kind: 'user',
    subject: 'sub-1',
    username: 'olga',
    tenant: TENANT,
    roles: ['operator'],
    scopes: [],
    clientId: 'dashboard',
  },
  requestId: 'req-1',
};

const vaultSecret = {
  type: 'vault-secret',
  name: 'api token',
  secretPath: 'apps/api/token',
  generator: { length: 40, field: 'token' },
  createdAt: daysAgo(10),
};

/** Days from NOW to an ISO time. */
function daysFromNow(iso: string | undefined): number | undefined {
  return iso === undefined ? undefined : (Date.parse(iso) - NOW.getTime()) / DAY;
}

describe('updating the rotation of a managed credential', () => {
  it('moves the due time when the named policy changes', async () => {
    const { inventory } = setup();
    const created = await inventory.register(operator, { ...vaultSecret, rotationPolicy: 'monthly' });
    expect(daysFromNow(created.rotation?.dueAt)).toBe(20);

    const updated = await inventory.update(operator, created.id, { rotationPolicy: 'quarterly' });

    expect(updated.rotationPolicy).toBe('quarterly');
    expect(daysFromNow(updated.rotation?.dueAt)).toBe(80);
  });

  it('clears the due time when a tag exempts the credential, and restores it when the tag goes', async () => {
    const { inventory } = setup();
    const created = await inventory.register(operator, { ...vaultSecret, rotationPolicy: 'monthly' });

    const exempt = await inventory.update(operator, created.id, {
      tags: { 'vaultpilot:rotation-exempt': 'true' },
    });
    const back = await inventory.update(operator, created.id, { tags: {} });

    expect(exempt.rotation?.dueAt).toBeUndefined();
    expect(exempt.rotation?.secretPath).toBe('apps/api/token');
    expect(daysFromNow(back.rotation?.dueAt)).toBe(20);
  });

  it('moves the due time with a reported last rotation', async () => {
    const { inventory } = setup();
    const created = await inventory.register(operator, { ...vaultSecret, rotationPolicy: 'monthly' });

    const updated = await inventory.update(operator, created.id, { lastRotatedAt: daysAgo(1) });

    expect(daysFromNow(updated.rotation?.dueAt)).toBe(29);
  });

  it('replaces a named policy with an inline one and back, and null leaves the tenant default', async () => {
    const { inventory, policies } = setup();
    policies.add(TENANT, 'vault-default', { intervalDays: 60, appliesTo: { types: ['vault-secret'] } });
    const created = await inventory.register(operator, { ...vaultSecret, rotationPolicy: 'monthly' });

    const inline = await inventory.update(operator, created.id, { rotationPolicy: { intervalDays: 7 } });
    const named = await inventory.update(operator, created.id, { rotationPolicy: 'quarterly' });
    await inventory.update(operator, created.id, { rotationPolicy: { intervalDays: 7 } });
    const cleared = await inventory.update(operator, created.id, { rotationPolicy: null });

    expect(inline.rotationPolicy).toBeUndefined();
    expect(inline.rotation?.policy).toEqual({ intervalDays: 7 });
    expect(daysFromNow(inline.rotation?.dueAt)).toBe(-3);
    expect(named.rotationPolicy).toBe('quarterly');
    expect(named.rotation?.policy).toBeUndefined();
    expect(daysFromNow(named.rotation?.dueAt)).toBe(80);
    expect(cleared.rotationPolicy).toBeUndefined();
    expect(cleared.rotation?.policy).toBeUndefined();
    expect(daysFromNow(cleared.rotation?.dueAt)).toBe(50);
  });

  it('has no due time once no policy applies', async () => {
    const { inventory } = setup();
    const created = await inventory.register(operator, {
      ...vaultSecret,
      rotationPolicy: { intervalDays: 30 },
    });

    const updated = await inventory.update(operator, created.id, { rotationPolicy: null });

    expect(updated.rotation).toMatchObject({ secretPath: 'apps/api/token' });
    expect(updated.rotation?.dueAt).toBeUndefined();
  });

  it('merges the settings a patch names onto the stored ones and checks the result', async () => {
    const { inventory } = setup();
    const created = await inventory.register(operator, {
      type: 'postgres-password',
      name: 'orders db',
      secretPath: 'db/orders/app',
      connection: { host: 'db.internal', database: 'orders', username: 'app' },
      strategy: 'alternating-users',
      managingSecretPath: 'db/orders/admin',
      rotationPolicy: 'monthly',
    });

    const moved = await inventory.update(operator, created.id, {
      connection: { host: 'db2.internal', database: 'orders', username: 'app' },
    });
    const generated = await inventory.update(operator, created.id, { generator: { length: 40 } });
    const defaulted = await inventory.update(operator, created.id, { generator: null });
    const broken = await inventory
      .update(operator, created.id, { connection: { host: 'db3.internal' } })
      .catch((error: unknown) => error);

    expect(moved.rotation?.settings).toEqual({
      connection: { host: 'db2.internal', database: 'orders', username: 'app' },
      strategy: 'alternating-users',
      managingSecretPath: 'db/orders/admin',
    });
    expect(generated.rotation?.settings.generator).toEqual({ length: 40 });
    expect(generated.rotation?.settings.strategy).toBe('alternating-users');
    expect(defaulted.rotation?.settings).not.toHaveProperty('generator');
    expect(broken).toBeInstanceOf(ValidationError);
    expect(issuePaths(broken)).toEqual(['connection.database', 'connection.username']);
  });

  it("merges secretsManagerCopy onto an IAM key's settings and checks it with the rotator", async () => {
    const { inventory } = setup();
    const key = await inventory.register(operator, {
      type: 'aws-iam-access-key',
      name: 'deploy key',
      secretPath: 'aws/deployer',
      userName: 'deployer',
      rotationPolicy: 'quarterly',
    });

    const off = await inventory.update(operator, key.id, { secretsManagerCopy: false });
    // No Secrets Manager is configured for copies in this setup: the rotator refuses the copy.
    const on = await inventory
      .update(operator, key.id, { secretsManagerCopy: true })
      .catch((error: unknown) => error);

    expect(off.rotation?.settings).toEqual({ userName: 'deployer', secretsManagerCopy: false });
    expect(issuePaths(on)).toEqual(['secretsManagerCopy']);
  });

  it('refuses invalid settings and policies with 400, naming the field and echoing no value', async () => {
    const { inventory, policies } = setup();
    policies.add(TENANT, 'iam-only', { intervalDays: 30, rotator: 'aws-iam-access-key' });
    const created = await inventory.register(operator, { ...vaultSecret, rotationPolicy: 'monthly' });
    const refused = async (patch: Record<string, unknown>) =>
      inventory.update(operator, created.id, patch).catch((error: unknown) => error);

    const answers = {
      short: await refused({ generator: { length: 4, field: 'token' } }),
      unknownField: await refused({ generator: { length: 40, pepper: 'hunter2-not-echoed' } }),
      notASetting: await refused({ connection: { host: 'db.internal' } }),
      badPolicy: await refused({ rotationPolicy: { intervalDays: 30, deactivateAfterDays: -1 } }),
      otherRotator: await refused({ rotationPolicy: { intervalDays: 30, rotator: 'postgres-password' } }),
      missingPolicy: await refused({ rotationPolicy: 'no-such-policy' }),
      namedOtherRotator: await refused({ rotationPolicy: 'iam-only' }),
      badPath: await refused({ secretPath: '../escape' }),
      badStrategy: await refused({ strategy: 'hunter2-strategy' }),
    };

    for (const [name, error] of Object.entries(answers)) {
      expect(error, name).toBeInstanceOf(ValidationError);
      expect(JSON.stringify({ error, message: (error as Error).message }), name).not.toMatch(/hunter2/);
    }
    expect(issuePaths(answers.short)).toEqual(['generator.length']);
    expect(issuePaths(answers.notASetting)).toEqual(['connection']);
    expect(issuePaths(answers.badPolicy)).toEqual(['deactivateAfterDays']);
    expect(issuePaths(answers.otherRotator)).toEqual(['rotationPolicy.rotator']);
    expect(issuePaths(answers.missingPolicy)).toEqual(['rotationPolicy']);
    expect(issuePaths(answers.namedOtherRotator)).toEqual(['rotationPolicy']);
    expect(issuePaths(answers.badStrategy)).toEqual(['strategy']);
    const unchanged = await inventory.get(operator, created.id);
    expect(unchanged.credential.revision).toBe(1);
  });

  it('keeps stored settings unchecked when a patch does not touch them', async () => {
    const { inventory, store } = setup();
    const legacy = credential({
      type: 'vault-secret',
      tenant: TENANT,
      rotationPolicy: 'monthly',
      rotation: { secretPath: 'apps/legacy', settings: { generator: { length: 4 } } },
    });
    await store.create(legacy);

    const updated = await inventory.update(operator, legacy.id, { owner: 'team-platform' });

    expect(updated.rotation?.settings).toEqual({ generator: { length: 4 } });
    expect(daysFromNow(updated.rotation?.dueAt)).toBe(20);
  });

  it('adds a rotation binding to a managed credential registered without one', async () => {
    const { inventory } = setup();
    const token = await inventory.register(operator, {
      type: 'vault-secret',
      name: 'plain',
      createdAt: daysAgo(10),
    });
    const key = await inventory.register(operator, {
      type: 'aws-iam-access-key',
      name: 'deploy key',
      reference: { userName: 'deployer', keyId: 'AKIADEPLOYER00000001' },
      createdAt: daysAgo(10),
    });
    const vendor = await inventory.register(operator, { type: 'api-token', name: 'vendor' });

    const withoutPath = await inventory
      .update(operator, token.id, { generator: { length: 40 } })
      .catch((error: unknown) => error);
    const bound = await inventory.update(operator, token.id, {
      secretPath: 'apps/plain',
      rotationPolicy: 'monthly',
    });
    const boundKey = await inventory.update(operator, key.id, {
      secretPath: 'aws/deployer',
      rotationPolicy: { intervalDays: 90 },
    });
    const noRotator = await inventory
      .update(operator, vendor.id, { secretPath: 'apps/vendor' })
      .catch((error: unknown) => error);

    expect(token.rotation).toBeUndefined();
    expect(issuePaths(withoutPath)).toEqual(['secretPath']);
    expect(bound.rotation).toEqual({
      secretPath: 'apps/plain',
      settings: {},
      dueAt: new Date(NOW.getTime() + 20 * DAY).toISOString(),
    });
    expect(boundKey.rotation).toMatchObject({
      secretPath: 'aws/deployer',
      settings: { userName: 'deployer' },
      policy: { intervalDays: 90 },
    });
    expect(issuePaths(noRotator)).toEqual(['type']);
  });

  it('answers 409 for a new secret path or settings while a rotation runs, and allows policy and tags', async () => {
    const { inventory, store } = setup();
    const created = await inventory.register(operator, { ...vaultSecret, rotationPolicy: 'monthly' });
    const stored = await store.get(TENANT, created.id);
    await store.replace({ ...stored!, rotationState: 'rotating', revision: 2 }, 1);

    const path = await inventory
      .update(operator, created.id, { secretPath: 'apps/elsewhere' })
      .catch((error: unknown) => error);
    const generator = await inventory
      .update(operator, created.id, { generator: { length: 64 } })
      .catch((error: unknown) => error);
    const same = await inventory.update(operator, created.id, { secretPath: 'apps/api/token' });
    const policy = await inventory.update(operator, created.id, {
      rotationPolicy: 'quarterly',
      tags: { team: 'platform' },
    });

    expect(path).toBeInstanceOf(ConflictError);
    expect((path as ConflictError).details).toEqual({ fields: ['secretPath'] });
    expect(generator).toBeInstanceOf(ConflictError);
    expect(same.rotation?.secretPath).toBe('apps/api/token');
    expect(policy.rotationState).toBe('rotating');
    expect(daysFromNow(policy.rotation?.dueAt)).toBe(80);
  });

  it('keeps the retry time of a failed rotation when the credential changes', async () => {
    const { inventory, store } = setup();
    const created = await inventory.register(operator, {
      ...vaultSecret,
      rotationPolicy: 'monthly',
      lastRotatedAt: daysAgo(40),
    });
    const retryAt = new Date(NOW.getTime() + DAY).toISOString();
    const stored = await store.get(TENANT, created.id);
    await store.replace(
      {
        ...stored!,
        rotationState: 'failed',
        rotation: { ...stored!.rotation!, dueAt: retryAt },
        revision: 2,
      },
      1,
    );

    const owned = await inventory.update(operator, created.id, { owner: 'team-platform' });
    const longer = await inventory.update(operator, created.id, { rotationPolicy: 'quarterly' });

    expect(owned.rotation?.dueAt).toBe(retryAt);
    expect(daysFromNow(longer.rotation?.dueAt)).toBe(50);
  });

  it('refuses rotation settings and inline policies for discovered credentials', async () => {
    const { inventory, store } = setup();
    const discovered = credential({
      id: 'cr_0000000000000000000000d1',
      tenant: TENANT,
      type: 'aws-iam-access-key',
      source: 'discovered',
      reference: { userName: 'alice', keyId: 'AKIAALICE0000000001' },
    });
    await store.create(discovered);

    const settings = await inventory
      .update(operator, discovered.id, { secretPath: 'aws/alice', userName: 'alice' })
      .catch((error: unknown) => error);
    const inline = await inventory
      .update(operator, discovered.id, { rotationPolicy: { intervalDays: 30 } })
      .catch((error: unknown) => error);
    const named = await inventory.update(operator, discovered.id, { rotationPolicy: 'monthly' });

    expect(settings).toBeInstanceOf(ValidationError);
    expect((settings as ValidationError).details).toEqual({ fields: ['secretPath', 'userName'] });
    expect(inline).toBeInstanceOf(ValidationError);
    expect((inline as ValidationError).details).toEqual({ fields: ['rotationPolicy'] });
    expect(named.rotationPolicy).toBe('monthly');
    expect(named.rotation).toBeUndefined();
  });

  it('records rotation changes in the history and audits the update', async () => {
    const { inventory, store, audited } = setup();
    const created = await inventory.register(operator, { ...vaultSecret, rotationPolicy: 'monthly' });

    await inventory.update(operator, created.id, { generator: { length: 64, field: 'token' } });
    await inventory.update(operator, created.id, { generator: { length: 4 } }).catch(() => undefined);

    const entry = store.changes.at(-1);
    expect(entry?.action).toBe('updated');
    expect(entry?.changes).toEqual({
      'rotation.settings': {
        from: { generator: { length: 40, field: 'token' } },
        to: { generator: { length: 64, field: 'token' } },
      },
    });
    expect(audited.map((event) => [event.action, event.outcome, event.reason])).toEqual([
      ['credential.register', 'attempted', undefined],
      ['credential.register', 'allowed', undefined],
      ['credential.update', 'attempted', undefined],
      ['credential.update', 'allowed', undefined],
      ['credential.update', 'attempted', undefined],
      ['credential.update', 'failed', 'ValidationError'],
    ]);
  });
});

describe('updating rotation fields without a registrar', () => {
  it('merges and stores them unchecked, keeping the due time', async () => {
    const store = new MemoryCredentialStore();
    const inventory = new CredentialInventory(
      store,
      { get: async () => DEFAULT_DISCOVERY_SETTINGS, put: async () => DEFAULT_DISCOVERY_SETTINGS },
      { record: async () => undefined },
      { publish: async () => undefined },
      { now: () => NOW },
    );
    const created = await inventory.register(operator, {
      ...vaultSecret,
      rotationPolicy: { intervalDays: 30 },
    });

    const updated = await inventory.update(operator, created.id, {
      generator: { length: 4 },
      rotationPolicy: 'whatever',
    });

    expect(updated.rotationPolicy).toBe('whatever');
    expect(updated.rotation).toEqual({
      secretPath: 'apps/api/token',
      settings: { generator: { length: 4 } },
    });
  });
});

describe('the update contract', () => {
  it('takes the same fields in the API contract as in the domain, every rotation field included', () => {
    const contract = Object.keys(UpdateCredentialRequest.shape).sort();

    expect(contract).toEqual(Object.keys(UpdateCredentialSchema.shape).sort());
    expect(contract).toEqual(
      expect.arrayContaining(['secretPath', 'rotationPolicy', ...ROTATION_INPUT_FIELDS]),
    );
    for (const field of ROTATION_INPUT_FIELDS) {
      expect(UpdateCredentialRequest.safeParse({ [field]: null }).success, field).toBe(true);
      expect(UpdateCredentialSchema.safeParse({ [field]: null }).success, field).toBe(true);
    }
    expect(UpdateCredentialRequest.safeParse({ secretPath: null }).success).toBe(false);
  });
});

function issuePaths(error: unknown): string[] {
  const details = (error as ValidationError).details as { issues?: { path: string }[] } | undefined;
  return (details?.issues ?? []).map((issue) => issue.path);
}

describe('the due time of a webhook token and its expiry', () => {
  const webhookToken = (webhook: Record<string, unknown> = {}) => ({
    type: 'webhook-token',
    name: 'partner api token',
    secretPath: 'apps/partner/token',
    webhook: { url: 'https://hooks.example.com/rotate', signingSecretPath: 'hooks/signing', ...webhook },
    rotationPolicy: 'monthly',
    createdAt: daysAgo(10),
    expiresAt: new Date(NOW.getTime() + 60 * DAY).toISOString(),
  });
  const succeeded = (expiresAt: string | null) =>
    ({ kind: 'succeeded', rotationId: 'r-1', at: NOW.toISOString(), dryRun: false, expiresAt }) as const;

  it('is rotateDaysBeforeExpiry before the expiry when set, else the policy interval', async () => {
    // Prepare
    const { inventory } = setup();

    // Act
    const led = await inventory.register(operator, webhookToken({ rotateDaysBeforeExpiry: 14 }));
    const plain = await inventory.register(operator, { ...webhookToken(), name: 'other token' });

    // Assess: 60 days left less 14; the monthly policy 30 days after creation ten days ago.
    expect(daysFromNow(led.rotation?.dueAt)).toBe(46);
    expect(daysFromNow(plain.rotation?.dueAt)).toBe(20);
  });

  it("clears the old token's expiry after a rotation whose receiver named none", async () => {
    // Prepare
    const { inventory, registrar, store } = setup();
    const created = await inventory.register(operator, webhookToken({ rotateDaysBeforeExpiry: 14 }));

    // Act
    await registrar.recordOutcome(TENANT, created.id, succeeded(null));

    // Assess: no expiry any more, so the interval from the rotation applies.
    const stored = await store.get(TENANT, created.id);
    expect(stored?.expiresAt).toBeUndefined();
    expect(stored?.lastRotatedAt).toBe(NOW.toISOString());
    expect(daysFromNow(stored?.rotation?.dueAt)).toBe(30);
  });

  it('is due halfway through the life of a token that lives less than the lead, and never at once', async () => {
    // Prepare
    const { inventory, registrar, store } = setup();
    const created = await inventory.register(operator, webhookToken({ rotateDaysBeforeExpiry: 14 }));
    const hours = (iso: string | undefined) => (iso === undefined ? undefined : (daysFromNow(iso) ?? 0) * 24);

    // Act: a new token that lives a day, then one that had expired when it was minted.
    await registrar.recordOutcome(TENANT, created.id, succeeded(new Date(NOW.getTime() + DAY).toISOString()));
    const dayLong = await store.get(TENANT, created.id);
    await registrar.recordOutcome(TENANT, created.id, succeeded(daysAgo(1)));
    const expired = await store.get(TENANT, created.id);

    // Assess
    expect(hours(dayLong?.rotation?.dueAt)).toBe(12);
    expect(hours(expired?.rotation?.dueAt)).toBe(1);
  });

  it('asks a person for a new github-pat at once when it lives less than the lead (no floor)', async () => {
    // Prepare
    const { inventory, registrar, store } = setup();
    const created = await inventory.register(operator, {
      type: 'github-pat',
      name: 'deploy',
      owner: 'alice@example.com',
      secretPath: 'github/deploy',
      rotationPolicy: 'monthly',
      expiresAt: new Date(NOW.getTime() + 90 * DAY).toISOString(),
    });

    // Act: the person supplied a token that expires in 10 days, under the 30-day reminder lead.
    await registrar.recordOutcome(
      TENANT,
      created.id,
      succeeded(new Date(NOW.getTime() + 10 * DAY).toISOString()),
    );

    // Assess: due 30 days before the expiry, that is now overdue: the person is asked again.
    expect(daysFromNow(created.rotation?.dueAt)).toBe(60);
    expect(daysFromNow((await store.get(TENANT, created.id))?.rotation?.dueAt)).toBe(-20);
  });

  it('refuses a lead outside 1-365 days, naming the field', async () => {
    // Prepare
    const { inventory } = setup();

    // Act
    const registering = inventory.register(operator, webhookToken({ rotateDaysBeforeExpiry: 0 }));

    // Assess
    await expect(registering).rejects.toBeInstanceOf(ValidationError);
    await expect(registering).rejects.toMatchObject({
      details: { issues: [expect.objectContaining({ path: 'webhook.rotateDaysBeforeExpiry' })] },
    });
  });
});
