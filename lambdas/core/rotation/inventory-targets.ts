/**
 * The rotation engine on the credential inventory: what the engine needs to know about a
 * credential (its type, secret path, settings, policy, tags) comes from the inventory item and the
 * tenant's rotation policies; what the engine reports (rotating, rotated, failed) goes back through
 * `CredentialInventory#recordRotation`, which also moves the credential's next due time (the
 * `dueForRotation` index). As the inventory's `RotationRegistrar` it checks the rotation fields of
 * a registration or an update and computes the next due time.
 */
import type { Credential, RotationBinding } from '../credentials/credential.js';
import { effectiveTags } from '../credentials/credential.js';
import {
  ROTATION_INPUT_FIELDS,
  type RegisterCredential,
  type UpdateCredential,
} from '../credentials/credential-input.js';
import type { CredentialStore } from '../credentials/credential-store.js';
import type { RotationRegistrar, RotationUpdate } from '../credentials/rotation-registrar.js';
import { type PatchedRotation, patchedSettingFields, patchRotation } from '../credentials/rotation-patch.js';
import { ValidationError } from '../errors.js';
import { parseSecretPath } from '../secrets/secret-path.js';
import type { RotationOutcome, RotationTargets } from './engine.js';
import {
  dueAt,
  dueTimeOf,
  type ExpiryLead,
  isExempt,
  isRotatorType,
  parseRotationPolicy,
  type RotationPolicy,
  resolvePolicy,
  type RotatorType,
} from './policy.js';
import type { RotationPolicyStore } from './rotation-store.js';
import type { RotationTarget, RotatorSettingsRegistry } from './rotator.js';

/** The name an inline policy goes by in rotation records. */
export const INLINE_POLICY = 'inline';
const HOUR_MS = 3_600_000;
/** A failed scheduled rotation is tried again this long after the failure. */
export const RETRY_AFTER_FAILURE_MS = 24 * HOUR_MS;

/**
 * The registration fields each rotator reads. Others are refused rather than stored unread: a
 * mistake shows at once, and nothing but settings (never a value) can end up in the binding and
 * its history.
 */
const ROTATOR_SETTING_FIELDS: Readonly<
  Record<RotatorType, readonly (typeof ROTATION_INPUT_FIELDS)[number][]>
> = {
  'vault-secret': ['generator'],
  'postgres-password': ['connection', 'strategy', 'managingSecretPath', 'generator'],
  'aws-iam-access-key': ['userName', 'secretsManagerCopy'],
  'ses-smtp': ['userName', 'smtp'],
  'webhook-token': ['webhook'],
  'github-app-token': ['github'],
  'github-pat': ['github', 'assisted'],
  'secrets-manager-secret': ['secretsManager', 'generator'],
};

export type RecordRotation = (tenant: string, id: string, update: RotationUpdate) => Promise<void>;

export class InventoryRotationTargets implements RotationTargets, RotationRegistrar {
  constructor(
    private readonly credentials: Pick<CredentialStore, 'get'>,
    private readonly recordRotation: RecordRotation,
    private readonly policies: RotationPolicyStore,
    private readonly rotators: RotatorSettingsRegistry,
  ) {}

  async load(tenant: string, credentialId: string): Promise<RotationTarget | undefined> {
    const credential = await this.credentials.get(tenant, credentialId);
    if (credential === undefined) return undefined;
    const binding = credential.rotation;
    return {
      tenant,
      credentialId,
      type: credential.type,
      name: credential.name,
      secretPath: binding?.secretPath ?? '',
      settings: binding?.settings ?? {},
      policy: binding === undefined ? undefined : await this.policyOf(credential),
      tags: effectiveTags(credential),
      lastRotatedAt: credential.lastRotatedAt,
      createdAt: credential.createdAt ?? credential.registeredAt,
      owner: credential.owner,
      expiresAt: credential.expiresAt,
    };
  }

  async recordOutcome(tenant: string, credentialId: string, outcome: RotationOutcome): Promise<void> {
    const at = Date.parse(outcome.at);
    switch (outcome.kind) {
      case 'rotating':
        return this.recordRotation(tenant, credentialId, { rotationState: 'rotating', dueAt: null });
      case 'succeeded': {
        if (outcome.dryRun)
          return this.recordRotation(tenant, credentialId, { rotationState: undefined, dueAt: null });
        const credential = await this.credentials.get(tenant, credentialId);
        const policy = credential === undefined ? undefined : await this.policyOf(credential);
        const expiresAt =
          outcome.expiresAt === undefined ? credential?.expiresAt : (outcome.expiresAt ?? undefined);
        return this.recordRotation(tenant, credentialId, {
          rotationState: undefined,
          lastRotatedAt: outcome.at,
          ...(outcome.expiresAt === undefined ? {} : { expiresAt: outcome.expiresAt }),
          dueAt:
            policy === undefined || credential === undefined
              ? undefined
              : dueTimeOf(
                  policy,
                  outcome.at,
                  this.expiryLead(credential, expiresAt, outcome.at),
                )?.toISOString(),
        });
      }
      case 'failed':
        return this.recordRotation(tenant, credentialId, {
          rotationState: 'failed',
          dueAt: new Date(at + RETRY_AFTER_FAILURE_MS).toISOString(),
        });
      case 'rolled-back':
        return this.recordRotation(tenant, credentialId, { rotationState: undefined, dueAt: null });
    }
  }

  /** The policy of a credential: inline, named, or the tenant default that applies. */
  async policyOf(credential: Credential): Promise<RotationPolicy | undefined> {
    const inline = credential.rotation?.policy;
    if (inline !== undefined) return parseRotationPolicy(INLINE_POLICY, inline);
    if (credential.rotationPolicy !== undefined) {
      return (await this.policies.get(credential.tenant, credential.rotationPolicy))?.policy;
    }
    const policies = (await this.policies.list(credential.tenant)).map((stored) => stored.policy);
    return resolvePolicy(policies, {
      type: credential.type,
      rotationPolicy: undefined,
      tags: effectiveTags(credential),
    });
  }

  /** When `credential` is next due under its policy; undefined when it is not rotated automatically. */
  async nextDue(credential: Credential): Promise<string | undefined> {
    if (credential.rotation === undefined) return undefined;
    const policy = await this.policyOf(credential);
    if (policy === undefined || isExempt(policy, effectiveTags(credential))) return undefined;
    const since = credential.lastRotatedAt ?? credential.createdAt ?? credential.registeredAt;
    const due = (
      dueTimeOf(policy, since, this.expiryLead(credential, credential.expiresAt, credential.lastRotatedAt)) ??
      dueAt(policy, new Date(since))
    ).toISOString();
    // A failed rotation is tried again a day after the failure; a change to the credential or its
    // policy does not bring that retry forward (a request to rotate still can).
    const retry = credential.rotationState === 'failed' ? credential.rotation.dueAt : undefined;
    return retry !== undefined && retry > due ? retry : due;
  }

  /** The expiry with the credential's rotator's lead before it, if it names one (for `dueTimeOf`). */
  private expiryLead(
    credential: Credential,
    expiresAt: string | undefined,
    lastRotatedAt: string | undefined,
  ): ExpiryLead {
    const rotator = isRotatorType(credential.type) ? this.rotators[credential.type] : undefined;
    return {
      expiresAt,
      leadMs: this.leadMs(credential),
      lastRotatedAt: rotator?.assisted === undefined ? lastRotatedAt : undefined,
    };
  }

  /** How long before its expiry the credential's rotator wants it rotated, if it names a lead. */
  private leadMs(credential: Credential): number | undefined {
    const rotator = isRotatorType(credential.type) ? this.rotators[credential.type] : undefined;
    if (rotator?.dueBeforeExpiryMs === undefined || credential.rotation === undefined) return undefined;
    try {
      return rotator.dueBeforeExpiryMs(rotator.parseSettings(credential.rotation.settings));
    } catch (error: unknown) {
      // Settings stored before a stricter rule: the policy's interval applies.
      if (error instanceof ValidationError) return undefined;
      throw error;
    }
  }

  async bind(credential: Credential, request: RegisterCredential): Promise<RotationBinding | undefined> {
    const settings = Object.fromEntries(
      ROTATION_INPUT_FIELDS.flatMap((field) =>
        request[field] === undefined ? [] : [[field, request[field]]],
      ),
    );
    const inline = typeof request.rotationPolicy === 'object' ? request.rotationPolicy : undefined;
    const asksForRotation =
      request.secretPath !== undefined || Object.keys(settings).length > 0 || inline !== undefined;
    if (!asksForRotation) return undefined;
    return this.checked(
      credential,
      { secretPath: request.secretPath, settings, policy: inline },
      { settings: true, policy: request.rotationPolicy },
    );
  }

  async rebind(credential: Credential, patch: UpdateCredential): Promise<RotationBinding | undefined> {
    const stored = credential.rotation;
    const patched = patchRotation(stored, patch);
    if (patched === undefined) return undefined;
    return this.checked(credential, patched, {
      // Stored settings were checked when they were given; only what the patch touches is checked
      // again, so a rotator's stricter rules never block an owner or tag change.
      settings: stored === undefined || patchedSettingFields(patch).length > 0,
      policy: patch.rotationPolicy ?? undefined,
    });
  }

  /**
   * Checks a binding's fields for `credential`'s type — the settings when `check.settings`, and a
   * policy given by name or inline — and adds the due time. `credential.rotation`, when stored,
   * still holds the due time a failed rotation waits for.
   */
  private async checked(
    credential: Credential,
    fields: PatchedRotation,
    check: { readonly settings: boolean; readonly policy: string | Record<string, unknown> | undefined },
  ): Promise<RotationBinding> {
    const settings = check.settings ? this.checkedSettings(credential, fields) : fields.settings;
    if (fields.secretPath === undefined) throw invalid('secretPath', 'A rotated credential needs secretPath');
    if (typeof check.policy === 'object') {
      const policy = parseRotationPolicy(INLINE_POLICY, check.policy);
      if (policy.rotator !== undefined && policy.rotator !== credential.type) {
        throw invalid('rotationPolicy.rotator', `The policy applies to ${policy.rotator} credentials only`);
      }
    } else if (typeof check.policy === 'string') {
      const stored = await this.policies.get(credential.tenant, check.policy);
      if (stored === undefined) throw invalid('rotationPolicy', `No rotation policy ${check.policy}`);
      if (stored.policy.rotator !== undefined && stored.policy.rotator !== credential.type) {
        throw invalid(
          'rotationPolicy',
          `Policy ${stored.policy.name} applies to ${stored.policy.rotator} credentials only`,
        );
      }
    }
    const binding: RotationBinding = {
      secretPath: fields.secretPath,
      settings,
      ...(fields.policy === undefined ? {} : { policy: fields.policy }),
    };
    const due = await this.nextDue({
      ...credential,
      rotation: { ...binding, dueAt: credential.rotation?.dueAt },
    });
    return due === undefined ? binding : { ...binding, dueAt: due };
  }

  /** The settings to store: only fields the type's rotator reads, valid by its own rules. */
  private checkedSettings(credential: Credential, fields: PatchedRotation): Record<string, unknown> {
    const type = credential.type;
    const rotator = isRotatorType(type) ? this.rotators[type] : undefined;
    if (rotator === undefined || !isRotatorType(type)) {
      throw invalid('type', `Credentials of type ${type} cannot be rotated by VaultPilot`);
    }
    if (fields.secretPath === undefined) throw invalid('secretPath', 'A rotated credential needs secretPath');
    parseSecretPath(fields.secretPath);
    const readable: readonly string[] = ROTATOR_SETTING_FIELDS[type];
    const unread = Object.keys(fields.settings).filter((field) => !readable.includes(field));
    if (unread.length > 0) {
      throw new ValidationError(`${type} credentials have no ${unread.join(', ')} setting`, {
        details: {
          issues: unread.map((field) => ({
            path: field,
            code: 'invalid_rotation',
            message: `not a setting of ${type} credentials`,
          })),
        },
      });
    }
    const userName = credential.reference.userName;
    const settings =
      (type === 'aws-iam-access-key' || type === 'ses-smtp') &&
      fields.settings.userName === undefined &&
      userName !== undefined
        ? { ...fields.settings, userName }
        : { ...fields.settings };
    rotator.parseSettings(settings);
    return settings;
  }
}

function invalid(path: string, message: string): ValidationError {
  return new ValidationError(message, { details: { issues: [{ path, code: 'invalid_rotation', message }] } });
}
