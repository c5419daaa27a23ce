/**
 * The rotation engine on the credential inventory: what the engine needs to know about a
 * credential (its type, secret path, settings, policy, tags) comes from the inventory item and the
 * tenant's rotation policies; what the engine reports (rotating, rotated, failed) goes back through
 * `CredentialInventory#recordRotation`, which also moves the credential's next due time (the
 * `dueForRotation` index). As the inventory's `RotationRegistrar` it checks the rotation fields of
 * a registration and computes the first due time.
 */
import type { Credential, RotationBinding } from '../credentials/credential.js';
import { effectiveTags } from '../credentials/credential.js';
import { ROTATION_INPUT_FIELDS, type RegisterCredential } from '../credentials/credential-input.js';
import type { CredentialStore } from '../credentials/credential-store.js';
import type { RotationRegistrar, RotationUpdate } from '../credentials/rotation-registrar.js';
import { ValidationError } from '../errors.js';
import { parseSecretPath } from '../secrets/secret-path.js';
import type { RotationOutcome, RotationTargets, RotatorRegistry } from './engine.js';
import {
  dueAt,
  isExempt,
  isRotatorType,
  parseRotationPolicy,
  type RotationPolicy,
  resolvePolicy,
} from './policy.js';
import type { RotationPolicyStore } from './rotation-store.js';
import type { RotationTarget } from './rotator.js';

/** The name an inline policy goes by in rotation records. */
export const INLINE_POLICY = 'inline';
const HOUR_MS = 3_600_000;
/** A failed scheduled rotation is tried again this long after the failure. */
export const RETRY_AFTER_FAILURE_MS = 24 * HOUR_MS;

export type RecordRotation = (tenant: string, id: string, update: RotationUpdate) => Promise<void>;

export class InventoryRotationTargets implements RotationTargets, RotationRegistrar {
  constructor(
    private readonly credentials: Pick<CredentialStore, 'get'>,
    private readonly recordRotation: RecordRotation,
    private readonly policies: RotationPolicyStore,
    private readonly rotators: RotatorRegistry,
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
        return this.recordRotation(tenant, credentialId, {
          rotationState: undefined,
          lastRotatedAt: outcome.at,
          dueAt: policy === undefined ? undefined : dueAt(policy, new Date(at)).toISOString(),
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
    return dueAt(policy, new Date(since)).toISOString();
  }

  async bind(credential: Credential, request: RegisterCredential): Promise<RotationBinding | undefined> {
    const fields = Object.fromEntries(
      ROTATION_INPUT_FIELDS.flatMap((field) =>
        request[field] === undefined ? [] : [[field, request[field]]],
      ),
    );
    const asksForRotation =
      request.secretPath !== undefined ||
      Object.keys(fields).length > 0 ||
      typeof request.rotationPolicy === 'object';
    if (!asksForRotation) return undefined;
    const rotator = isRotatorType(credential.type) ? this.rotators[credential.type] : undefined;
    if (rotator === undefined) {
      throw invalid('type', `Credentials of type ${credential.type} cannot be rotated by VaultPilot`);
    }
    if (request.secretPath === undefined)
      throw invalid('secretPath', 'A rotated credential needs secretPath');
    parseSecretPath(request.secretPath);
    const settings: Record<string, unknown> =
      credential.type === 'aws-iam-access-key' &&
      fields.userName === undefined &&
      credential.reference.userName !== undefined
        ? { ...fields, userName: credential.reference.userName }
        : fields;
    rotator.parseSettings(settings);
    let inline: Record<string, unknown> | undefined;
    if (typeof request.rotationPolicy === 'object') {
      const policy = parseRotationPolicy(INLINE_POLICY, request.rotationPolicy);
      if (policy.rotator !== undefined && policy.rotator !== credential.type) {
        throw invalid('rotationPolicy.rotator', `The policy applies to ${policy.rotator} credentials only`);
      }
      inline = request.rotationPolicy;
    } else if (typeof request.rotationPolicy === 'string') {
      const stored = await this.policies.get(credential.tenant, request.rotationPolicy);
      if (stored === undefined)
        throw invalid('rotationPolicy', `No rotation policy ${request.rotationPolicy}`);
      if (stored.policy.rotator !== undefined && stored.policy.rotator !== credential.type) {
        throw invalid(
          'rotationPolicy',
          `Policy ${stored.policy.name} applies to ${stored.policy.rotator} credentials only`,
        );
      }
    }
    const binding: RotationBinding = {
      secretPath: request.secretPath,
      settings,
      ...(inline === undefined ? {} : { policy: inline }),
    };
    const due = await this.nextDue({ ...credential, rotation: binding });
    return due === undefined ? binding : { ...binding, dueAt: due };
  }
}

function invalid(path: string, message: string): ValidationError {
  return new ValidationError(message, { details: { issues: [{ path, code: 'invalid_rotation', message }] } });
}
