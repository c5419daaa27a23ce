/**
 * The KV v2 rules both secret stores persist: check-and-set, the write loop's ordering (claim,
 * record, release a pruned number, back off and verify after a lost race), recording, pruning,
 * version states, the metadata record and list cursors. Pure, so tested without a store; the
 * behaviour suite runs them through both stores.
 */
import { describe, expect, it } from 'vitest';
import { ConflictError, ValidationError } from '../../lambdas/core/errors.js';
import {
  checkMaxVersions,
  childSuccessor,
  decodeListCursor,
  encodeListCursor,
  immediateChild,
  initialMetadata,
  listPage,
  type MetadataState,
  metadataRecord,
  needsRecording,
  nextVersionNumber,
  pruned,
  pruneFloor,
  readableVersion,
  recordDecision,
  type VersionWriteSteps,
  withSettings,
  withVersion,
  withVersionStates,
  writeNewVersion,
} from '../../lambdas/core/secrets/kv-rules.js';
import { parseSecretPath, parseSecretPrefix } from '../../lambdas/core/secrets/secret-path.js';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-02T00:00:00.000Z';

/** Metadata with versions 1..n recorded by alice at T0. */
function metadataWith(n: number, overrides: Partial<MetadataState> = {}): MetadataState {
  let meta = initialMetadata(T0);
  for (let version = 1; version <= n; version += 1) {
    meta = withVersion(meta, { version, createdTime: T0, createdBy: 'alice' });
  }
  return { ...meta, ...overrides };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('Expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('check-and-set and version numbers', () => {
  it('gives the next number, with cas only when cas names the latest (0: no version yet)', () => {
    // Act
    const free = nextVersionNumber(undefined, 4);
    const checked = nextVersionNumber(4, 4);
    const first = nextVersionNumber(0, 0);
    const stale = (() => {
      try {
        return nextVersionNumber(3, 4);
      } catch (error: unknown) {
        return error;
      }
    })();
    const exists = (() => {
      try {
        return nextVersionNumber(0, 1);
      } catch (error: unknown) {
        return error;
      }
    })();

    // Assess
    expect([free, checked, first]).toEqual([5, 5, 1]);
    expect(stale).toBeInstanceOf(ConflictError);
    expect((stale as ConflictError).details).toEqual({ cas: 3, reason: 'cas-mismatch' });
    expect((exists as Error).message).toBe('check-and-set failed: the secret already exists');
  });
});

describe('writeNewVersion', () => {
  /** Steps over an in-memory secret: `taken` numbers are held by other writers, `prunedBelow` were pruned. */
  function memorySteps(state: { latest: number; taken: Set<number>; prunedBelow: number }) {
    const calls: string[] = [];
    const steps: VersionWriteSteps<number> = {
      snapshot: async (verify) => {
        calls.push(`snapshot:${verify}`);
        const latest = verify ? Math.max(state.latest, ...state.taken) : state.latest;
        return { meta: latest, latest, verified: verify };
      },
      claim: async (version) => {
        calls.push(`claim:${version}`);
        if (state.taken.has(version)) return false;
        state.taken.add(version);
        return true;
      },
      record: async (version) => {
        calls.push(`record:${version}`);
        const accepted = version >= state.prunedBelow;
        if (accepted) state.latest = Math.max(state.latest, version);
        return { accepted, meta: state.latest };
      },
      release: async (version) => {
        calls.push(`release:${version}`);
        state.taken.delete(version);
      },
      settle: async (version) => {
        calls.push(`settle:${version}`);
        return metadataRecord('t', parseSecretPath('a/b'), metadataWith(version));
      },
    };
    return { steps, calls };
  }
  const fast = { backoffBaseMs: 0, backoffCapMs: 0 };

  it('claims, records and settles the next number', async () => {
    const { steps, calls } = memorySteps({ latest: 2, taken: new Set([1, 2]), prunedBelow: 0 });

    const written = await writeNewVersion('a/b', undefined, steps, fast);

    expect(written.version).toBe(3);
    expect(calls).toEqual(['snapshot:false', 'claim:3', 'record:3', 'settle:3']);
  });

  it('moves past a number another writer took, after a verified snapshot', async () => {
    const { steps, calls } = memorySteps({ latest: 2, taken: new Set([1, 2, 3]), prunedBelow: 0 });

    const written = await writeNewVersion('a/b', undefined, steps, fast);

    expect(written.version).toBe(4);
    expect(calls).toEqual(['snapshot:false', 'claim:3', 'snapshot:true', 'claim:4', 'record:4', 'settle:4']);
  });

  it('with cas, looks at the stored versions before refusing, and never retries', async () => {
    const verifiedOk = memorySteps({ latest: 1, taken: new Set([1, 2]), prunedBelow: 0 });
    const lost = memorySteps({ latest: 2, taken: new Set([1, 2, 3]), prunedBelow: 0 });

    const written = await writeNewVersion('a/b', 2, verifiedOk.steps, fast);
    const conflict = await rejection(writeNewVersion('a/b', 2, lost.steps, fast));

    expect(written.version).toBe(3);
    expect(verifiedOk.calls.slice(0, 2)).toEqual(['snapshot:false', 'snapshot:true']);
    expect(conflict).toBeInstanceOf(ConflictError);
    expect(lost.calls).toEqual(['snapshot:false', 'claim:3']);
  });

  it('releases a claimed number that had been pruned, and takes the next one', async () => {
    // A stalled writer's snapshot says 2, but versions below 5 were pruned meanwhile.
    const { steps, calls } = memorySteps({ latest: 2, taken: new Set([5]), prunedBelow: 5 });

    const written = await writeNewVersion('a/b', undefined, steps, fast);

    expect(calls.slice(0, 4)).toEqual(['snapshot:false', 'claim:3', 'record:3', 'release:3']);
    expect(written.version).toBe(6);
  });

  it('gives up with a 409 after maxWriteAttempts lost races', async () => {
    const taken = new Set(Array.from({ length: 50 }, (_, index) => index + 1));
    const { steps } = memorySteps({ latest: 0, taken, prunedBelow: 0 });
    // Every verified snapshot is stale by the time the claim comes: another writer took the number.
    const racing: VersionWriteSteps<number> = {
      ...steps,
      claim: async (version) => {
        taken.add(version);
        return false;
      },
    };

    const error = await rejection(
      writeNewVersion('a/b', undefined, racing, { ...fast, maxWriteAttempts: 3 }),
    );

    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).details).toMatchObject({ reason: 'contention' });
  });
});

describe('recording and pruning', () => {
  it('adds a new version, advancing the current one only forward', () => {
    const meta = metadataWith(3);

    const advancing = recordDecision(meta, { version: 4, createdTime: T1, createdBy: 'bob' });
    const present = recordDecision(meta, { version: 2, createdTime: T1, createdBy: 'bob' });
    const behind = recordDecision(
      { ...meta, versions: { '1': meta.versions['1']!, '3': meta.versions['3']! } },
      {
        version: 2,
        createdTime: T1,
        createdBy: 'bob',
      },
    );
    const recorded = withVersion(meta, { version: 4, createdTime: T1, createdBy: 'bob' });

    expect(advancing).toMatchObject({ kind: 'add', advancing: true });
    expect(present).toEqual({ kind: 'present' });
    expect(behind).toMatchObject({ kind: 'add', advancing: false });
    expect(recorded).toMatchObject({ currentVersion: 4, updatedTime: T1 });
    expect(recorded.versions['4']).toEqual({ createdTime: T1, createdBy: 'bob', destroyed: false });
  });

  it('refuses a pruned number, and says which stored versions the metadata lacks', () => {
    const meta = metadataWith(5, { oldestVersion: 4 });

    expect(recordDecision(meta, { version: 2, createdTime: T1, createdBy: 'x' })).toEqual({ kind: 'pruned' });
    expect(needsRecording(meta, 2)).toBe(false);
    expect(needsRecording(meta, 6)).toBe(true);
    expect(needsRecording(meta, 5)).toBe(false);
    expect(needsRecording(undefined, 1)).toBe(true);
  });

  it('prunes beyond maxVersions, forward only, and when the setting is lowered', () => {
    const full = metadataWith(12);

    const afterWrite = pruned(full);
    const again = pruned(afterWrite);
    const lowered = withSettings(afterWrite, { maxVersions: 2 }, T1);

    expect(pruneFloor(full)).toBe(3);
    expect(afterWrite.oldestVersion).toBe(3);
    expect(Object.keys(afterWrite.versions)).toHaveLength(10);
    expect(again).toBe(afterWrite);
    expect(lowered).toMatchObject({ oldestVersion: 11, maxVersions: 2, updatedTime: T1 });
    expect(Object.keys(lowered.versions).sort()).toEqual(['11', '12']);
    expect(pruneFloor(metadataWith(10))).toBeUndefined();
  });

  it('keeps unset settings and refuses maxVersions above a backend cap', () => {
    const meta = metadataWith(1, { casRequired: true, customMetadata: { team: 'pay' } });

    const updated = withSettings(meta, { maxVersions: 5 }, T1);

    expect(updated).toMatchObject({ maxVersions: 5, casRequired: true, customMetadata: { team: 'pay' } });
    expect(() => checkMaxVersions({ maxVersions: 17 }, 16, 'quota')).toThrow(ValidationError);
    expect(() => checkMaxVersions({ maxVersions: 16 }, 16, 'quota')).not.toThrow();
  });
});

describe('version states', () => {
  it('soft-deletes, undeletes and destroys recorded versions, skipping pruned and unknown ones', () => {
    const meta = metadataWith(5, { oldestVersion: 3 });

    const deleted = withVersionStates(meta, [4, 4, 5], { kind: 'deletion-time', deletionTime: T1 });
    const undeleted =
      deleted && withVersionStates(deleted, [4], { kind: 'deletion-time', deletionTime: undefined });
    const destroyed = withVersionStates(meta, [3], { kind: 'destroyed' });
    const nothing = withVersionStates(meta, [1, 9], { kind: 'destroyed' });

    expect(deleted?.versions['4']?.deletionTime).toBe(T1);
    expect(deleted?.versions['5']?.deletionTime).toBe(T1);
    expect(undeleted?.versions['4']).not.toHaveProperty('deletionTime');
    expect(undeleted?.versions['5']?.deletionTime).toBe(T1);
    expect(destroyed?.versions['3']?.destroyed).toBe(true);
    expect(nothing).toBeUndefined();
  });
});

describe('what the service sees', () => {
  it('reads the current version for latest, and nothing pruned, unwritten or of a secret without versions', () => {
    const meta = metadataWith(5, { oldestVersion: 3 });

    const wanted = [readableVersion(meta, 'latest'), readableVersion(meta, 3), readableVersion(meta, 2)];
    const beyond = readableVersion(meta, 6);
    const empty = readableVersion(initialMetadata(T0), 'latest');

    expect(wanted.map((found) => found?.version)).toEqual([5, 3, undefined]);
    expect(beyond).toBeUndefined();
    expect(empty).toBeUndefined();
  });

  it('leaves out versions below oldestVersion and sorts by number', () => {
    const meta = { ...metadataWith(11), oldestVersion: 9 };

    const record = metadataRecord('acme', parseSecretPath('app/key'), meta);

    expect(Object.keys(record.versions)).toEqual(['9', '10', '11']);
    expect(record).toMatchObject({ tenant: 'acme', path: 'app/key', currentVersion: 11 });
    expect(record.versions['9']).toEqual({
      createdTime: T0,
      createdBy: 'alice',
      deletionTime: undefined,
      destroyed: false,
    });
  });
});

describe('listing', () => {
  it('names immediate children and the first key after a child and its subtree', () => {
    expect(immediateChild('db/password')).toBe('db/');
    expect(immediateChild('key')).toBe('key');
    expect(childSuccessor('db/')).toBe('db0');
    expect(childSuccessor('key')).toBe('key-');
  });

  it('pages with a cursor only when there is more, and reads back only its own cursors', () => {
    const prefix = parseSecretPrefix('apps/');

    const page = listPage(prefix, ['a', 'b/', 'c'], 2);
    const last = listPage(prefix, ['a', 'b/'], 2);
    const after = page.cursor === undefined ? undefined : decodeListCursor(page.cursor, prefix);
    const otherPrefix = () => decodeListCursor(encodeListCursor(parseSecretPrefix('db/'), 'b/'), prefix);
    const forged = () =>
      decodeListCursor(Buffer.from('{"p":"apps/","after":"../x"}').toString('base64url'), prefix);

    expect(page.keys).toEqual(['a', 'b/']);
    expect(after).toBe('b/');
    expect(last.cursor).toBeUndefined();
    expect(otherPrefix).toThrow(ValidationError);
    expect(forged).toThrow(ValidationError);
    expect(() => decodeListCursor('not a cursor', prefix)).toThrow(ValidationError);
  });
});
