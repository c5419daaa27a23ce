/**
 * Construct ids from spec ids (`rotationScheduler` + `Engine` → `RotationSchedulerEngine`), so
 * logical ids in the templates read like the specs they come from.
 */
export function constructId(specId: string, kind: string): string {
  return `${specId.charAt(0).toUpperCase()}${specId.slice(1)}${kind}`;
}
