import type { Principal } from '../principal.js';
import {
  type AttachedPolicies,
  type Decision,
  type KvOperation,
  type OperationTarget,
  effectivePolicies,
  evaluate,
} from './policy.js';

/**
 * Whether `principal` may perform `operation` on `target`, given the policies attached in the
 * principal's tenant (`PolicyStore#attachments`). The one call a handler makes before touching
 * a secret; the decision's `reason` goes into the audit event, allowed or not.
 */
export function authorizeSecretOperation<O extends KvOperation>(
  principal: Principal,
  attached: AttachedPolicies,
  target: OperationTarget<O>,
  operation: O,
): Decision {
  return evaluate(effectivePolicies(principal, attached), target, operation);
}
