/**
 * The secret store as the rotation engine uses it: the current value of a credential, its
 * pending value during a rotation, and the promotion of pending to current. Values never leave
 * this object except to the rotator that needs them; errors name paths and versions only.
 *
 * Pending values live under `.vaultpilot/rotation-pending/<credential id>/<rotation id>`, sealed
 * like every other secret, and are deleted (every version) once the rotation finishes or rolls
 * back. Promotion is a check-and-set write on the version that was current when the rotation
 * began, so a rotation never overwrites a value someone else wrote meanwhile, and a repeated
 * promotion (after a crash) recognizes its own earlier write instead of writing twice.
 */
import { timingSafeEqual } from 'node:crypto';
import { ConflictError, NotFoundError } from '../errors.js';
import type { SecretData, SecretsService } from '../secrets/kv-service.js';

export const ROTATION_ACTOR = 'system:rotation';
export const PENDING_PREFIX = '.vaultpilot/rotation-pending';

export interface CurrentValue {
  readonly version: number;
  readonly data: SecretData;
}

/** The credential's secret is missing or unreadable: the rotation cannot begin. */
export class CurrentValueMissingError extends NotFoundError {}

export class RotationSecrets {
  constructor(
    private readonly secrets: SecretsService,
    readonly tenant: string,
  ) {}

  static pendingPath(credentialId: string, rotationId: string): string {
    return `${PENDING_PREFIX}/${credentialId}/${rotationId}`;
  }

  /** The latest version of `path`; `CurrentValueMissingError` when there is none. */
  async current(path: string): Promise<CurrentValue> {
    try {
      const { data, metadata } = await this.secrets.read(this.tenant, path);
      return { version: metadata.version, data };
    } catch (error: unknown) {
      if (error instanceof NotFoundError) {
        throw new CurrentValueMissingError(`The secret ${path} holds no readable current value`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  /**
   * The latest version of `path`, or undefined when the secret has never held a version (no
   * secret, or settings only). A secret whose versions exist but cannot be read (deleted,
   * destroyed) is still a `CurrentValueMissingError`: a value was there, and someone removed it.
   */
  async currentIfAny(path: string): Promise<CurrentValue | undefined> {
    try {
      return await this.current(path);
    } catch (error: unknown) {
      if (!(error instanceof CurrentValueMissingError)) throw error;
      const metadata = await this.secrets.metadataIfAny(this.tenant, path);
      if (metadata === undefined || metadata.currentVersion === 0) return undefined;
      throw error;
    }
  }

  /** One version of `path`; undefined when it was pruned, deleted or destroyed. */
  async version(path: string, version: number): Promise<SecretData | undefined> {
    try {
      return (await this.secrets.read(this.tenant, path, version)).data;
    } catch (error: unknown) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  async readPending(credentialId: string, rotationId: string): Promise<SecretData | undefined> {
    try {
      return (await this.secrets.read(this.tenant, RotationSecrets.pendingPath(credentialId, rotationId)))
        .data;
    } catch (error: unknown) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /** Stores the pending value once; a second call with another value is a `ConflictError`. */
  async writePending(credentialId: string, rotationId: string, data: SecretData): Promise<void> {
    const path = RotationSecrets.pendingPath(credentialId, rotationId);
    try {
      await this.secrets.write(ROTATION_ACTOR, this.tenant, path, data, { cas: 0 });
    } catch (error: unknown) {
      if (!(error instanceof ConflictError)) throw error;
      const stored = await this.readPending(credentialId, rotationId);
      if (stored === undefined || !sameValue(stored, data)) {
        throw new ConflictError(`A different pending value exists for rotation ${rotationId}`, {
          cause: error,
        });
      }
    }
  }

  async discardPending(credentialId: string, rotationId: string): Promise<void> {
    try {
      await this.secrets.deleteAll(this.tenant, RotationSecrets.pendingPath(credentialId, rotationId));
    } catch (error: unknown) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }

  /**
   * Writes `data` as the new current version if `expectedVersion` is still current. When it is
   * not, and the latest version already holds `data`, that is our own earlier write: its version
   * is returned. Otherwise `ConflictError`: someone changed the secret during the rotation.
   */
  async promote(path: string, data: SecretData, expectedVersion: number): Promise<number> {
    try {
      return (await this.secrets.write(ROTATION_ACTOR, this.tenant, path, data, { cas: expectedVersion }))
        .version;
    } catch (error: unknown) {
      if (!(error instanceof ConflictError)) throw error;
      const latest = await this.current(path);
      if (latest.version > expectedVersion && sameValue(latest.data, data)) return latest.version;
      throw new ConflictError(
        `The secret ${path} changed during the rotation (now at version ${latest.version})`,
        {
          cause: error,
          details: { path, version: latest.version },
        },
      );
    }
  }

  /** Reads any other secret the rotator needs (a managing credential). */
  async read(path: string): Promise<SecretData> {
    return (await this.current(path)).data;
  }
}

/** Whether two values are the same, compared without early exit on the first different byte. */
export function sameValue(a: SecretData, b: SecretData): boolean {
  const left = Buffer.from(JSON.stringify(Object.entries(a).sort(([x], [y]) => (x < y ? -1 : 1))));
  const right = Buffer.from(JSON.stringify(Object.entries(b).sort(([x], [y]) => (x < y ? -1 : 1))));
  try {
    return left.length === right.length && timingSafeEqual(left, right);
  } finally {
    left.fill(0);
    right.fill(0);
  }
}
