/**
 * What an update makes of a credential's rotation binding, before anything checks it: the
 * settings a patch names replace the stored ones whole (`null` removes one), the others are kept;
 * an inline policy replaces the stored one, and a policy name or `null` drops it. The registrar
 * checks the result (`RotationRegistrar#rebind`); the inventory uses it to refuse changes under a
 * running rotation and, without a registrar, stores it unchecked.
 */
import type { RotationBinding } from './credential.js';
import { ROTATION_INPUT_FIELDS, type UpdateCredential } from './credential-input.js';
import { canonical } from './credential-history.js';

/** A binding's fields after a patch; `secretPath` is missing when nobody has given one yet. */
export interface PatchedRotation {
  readonly secretPath: string | undefined;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly policy: Readonly<Record<string, unknown>> | undefined;
}

const SETTING_FIELDS = ['secretPath', ...ROTATION_INPUT_FIELDS] as const;

function inlinePolicy(patch: UpdateCredential): Record<string, unknown> | undefined {
  return typeof patch.rotationPolicy === 'object' && patch.rotationPolicy !== null
    ? patch.rotationPolicy
    : undefined;
}

/** `secretPath` and the type's settings named by a patch: what a running rotation read at its start. */
export function patchedSettingFields(patch: UpdateCredential): string[] {
  return SETTING_FIELDS.filter((field) => patch[field] !== undefined);
}

/** Every rotation field a patch names, an inline policy included: what only a managed credential has. */
export function patchedRotationFields(patch: UpdateCredential): string[] {
  const fields = patchedSettingFields(patch);
  return inlinePolicy(patch) === undefined ? fields : [...fields, 'rotationPolicy'];
}

/**
 * The binding's fields after `patch`; undefined when the credential has no binding and the patch
 * asks for none (a policy name alone does not, as at registration).
 */
export function patchRotation(
  binding: RotationBinding | undefined,
  patch: UpdateCredential,
): PatchedRotation | undefined {
  const inline = inlinePolicy(patch);
  if (binding === undefined && patchedSettingFields(patch).length === 0 && inline === undefined) {
    return undefined;
  }
  const named = new Set<string>(ROTATION_INPUT_FIELDS.filter((field) => patch[field] !== undefined));
  const kept = Object.entries(binding?.settings ?? {}).filter(([field]) => !named.has(field));
  const given = ROTATION_INPUT_FIELDS.flatMap((field) => {
    const value = patch[field];
    return value === undefined || value === null ? [] : [[field, value] as const];
  });
  return {
    secretPath: patch.secretPath ?? binding?.secretPath,
    settings: Object.fromEntries([...kept, ...given]),
    policy: patch.rotationPolicy === undefined ? binding?.policy : inline,
  };
}

/** Whether `patch` changes the binding's secret path or settings (a policy change does not count). */
export function changesRotationSettings(
  binding: RotationBinding | undefined,
  patch: UpdateCredential,
): boolean {
  const patched = patchRotation(binding, patch);
  if (patched === undefined) return false;
  return (
    patched.secretPath !== binding?.secretPath ||
    canonical(patched.settings) !== canonical(binding?.settings ?? {})
  );
}
