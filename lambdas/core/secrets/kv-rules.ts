/**
 * The Vault KV v2 rules, written once for every secret store: check-and-set and the next
 * version number, recording a version in the metadata (never a pruned number, never twice),
 * pruning beyond `maxVersions`, version states (soft delete, undelete, destroy), the metadata a
 * secret starts with, the metadata record the service sees, and list cursors and pages.
 *
 * Pure functions over a secret's metadata state. The stores (DynamoDB, Secrets Manager) only
 * persist what these functions decide, each with its own single-item conditional writes.
 */
import * as z from 'zod';
import { ConflictError, ValidationError } from '../errors.js';
import { type Envelope, envelopeShapeProblems } from './envelope.js';
import { EnvelopeIntegrityError } from './keyring.js';
import { type SecretPath, type SecretPrefix, secretPathSegmentProblem } from './secret-path.js';
import {
  DEFAULT_MAX_VERSIONS,
  type MetadataSettings,
  type SecretMetadataRecord,
  type VersionState,
} from './secret-store.js';

/** A version's state as a store keeps it (`deletionTime` absent while live). */
export interface StoredVersionState {
  readonly createdTime: string;
  readonly createdBy: string;
  readonly deletionTime?: string | undefined;
  readonly destroyed: boolean;
}

/** A secret's metadata as a store keeps it, without its key. */
export interface MetadataState {
  readonly currentVersion: number;
  readonly oldestVersion: number;
  readonly maxVersions: number;
  readonly casRequired: boolean;
  readonly customMetadata: Readonly<Record<string, string>>;
  readonly createdTime: string;
  readonly updatedTime: string;
  /** Keyed by the version number in decimal. */
  readonly versions: Readonly<Record<string, StoredVersionState>>;
}

/** What is known of a stored version without its value. */
export interface VersionHead {
  readonly version: number;
  readonly createdTime: string;
  readonly createdBy: string;
}

// ---------------------------------------------------------------------------------------------
// Check-and-set and version numbers

/**
 * The number a new version gets: `cas + 1` with check-and-set (after checking that `cas` names
 * the latest version: 0 for a secret without versions), else the one after the latest.
 */
export function nextVersionNumber(cas: number | undefined, latest: number): number {
  if (cas !== undefined && cas !== latest) throw casConflict(cas, latest);
  return latest + 1;
}

/** A check-and-set that did not hold (409); names the current version only when it is lower. */
export function casConflict(cas: number, current: number): ConflictError {
  return new ConflictError(
    cas === 0
      ? 'check-and-set failed: the secret already exists'
      : `check-and-set failed: expected version ${cas} to be current`,
    { details: { cas, reason: 'cas-mismatch', ...(current < cas ? { currentVersion: current } : {}) } },
  );
}

export function tooManyWriters(path: string): ConflictError {
  return new ConflictError('Too many concurrent writers to this secret; retry the write', {
    details: { path, reason: 'contention' },
  });
}

export function keptChanging(path: string): ConflictError {
  return new ConflictError('This secret kept changing during the update; retry', { details: { path } });
}

/** How a write races other writers: attempts at a number, and full-jitter backoff between them. */
export interface WriteRetryPolicy {
  /** Attempts at a version number before a write without cas gives up (409). Default 100. */
  readonly maxWriteAttempts?: number;
  /** Backoff between attempts: random in [0, min(capMs, baseMs * 2^attempt)]. */
  readonly backoffBaseMs?: number;
  readonly backoffCapMs?: number;
  readonly random?: () => number;
}

/** Attempts at a conditional metadata update that keeps losing to other updates. */
export const MAX_METADATA_ATTEMPTS = 25;

export function backoffMs(attempt: number, policy: WriteRetryPolicy): number {
  const base = policy.backoffBaseMs ?? 2;
  const cap = policy.backoffCapMs ?? 100;
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 16));
  return Math.floor((policy.random ?? Math.random)() * ceiling);
}

/** The state of a secret a writer acts on; `verified` when it was checked against the versions themselves. */
export interface WriteSnapshot<M> {
  readonly meta: M | undefined;
  readonly latest: number;
  readonly verified: boolean;
}

/** The persistence steps of one new version; the store implements them, `writeNewVersion` orders them. */
export interface VersionWriteSteps<M> {
  /** The metadata; `verify` also finds versions the metadata does not record yet and records them. */
  snapshot(verify: boolean): Promise<WriteSnapshot<M>>;
  /** Stores the value under `version` unless that number is taken (false). */
  claim(version: number, snapshot: WriteSnapshot<M>): Promise<boolean>;
  /** Records the claimed version in the metadata; not accepted when the number was pruned. */
  record(version: number, snapshot: WriteSnapshot<M>): Promise<{ accepted: boolean; meta: M }>;
  /** Takes back a claimed number that turned out to be pruned. */
  release(version: number): Promise<void>;
  /** What follows a recorded version (pruning, labels); returns the metadata in force. */
  settle(version: number, meta: M): Promise<SecretMetadataRecord>;
}

/**
 * Adds a version under a number never used before: check-and-set writes exactly `cas + 1` once;
 * without cas a lost race re-reads (verified) and tries the next number, with backoff, up to
 * `maxWriteAttempts`. A number that was pruned while a writer stalled is released, never reused.
 */
export async function writeNewVersion<M>(
  path: string,
  cas: number | undefined,
  steps: VersionWriteSteps<M>,
  policy: WriteRetryPolicy,
): Promise<{ version: number; metadata: SecretMetadataRecord }> {
  let snapshot = await steps.snapshot(false);
  const attempts = policy.maxWriteAttempts ?? 100;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    // The metadata may lag behind a stored version after a crash; look before refusing.
    if (cas !== undefined && cas > snapshot.latest && !snapshot.verified)
      snapshot = await steps.snapshot(true);
    const version = nextVersionNumber(cas, snapshot.latest);
    if (await steps.claim(version, snapshot)) {
      const recorded = await steps.record(version, snapshot);
      if (recorded.accepted) return { version, metadata: await steps.settle(version, recorded.meta) };
      await steps.release(version);
    }
    if (cas !== undefined) throw casConflict(cas, version);
    await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt, policy)));
    snapshot = await steps.snapshot(true);
  }
  throw tooManyWriters(path);
}

// ---------------------------------------------------------------------------------------------
// Recording versions and pruning

/** The metadata of a secret created by its first version (or by its first settings). */
export function initialMetadata(time: string): MetadataState {
  return {
    currentVersion: 0,
    oldestVersion: 0,
    maxVersions: DEFAULT_MAX_VERSIONS,
    casRequired: false,
    customMetadata: {},
    createdTime: time,
    updatedTime: time,
    versions: {},
  };
}

/** Whether a stored version is missing from the metadata (a write that crashed or is in flight). */
export function needsRecording(meta: MetadataState | undefined, version: number): boolean {
  return (
    meta === undefined || (version >= meta.oldestVersion && meta.versions[String(version)] === undefined)
  );
}

/**
 * The recorded version a read of `wanted` is about (`latest`: the current version), or undefined
 * when there is none to read: never written, or pruned.
 */
export function readableVersion(
  meta: MetadataState,
  wanted: number | 'latest',
): { readonly version: number; readonly state: StoredVersionState } | undefined {
  const version = wanted === 'latest' ? meta.currentVersion : wanted;
  const state = meta.versions[String(version)];
  if (version < 1 || version < meta.oldestVersion || state === undefined) return undefined;
  return { version, state };
}

export type RecordDecision =
  /** The number is below `oldestVersion`: it was pruned, and must not name a value again. */
  | { readonly kind: 'pruned' }
  | { readonly kind: 'present' }
  /** Add the entry; `advancing` when it becomes the current version. */
  | { readonly kind: 'add'; readonly advancing: boolean; readonly entry: StoredVersionState };

export function recordDecision(meta: MetadataState, head: VersionHead): RecordDecision {
  if (head.version < meta.oldestVersion) return { kind: 'pruned' };
  if (meta.versions[String(head.version)] !== undefined) return { kind: 'present' };
  return {
    kind: 'add',
    advancing: meta.currentVersion < head.version,
    entry: { createdTime: head.createdTime, createdBy: head.createdBy, destroyed: false },
  };
}

/** The metadata with `head` recorded (the version's time updates the secret when it advances). */
export function withVersion(meta: MetadataState, head: VersionHead): MetadataState {
  const decision = recordDecision(meta, head);
  if (decision.kind !== 'add') return meta;
  return {
    ...meta,
    currentVersion: Math.max(meta.currentVersion, head.version),
    updatedTime: decision.advancing ? head.createdTime : meta.updatedTime,
    versions: { ...meta.versions, [String(head.version)]: decision.entry },
  };
}

/** The lowest version kept under `maxVersions`, when it is above the current `oldestVersion`. */
export function pruneFloor(meta: MetadataState): number | undefined {
  const floor = meta.currentVersion - meta.maxVersions + 1;
  return floor <= 1 || floor <= meta.oldestVersion ? undefined : floor;
}

/** Version keys of the metadata below `floor`. */
export function versionsBelow(meta: MetadataState, floor: number): string[] {
  return Object.keys(meta.versions).filter((key) => Number(key) < floor);
}

/** Raises `oldestVersion` to keep `maxVersions` and drops the entries below it (as in Vault). */
export function pruned(meta: MetadataState): MetadataState {
  const floor = pruneFloor(meta);
  if (floor === undefined) return meta;
  const versions = Object.fromEntries(Object.entries(meta.versions).filter(([key]) => Number(key) >= floor));
  return { ...meta, oldestVersion: floor, versions };
}

/** The metadata with new settings (unset ones keep their value), pruned to the new `maxVersions`. */
export function withSettings(meta: MetadataState, settings: MetadataSettings, now: string): MetadataState {
  return pruned({
    ...meta,
    updatedTime: now,
    maxVersions: settings.maxVersions ?? meta.maxVersions,
    casRequired: settings.casRequired ?? meta.casRequired,
    customMetadata: settings.customMetadata ?? meta.customMetadata,
  });
}

/** Refuses `maxVersions` above what a backend can keep. */
export function checkMaxVersions(settings: MetadataSettings, cap: number, why: string): void {
  if (settings.maxVersions !== undefined && settings.maxVersions > cap) {
    throw new ValidationError(`This secret backend keeps at most ${cap} versions per secret (${why})`, {
      details: { maxVersions: settings.maxVersions, limit: cap },
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Version states

/** A change of the state of existing versions: soft delete, undelete, destroy. */
export type VersionStateChange =
  | { readonly kind: 'deletion-time'; readonly deletionTime: string | undefined }
  | { readonly kind: 'destroyed' };

export function changedVersionState(
  state: StoredVersionState,
  change: VersionStateChange,
): StoredVersionState {
  if (change.kind === 'destroyed') return { ...state, destroyed: true };
  const { deletionTime: _previous, ...rest } = state;
  return change.deletionTime === undefined ? rest : { ...rest, deletionTime: change.deletionTime };
}

/** Of `versions`, those the metadata still records (not pruned meanwhile), each once. */
export function recordedVersions(meta: MetadataState, versions: readonly number[]): number[] {
  return [...new Set(versions)].filter(
    (version) => version >= meta.oldestVersion && meta.versions[String(version)] !== undefined,
  );
}

/** The metadata with `change` applied to the recorded ones of `versions`; undefined when none is. */
export function withVersionStates(
  meta: MetadataState,
  versions: readonly number[],
  change: VersionStateChange,
): MetadataState | undefined {
  const targets = recordedVersions(meta, versions);
  if (targets.length === 0) return undefined;
  const updated = { ...meta.versions };
  for (const version of targets) {
    const key = String(version);
    const state = updated[key];
    if (state !== undefined) updated[key] = changedVersionState(state, change);
  }
  return { ...meta, versions: updated };
}

// ---------------------------------------------------------------------------------------------
// What the service sees

/** The metadata record of the port: versions below `oldestVersion` left out, sorted by number. */
export function metadataRecord(tenant: string, path: SecretPath, meta: MetadataState): SecretMetadataRecord {
  const versions = Object.fromEntries(
    Object.entries(meta.versions)
      .filter(([key]) => Number(key) >= meta.oldestVersion)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([key, state]): [string, VersionState] => [
        key,
        {
          createdTime: state.createdTime,
          createdBy: state.createdBy,
          deletionTime: state.deletionTime,
          destroyed: state.destroyed,
        },
      ]),
  );
  return {
    tenant,
    path,
    currentVersion: meta.currentVersion,
    oldestVersion: meta.oldestVersion,
    maxVersions: meta.maxVersions,
    casRequired: meta.casRequired,
    customMetadata: meta.customMetadata,
    createdTime: meta.createdTime,
    updatedTime: meta.updatedTime,
    versions,
  };
}

/**
 * A stored envelope, its shape checked; a malformed one is an integrity incident, not a caller
 * error. The base64 fields are decoded and checked once, when the envelope is opened.
 */
export function storedEnvelope(stored: unknown): Envelope {
  const fields = envelopeShapeProblems(stored);
  if (fields.length > 0) {
    throw new EnvelopeIntegrityError('A stored secret envelope is malformed', { details: { fields } });
  }
  return stored as Envelope;
}

// ---------------------------------------------------------------------------------------------
// Listing

/** Valid path characters all sort between these two (`-` is the lowest, `~` above `z`). */
export const LOWEST_PATH_CHAR = '-';
export const ABOVE_PATH_CHARS = '~';

/** The immediate child of a prefix that a path below it falls under: `name` or `name/`. */
export function immediateChild(rest: string): string {
  const slash = rest.indexOf('/');
  return slash < 0 ? rest : rest.slice(0, slash + 1);
}

/**
 * The lowest string above a child and everything under it, among valid paths: `name-` after a
 * secret `name` (`-` is the lowest path character), `name0` after a folder `name/` (`0` follows `/`).
 */
export function childSuccessor(child: string): string {
  return child.endsWith('/') ? `${child.slice(0, -1)}0` : `${child}${LOWEST_PATH_CHAR}`;
}

export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * One page of children: `found` holds the children after the cursor in order, up to one more
 * than `limit` (which tells that a next page exists).
 */
export function listPage(
  prefix: SecretPrefix,
  found: readonly string[],
  limit: number,
): { keys: string[]; cursor: string | undefined } {
  const keys = found.slice(0, limit);
  const last = keys[keys.length - 1];
  return {
    keys,
    cursor: found.length > limit && last !== undefined ? encodeListCursor(prefix, last) : undefined,
  };
}

const Cursor = z.strictObject({ p: z.string(), after: z.string().min(1) });

export function encodeListCursor(prefix: SecretPrefix, after: string): string {
  return Buffer.from(JSON.stringify({ p: prefix, after }), 'utf8').toString('base64url');
}

/** The child a cursor continues after; a cursor made for another prefix, or not by us, is a 400. */
export function decodeListCursor(cursor: string, prefix: SecretPrefix): string {
  const invalid = () =>
    new ValidationError('The list cursor is invalid; pass back the cursor of the previous page unchanged', {
      details: { cursor: 'invalid' },
    });
  const bytes = Buffer.from(cursor, 'base64url');
  if (bytes.toString('base64url') !== cursor) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error: unknown) {
    throw new ValidationError('The list cursor is invalid', { cause: error, details: { cursor: 'invalid' } });
  }
  const result = Cursor.safeParse(parsed);
  if (!result.success || result.data.p !== prefix) throw invalid();
  const { after } = result.data;
  const segment = after.endsWith('/') ? after.slice(0, -1) : after;
  if (secretPathSegmentProblem(segment, 1) !== undefined) throw invalid();
  return after;
}
