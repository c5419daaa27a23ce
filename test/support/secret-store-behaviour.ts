/**
 * The behaviour every `SecretStore` backend must show through `SecretsService` (Vault KV v2
 * semantics, concurrency, tenant isolation, no plaintext at rest). A backend's test file calls
 * `describeSecretStoreBehaviour` with a harness that builds the service over that backend and
 * can look at what the backend stored, bypassing the service.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
} from '../../lambdas/core/errors.js';
import type { SecretsService } from '../../lambdas/core/secrets/kv-service.js';
import { EnvelopeIntegrityError } from '../../lambdas/core/secrets/keyring.js';

export interface StoredVersionRef {
  readonly tenant: string;
  readonly path: string;
  readonly version: number;
}

export interface SecretStoreHarness {
  readonly service: SecretsService;
  /** The stored envelope of one version as the backend holds it; undefined if none is stored. */
  storedEnvelope(ref: StoredVersionRef): Promise<unknown>;
  /** Overwrites the stored envelope of `to` with the one of `from`, bypassing the service. */
  copyEnvelope(from: StoredVersionRef, to: StoredVersionRef): Promise<void>;
  /** Everything the backend stores, as text, for plaintext scans. */
  dumpStorage(): Promise<string>;
  close(): Promise<void>;
}

/** What a backend cannot do by design; cases that need it are not registered for it. */
export interface SecretStoreCapabilities {
  /** Highest `maxVersions` the backend accepts; default 100. */
  readonly maxVersions?: number;
  /** Destroy and prune remove the stored ciphertext at once; default true. */
  readonly removesCiphertextAtOnce?: boolean;
}

const ACTOR = 'user:alice';

export function describeSecretStoreBehaviour(
  name: string,
  makeHarness: () => Promise<SecretStoreHarness>,
  capabilities: SecretStoreCapabilities = {},
): void {
  const maxVersions = capabilities.maxVersions ?? 100;
  const removesCiphertextAtOnce = capabilities.removesCiphertextAtOnce ?? true;
  describe(`secret store behaviour: ${name}`, () => {
    let harness: SecretStoreHarness;
    let service: SecretsService;

    beforeAll(async () => {
      harness = await makeHarness();
      service = harness.service;
    });
    afterAll(async () => {
      await harness.close();
    });

    /** A tenant of its own per test, so tests never see each other's secrets. */
    const newTenant = (): string => `t-${randomUUID().slice(0, 8)}`;

    async function rejection(promise: Promise<unknown>): Promise<unknown> {
      try {
        await promise;
      } catch (error: unknown) {
        return error;
      }
      throw new Error('Expected the operation to fail');
    }

    describe('versions', () => {
      it('creates a secret and reads the latest version', async () => {
        // Prepare
        const tenant = newTenant();

        // Act
        const written = await service.write(ACTOR, tenant, 'prod/db/password', { password: 'p1' });
        const read = await service.read(tenant, 'prod/db/password');

        // Assess
        expect(written).toMatchObject({ version: 1, createdBy: ACTOR, destroyed: false });
        expect(written.deletionTime).toBeUndefined();
        expect(Date.parse(written.createdTime)).not.toBeNaN();
        expect(read).toEqual({ data: { password: 'p1' }, metadata: written });
      });

      it('reads any version by number and keeps metadata per version', async () => {
        const tenant = newTenant();
        for (const value of ['a', 'b', 'c']) await service.write(ACTOR, tenant, 'app/key', { value });

        const second = await service.read(tenant, 'app/key', 2);
        const latest = await service.read(tenant, 'app/key');
        const metadata = await service.readMetadata(tenant, 'app/key');

        expect(second.data).toEqual({ value: 'b' });
        expect(second.metadata.version).toBe(2);
        expect(latest).toMatchObject({ data: { value: 'c' }, metadata: { version: 3 } });
        expect(metadata).toMatchObject({ currentVersion: 3, oldestVersion: 0, maxVersions: 10 });
        expect(Object.keys(metadata.versions)).toEqual(['1', '2', '3']);
        expect(metadata.versions['2']).toMatchObject({ createdBy: ACTOR, destroyed: false });
      });

      it('answers 404 for a version that does not exist', async () => {
        const tenant = newTenant();
        await service.write(ACTOR, tenant, 'app/key', { v: '1' });

        const error = await rejection(service.read(tenant, 'app/key', 99));
        const missing = await rejection(service.read(tenant, 'app/nothing'));

        expect(error).toBeInstanceOf(NotFoundError);
        expect(missing).toBeInstanceOf(NotFoundError);
      });
    });

    describe('check-and-set', () => {
      it('writes when cas names the current version and refuses otherwise (409)', async () => {
        const tenant = newTenant();
        await service.write(ACTOR, tenant, 'app/key', { v: '1' });

        const ok = await service.write(ACTOR, tenant, 'app/key', { v: '2' }, { cas: 1 });
        const stale = await rejection(service.write(ACTOR, tenant, 'app/key', { v: 'x' }, { cas: 1 }));
        const ahead = await rejection(service.write(ACTOR, tenant, 'app/key', { v: 'x' }, { cas: 7 }));

        expect(ok.version).toBe(2);
        expect(stale).toBeInstanceOf(ConflictError);
        expect(ahead).toBeInstanceOf(ConflictError);
        expect((await service.read(tenant, 'app/key')).data).toEqual({ v: '2' });
      });

      it('cas 0 writes only a secret that does not exist', async () => {
        const tenant = newTenant();

        const created = await service.write(ACTOR, tenant, 'app/new', { v: '1' }, { cas: 0 });
        const again = await rejection(service.write(ACTOR, tenant, 'app/new', { v: '2' }, { cas: 0 }));

        expect(created.version).toBe(1);
        expect(again).toBeInstanceOf(ConflictError);
      });

      it('requires cas on a secret with casRequired', async () => {
        const tenant = newTenant();
        await service.write(ACTOR, tenant, 'app/key', { v: '1' });
        await service.writeMetadata(tenant, 'app/key', { casRequired: true });

        const without = await rejection(service.write(ACTOR, tenant, 'app/key', { v: '2' }));
        const withCas = await service.write(ACTOR, tenant, 'app/key', { v: '2' }, { cas: 1 });

        expect(without).toBeInstanceOf(ValidationError);
        expect((without as Error).message).toMatch(/check-and-set parameter required/);
        expect(withCas.version).toBe(2);
      });
    });

    describe('delete, undelete, destroy', () => {
      it('soft-deletes the latest version, then given versions, and undeletes them', async () => {
        const tenant = newTenant();
        for (const v of ['1', '2', '3']) await service.write(ACTOR, tenant, 'app/key', { v });

        await service.softDelete(tenant, 'app/key');
        const latest = await rejection(service.read(tenant, 'app/key'));
        const stillThere = await service.read(tenant, 'app/key', 2);
        await service.softDelete(tenant, 'app/key', [1, 2]);
        const first = await rejection(service.read(tenant, 'app/key', 1));
        const deleted = await service.readMetadata(tenant, 'app/key');
        await service.undelete(tenant, 'app/key', [1, 3]);

        expect(latest).toBeInstanceOf(NotFoundError);
        expect((latest as Error).message).toMatch(/deleted/);
        expect((latest as NotFoundError).details).toMatchObject({
          metadata: { version: 3, destroyed: false },
        });
        expect(stillThere.data).toEqual({ v: '2' });
        expect(first).toBeInstanceOf(NotFoundError);
        expect(Object.values(deleted.versions).every((state) => state.deletionTime !== undefined)).toBe(true);
        expect((await service.read(tenant, 'app/key', 1)).data).toEqual({ v: '1' });
        expect((await service.read(tenant, 'app/key')).data).toEqual({ v: '3' });
        expect(await rejection(service.read(tenant, 'app/key', 2))).toBeInstanceOf(NotFoundError);
      });

      it.runIf(removesCiphertextAtOnce)(
        'destroys versions for good: the stored envelope is gone and undelete cannot bring it back',
        async () => {
          const tenant = newTenant();
          await service.write(ACTOR, tenant, 'app/key', { v: '1' });
          await service.write(ACTOR, tenant, 'app/key', { v: '2' });
          expect(await harness.storedEnvelope({ tenant, path: 'app/key', version: 1 })).toBeDefined();

          await service.destroy(tenant, 'app/key', [1]);
          await service.undelete(tenant, 'app/key', [1]);
          const error = await rejection(service.read(tenant, 'app/key', 1));
          const metadata = await service.readMetadata(tenant, 'app/key');

          expect(error).toBeInstanceOf(NotFoundError);
          expect((error as Error).message).toMatch(/destroyed/);
          expect(await harness.storedEnvelope({ tenant, path: 'app/key', version: 1 })).toBeUndefined();
          expect(metadata.versions['1']?.destroyed).toBe(true);
          expect((await service.read(tenant, 'app/key')).data).toEqual({ v: '2' });
        },
      );

      it('deletes all versions and the metadata; the path then starts again at version 1', async () => {
        const tenant = newTenant();
        await service.write(ACTOR, tenant, 'app/key', { v: '1' });
        await service.write(ACTOR, tenant, 'app/key', { v: '2' });

        await service.deleteAll(tenant, 'app/key');
        const read = await rejection(service.read(tenant, 'app/key', 1));
        const metadata = await rejection(service.readMetadata(tenant, 'app/key'));
        const listed = await service.list(tenant, 'app/');
        const stored = await harness.storedEnvelope({ tenant, path: 'app/key', version: 2 });
        const again = await service.write(ACTOR, tenant, 'app/key', { v: 'new' });

        expect(read).toBeInstanceOf(NotFoundError);
        expect(metadata).toBeInstanceOf(NotFoundError);
        expect(listed.keys).toEqual([]);
        expect(stored).toBeUndefined();
        expect(again.version).toBe(1);
        expect(await rejection(service.deleteAll(tenant, 'app/missing'))).toBeInstanceOf(NotFoundError);
      });
    });

    describe('metadata', () => {
      it('keeps custom metadata and settings, and shows custom metadata with values', async () => {
        const tenant = newTenant();
        await service.write(ACTOR, tenant, 'app/key', { v: '1' });

        const updated = await service.writeMetadata(tenant, 'app/key', {
          customMetadata: { owner: 'team-a', description: 'billing db' },
          maxVersions: Math.min(20, maxVersions),
        });
        const read = await service.read(tenant, 'app/key');
        const replaced = await service.writeMetadata(tenant, 'app/key', { customMetadata: { owner: 'b' } });

        expect(updated).toMatchObject({
          maxVersions: Math.min(20, maxVersions),
          casRequired: false,
          customMetadata: { owner: 'team-a', description: 'billing db' },
          currentVersion: 1,
        });
        expect(read.metadata.customMetadata).toEqual({ owner: 'team-a', description: 'billing db' });
        expect(replaced).toMatchObject({
          maxVersions: Math.min(20, maxVersions),
          customMetadata: { owner: 'b' },
        });
      });

      it('accepts metadata before the first version', async () => {
        const tenant = newTenant();

        const created = await service.writeMetadata(tenant, 'app/later', { casRequired: true });
        const read = await rejection(service.read(tenant, 'app/later'));
        const first = await service.write(ACTOR, tenant, 'app/later', { v: '1' }, { cas: 0 });

        expect(created).toMatchObject({ currentVersion: 0, casRequired: true, versions: {} });
        expect(read).toBeInstanceOf(NotFoundError);
        expect(first.version).toBe(1);
      });

      it('refuses bad metadata', async () => {
        const tenant = newTenant();
        const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
        const cases = [
          { maxVersions: 0 },
          { maxVersions: 101 },
          { maxVersions: 1.5 },
          { customMetadata: tooMany },
          { customMetadata: { ['k'.repeat(129)]: 'v' } },
          { customMetadata: { k: 'v'.repeat(513) } },
          { customMetadata: { '': 'v' } },
        ];

        const errors = await Promise.all(
          cases.map((update) => rejection(service.writeMetadata(tenant, 'app/key', update))),
        );

        for (const error of errors) expect(error).toBeInstanceOf(ValidationError);
      });

      it('prunes versions beyond maxVersions', async () => {
        const tenant = newTenant();
        for (let i = 1; i <= 12; i += 1) await service.write(ACTOR, tenant, 'app/key', { v: String(i) });

        const metadata = await service.readMetadata(tenant, 'app/key');
        const first = await rejection(service.read(tenant, 'app/key', 1));
        const second = await rejection(service.read(tenant, 'app/key', 2));
        const third = await service.read(tenant, 'app/key', 3);
        const lowered = await service.writeMetadata(tenant, 'app/key', { maxVersions: 5 });

        expect(metadata).toMatchObject({ currentVersion: 12, oldestVersion: 3 });
        expect(Object.keys(metadata.versions)).toEqual(Array.from({ length: 10 }, (_, i) => String(i + 3)));
        expect(first).toBeInstanceOf(NotFoundError);
        expect(second).toBeInstanceOf(NotFoundError);
        expect(third.data).toEqual({ v: '3' });
        if (removesCiphertextAtOnce) {
          expect(await harness.storedEnvelope({ tenant, path: 'app/key', version: 2 })).toBeUndefined();
        }
        expect(lowered).toMatchObject({ oldestVersion: 8 });
        expect(Object.keys(lowered.versions)).toEqual(['8', '9', '10', '11', '12']);
        if (removesCiphertextAtOnce) {
          expect(await harness.storedEnvelope({ tenant, path: 'app/key', version: 7 })).toBeUndefined();
        }
      });
    });

    describe('listing', () => {
      it('lists immediate children by prefix, sorted and paginated, each folder once', async () => {
        // Prepare: 25 paths under app/: 21 leaves, a leaf `db` and a folder `db/` of three.
        const tenant = newTenant();
        const leaves = Array.from({ length: 21 }, (_, i) => `app/k${String(i).padStart(2, '0')}`);
        const paths = [...leaves, 'app/db', 'app/db/one', 'app/db/two', 'app/db/sub/three'];
        await Promise.all(paths.map((path) => service.write(ACTOR, tenant, path, { v: path })));
        await service.write(ACTOR, tenant, 'other/x', { v: '1' });

        // Act
        const pages: (readonly string[])[] = [];
        let cursor: string | undefined;
        do {
          const page = await service.list(tenant, 'app/', { limit: 10, cursor });
          pages.push(page.keys);
          cursor = page.cursor;
        } while (cursor !== undefined && pages.length < 10);

        // Assess
        expect(pages.map((keys) => keys.length)).toEqual([10, 10, 3]);
        expect(pages.flat()).toEqual(['db', 'db/', ...leaves.map((path) => path.slice('app/'.length))]);
        expect((await service.list(tenant, '')).keys).toEqual(['app/', 'other/']);
        expect((await service.list(tenant, 'app/db')).keys).toEqual(['one', 'sub/', 'two']);
        expect((await service.list(tenant, 'nothing/')).keys).toEqual([]);
      });

      it('refuses a cursor it did not make', async () => {
        const tenant = newTenant();
        await Promise.all(
          ['a/1', 'a/2', 'b/1'].map((path) => service.write(ACTOR, tenant, path, { v: '1' })),
        );
        const first = await service.list(tenant, 'a/', { limit: 1 });

        const garbage = await rejection(service.list(tenant, 'a/', { cursor: 'not a cursor!' }));
        const forged = await rejection(
          service.list(tenant, 'a/', { cursor: Buffer.from('{"x":1}').toString('base64url') }),
        );
        const otherPrefix = await rejection(service.list(tenant, 'b/', { cursor: first.cursor }));
        const badLimit = await rejection(service.list(tenant, 'a/', { limit: 0 }));

        expect(first.cursor).toBeDefined();
        expect(garbage).toBeInstanceOf(ValidationError);
        expect(forged).toBeInstanceOf(ValidationError);
        expect(otherPrefix).toBeInstanceOf(ValidationError);
        expect(badLimit).toBeInstanceOf(ValidationError);
      });
    });

    describe('tenant isolation', () => {
      it("keeps another tenant's secret invisible: not found, not listed, not touched", async () => {
        const owner = newTenant();
        const intruder = newTenant();
        await service.write(ACTOR, owner, 'shared/x', { v: 'owner' });

        const read = await rejection(service.read(intruder, 'shared/x'));
        const metadata = await rejection(service.readMetadata(intruder, 'shared/x'));
        const listed = await service.list(intruder, 'shared/');
        const deleted = await rejection(service.softDelete(intruder, 'shared/x'));
        const destroyed = await rejection(service.destroy(intruder, 'shared/x', [1]));
        const removed = await rejection(service.deleteAll(intruder, 'shared/x'));
        const own = await service.write(ACTOR, intruder, 'shared/x', { v: 'intruder' }, { cas: 0 });

        expect(read).toBeInstanceOf(NotFoundError);
        expect(metadata).toBeInstanceOf(NotFoundError);
        expect(listed.keys).toEqual([]);
        expect(deleted).toBeInstanceOf(NotFoundError);
        expect(destroyed).toBeInstanceOf(NotFoundError);
        expect(removed).toBeInstanceOf(NotFoundError);
        expect(own.version).toBe(1);
        expect(await service.read(owner, 'shared/x')).toMatchObject({
          data: { v: 'owner' },
          metadata: { version: 1 },
        });
        expect((await service.read(intruder, 'shared/x')).data).toEqual({ v: 'intruder' });
      });
    });

    describe('bad input', () => {
      it('answers each bad input with its error class', async () => {
        const tenant = newTenant();
        await service.write(ACTOR, tenant, 'app/key', { v: '1' });
        const write = (path: string, data: unknown, cas?: number) =>
          rejection(service.write(ACTOR, tenant, path, data as Record<string, string>, { cas }));

        const expectations: [Promise<unknown>, new (...args: never[]) => Error][] = [
          [write('../etc', { v: '1' }), ValidationError],
          [write('/app/key', { v: '1' }), ValidationError],
          [write('app//key', { v: '1' }), ValidationError],
          [write('app/key/', { v: '1' }), ValidationError],
          [write('app/k ey', { v: '1' }), ValidationError],
          [write('app/key', 'a string'), ValidationError],
          [write('app/key', ['a']), ValidationError],
          [write('app/key', null), ValidationError],
          [write('app/key', { v: 1 }), ValidationError],
          [write('app/key', { v: { nested: 'x' } }), ValidationError],
          [write('app/key', {}), ValidationError],
          [write('app/key', { ['f'.repeat(257)]: 'x' }), ValidationError],
          [write('app/key', { v: 'x'.repeat(64 * 1024) }), PayloadTooLargeError],
          [write('app/key', { v: '1' }, -1), ValidationError],
          [write('app/key', { v: '1' }, 1.5), ValidationError],
          [rejection(service.read(tenant, 'app/key', 0)), ValidationError],
          [rejection(service.read(tenant, 'app/key', -1)), ValidationError],
          [rejection(service.read(tenant, 'app/key', 2.5)), ValidationError],
          [rejection(service.read(tenant, 'app/key', 2)), NotFoundError],
          [rejection(service.read(tenant, 'bad path')), ValidationError],
          [rejection(service.destroy(tenant, 'app/key', [])), ValidationError],
          [rejection(service.undelete(tenant, 'app/key', [0])), ValidationError],
          [rejection(service.list(tenant, '/abs')), ValidationError],
        ];

        for (const [promise, errorClass] of expectations) expect(await promise).toBeInstanceOf(errorClass);
        expect((await service.read(tenant, 'app/key')).metadata.version).toBe(1);
      });

      it('never puts a value into an error', async () => {
        const tenant = newTenant();
        const canary = `canary-${randomUUID()}`;
        const invalid = { good: canary, bad: 5 } as unknown as Record<string, string>;

        const errors = [
          await rejection(service.write(ACTOR, tenant, 'app/key', invalid)),
          await rejection(service.write(ACTOR, tenant, 'app/key', { v: canary.repeat(3000) })),
        ];

        for (const error of errors) {
          const shown = JSON.stringify({
            error,
            details: (error as ValidationError).details,
            message: (error as Error).message,
          });
          expect(shown).not.toContain(canary);
        }
      });
    });

    describe('at rest', () => {
      it('never stores plaintext', async () => {
        const tenant = newTenant();
        const canary = `canary-${randomUUID()}`;
        await service.write(ACTOR, tenant, 'app/key', { secret: canary });
        await service.write(ACTOR, tenant, 'app/key', { secret: canary, more: canary });
        await service.softDelete(tenant, 'app/key', [1]);
        await service.destroy(tenant, 'app/key', [1]);

        const dump = await harness.dumpStorage();

        expect(dump).toContain(tenant);
        expect(dump).not.toContain(canary);
        expect(dump).not.toContain(Buffer.from(canary).toString('base64'));
        expect((await service.read(tenant, 'app/key')).data).toEqual({ secret: canary, more: canary });
      });

      it('refuses a ciphertext copied onto another version, path or tenant', async () => {
        const tenant = newTenant();
        const other = newTenant();
        const source = { tenant, path: 'app/key', version: 1 };
        await service.write(ACTOR, tenant, 'app/key', { v: 'one' });
        await service.write(ACTOR, tenant, 'app/key', { v: 'two' });
        await service.write(ACTOR, tenant, 'app/elsewhere', { v: 'x' });
        await service.write(ACTOR, other, 'app/key', { v: 'x' });

        await harness.copyEnvelope(source, { tenant, path: 'app/key', version: 2 });
        await harness.copyEnvelope(source, { tenant, path: 'app/elsewhere', version: 1 });
        await harness.copyEnvelope(source, { tenant: other, path: 'app/key', version: 1 });
        const errors = [
          await rejection(service.read(tenant, 'app/key', 2)),
          await rejection(service.read(tenant, 'app/elsewhere')),
          await rejection(service.read(other, 'app/key')),
        ];

        for (const error of errors) expect(error).toBeInstanceOf(EnvelopeIntegrityError);
        expect((await service.read(tenant, 'app/key', 1)).data).toEqual({ v: 'one' });
      });
    });

    describe('concurrency', () => {
      it.runIf(maxVersions >= 51)(
        '50 concurrent writers produce exactly 50 new, distinct, readable versions',
        async () => {
          const tenant = newTenant();
          await service.writeMetadata(tenant, 'app/hot', { maxVersions: 100 });
          await service.write(ACTOR, tenant, 'app/hot', { writer: 'initial' });

          const results = await Promise.all(
            Array.from({ length: 50 }, (_, i) =>
              service.write(`writer-${i}`, tenant, 'app/hot', { writer: String(i) }),
            ),
          );

          const versions = results.map((result) => result.version);
          expect(new Set(versions).size).toBe(50);
          expect([...versions].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
          const reads = await Promise.all(
            versions.map((version) => service.read(tenant, 'app/hot', version)),
          );
          reads.forEach((read, i) => {
            expect(read.data).toEqual({ writer: String(i) });
            expect(read.metadata.createdBy).toBe(`writer-${i}`);
          });
          const metadata = await service.readMetadata(tenant, 'app/hot');
          expect(metadata.currentVersion).toBe(51);
          expect(Object.keys(metadata.versions)).toHaveLength(51);
        },
      );

      it('of concurrent writers with the same cas, exactly one wins', async () => {
        const tenant = newTenant();
        await service.write(ACTOR, tenant, 'app/cas', { v: '1' });

        const [updates, creates] = await Promise.all([
          Promise.allSettled(
            Array.from({ length: 10 }, (_, i) =>
              service.write(`writer-${i}`, tenant, 'app/cas', { v: String(i) }, { cas: 1 }),
            ),
          ),
          Promise.allSettled(
            Array.from({ length: 10 }, (_, i) =>
              service.write(`writer-${i}`, tenant, 'app/fresh', { v: String(i) }, { cas: 0 }),
            ),
          ),
        ]);

        for (const outcomes of [updates, creates]) {
          const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
          const lost = outcomes.filter((outcome) => outcome.status === 'rejected');
          expect(won).toHaveLength(1);
          for (const outcome of lost) expect(outcome.reason).toBeInstanceOf(ConflictError);
        }
        expect((await service.readMetadata(tenant, 'app/cas')).currentVersion).toBe(2);
        expect((await service.readMetadata(tenant, 'app/fresh')).currentVersion).toBe(1);
      });
    });
  });
}
