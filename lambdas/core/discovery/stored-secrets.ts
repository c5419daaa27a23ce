/**
 * The secrets of VaultPilot's own store as inventory: one `vault-secret` credential per path,
 * aged by its current version, read through the `SecretStore` port's metadata only (never an
 * envelope, so never a value). Custom metadata `owner` suggests the owner, and `expires_at` (an
 * ISO-8601 date) sets the expiry the expiry rules read.
 */
import { DomainError } from '../errors.js';
import { normalizeInstant } from '../credentials/credential-input.js';
import { parseSecretPath, parseSecretPrefix, type SecretPrefix } from '../secrets/secret-path.js';
import type { SecretMetadataRecord, SecretStore } from '../secrets/secret-store.js';
import { type DiscoveredCredential, type ScanError, STORED_SECRETS_SCOPE } from './cloud-source.js';

const PAGE = 1000;

export interface StoredSecretsScan {
  readonly credentials: readonly DiscoveredCredential[];
  /** Whether every path was listed (only then may missing ones be marked gone). */
  readonly complete: boolean;
  readonly errors: readonly ScanError[];
}

function describe(metadata: SecretMetadataRecord): DiscoveredCredential | undefined {
  const current = metadata.versions[String(metadata.currentVersion)];
  // Metadata without any version holds no credential yet.
  if (metadata.currentVersion === 0 || current === undefined) return undefined;
  const custom = metadata.customMetadata;
  const expiresAt = custom.expires_at === undefined ? undefined : normalizeInstant(custom.expires_at);
  return {
    type: 'vault-secret',
    naturalKey: `vaultpilot:${metadata.path}`,
    scope: STORED_SECRETS_SCOPE,
    name: metadata.path,
    reference: { path: metadata.path },
    createdAt: metadata.createdTime,
    lastRotatedAt: current.createdTime,
    usageTracked: false,
    expiresAt,
    sourceTags: { ...custom },
    ownerHint: custom.owner,
    facts: {
      currentVersion: metadata.currentVersion,
      versionDeleted: current.deletionTime !== undefined,
      versionDestroyed: current.destroyed,
    },
  };
}

/** Walks every path of the tenant's store, depth first, page by page. */
export async function scanStoredSecrets(
  store: SecretStore,
  tenant: string,
  deadline: Date,
  now: () => Date,
): Promise<StoredSecretsScan> {
  const credentials: DiscoveredCredential[] = [];
  const errors: ScanError[] = [];
  const pending: SecretPrefix[] = [parseSecretPrefix('')];
  try {
    while (pending.length > 0) {
      const prefix = pending.pop() as SecretPrefix;
      let cursor: string | undefined;
      do {
        if (now() >= deadline) {
          errors.push({
            service: 'vaultpilot',
            operation: 'listPaths',
            code: 'TimeBudgetExhausted',
            message: 'The run reached its deadline before every secret path was listed',
          });
          return { credentials, complete: false, errors };
        }
        const page = await store.listPaths(tenant, prefix, { limit: PAGE, cursor });
        for (const key of page.keys) {
          if (key.endsWith('/')) {
            pending.push(parseSecretPrefix(`${prefix}${key}`));
            continue;
          }
          const metadata = await store.getMetadata(tenant, parseSecretPath(`${prefix}${key}`));
          const credential = metadata === undefined ? undefined : describe(metadata);
          if (credential !== undefined) credentials.push(credential);
        }
        cursor = page.cursor;
      } while (cursor !== undefined);
    }
  } catch (error: unknown) {
    errors.push({
      service: 'vaultpilot',
      operation: 'listPaths',
      code: error instanceof DomainError ? error.code : error instanceof Error ? error.name : 'UnknownError',
      message: "The secret store's paths could not all be listed",
    });
    return { credentials, complete: false, errors };
  }
  return { credentials, complete: true, errors };
}
