/**
 * The `CredentialStore` port: durable storage of the inventory, of each credential's history of
 * changes, and of which tenants have an inventory. Every write is a single-item conditional
 * write on the credential's revision, so two writers (an API call and a discovery run, or two
 * overlapping runs) can never silently overwrite each other.
 */
import type { ActorKind } from '../audit/audit-event.js';
import type { Credential } from './credential.js';
import type { FindingRuleId } from './findings.js';
import type { InventoryPageSource } from './inventory-pages.js';

export const CREDENTIAL_CHANGE_ACTIONS = [
  'registered',
  'updated',
  'discovered',
  'refreshed',
  'gone',
  'returned',
  'evaluated',
  'rotated',
] as const;
export type CredentialChangeAction = (typeof CREDENTIAL_CHANGE_ACTIONS)[number];

/** One entry of a credential's history: who changed what, from what to what. */
export interface CredentialChange {
  /** ISO-8601. */
  readonly at: string;
  readonly actor: { readonly kind: ActorKind; readonly id: string };
  readonly action: CredentialChangeAction;
  /** Changed fields with their old and new values (inventory facts, never a credential's value). */
  readonly changes: Readonly<Record<string, { readonly from: unknown; readonly to: unknown }>>;
  readonly findingsOpened: readonly FindingRuleId[];
  readonly findingsResolved: readonly FindingRuleId[];
}

export const MAX_HISTORY_ENTRIES = 100;

/**
 * Besides the reads and writes below, the store serves the name-ordered index partitions and the
 * per-tenant counters the listing pages from (`InventoryPageSource`); create, replace and delete
 * keep those counters.
 */
export interface CredentialStore extends InventoryPageSource {
  /** Undefined when missing (or another tenant's). */
  get(tenant: string, id: string): Promise<Credential | undefined>;

  /** Every credential of the tenant; all pages read (discovery's reconciliation). */
  list(tenant: string): Promise<Credential[]>;

  /** Stores a new credential (revision 1); `ConflictError` when the id is taken. */
  create(credential: Credential): Promise<void>;

  /**
   * Stores `credential` (whose revision must be `expectedRevision + 1`) if the stored one still
   * has `expectedRevision`; `ConflictError` otherwise, `NotFoundError` when it is gone.
   */
  replace(credential: Credential, expectedRevision: number): Promise<void>;

  /** Removes a credential at `expectedRevision`; `ConflictError` / `NotFoundError` as for `replace`. */
  delete(tenant: string, id: string, expectedRevision: number): Promise<void>;

  appendHistory(tenant: string, id: string, change: CredentialChange): Promise<void>;

  /** The newest `limit` changes, newest first. */
  history(tenant: string, id: string, limit: number): Promise<CredentialChange[]>;

  /** Remembers that the tenant has an inventory, so scheduled runs visit it. Idempotent. */
  registerTenant(tenant: string): Promise<void>;

  /** Every tenant registered so far. */
  tenants(): Promise<string[]>;
}
