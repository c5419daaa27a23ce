/**
 * Rotation policies: when a credential is rotated and how its old value is retired. A policy is
 * named and kept per tenant; it applies to a credential that names it, or, as a tenant default,
 * to every credential of the types or tags it lists in `appliesTo`.
 *
 * The defaults follow the spirit of AWS's IAM access key rotation sample: rotate every 90 days,
 * deactivate the old key 10 days later, delete it 10 days after that, and never deactivate a key
 * that was used within the last 24 hours.
 */
import * as z from 'zod';
import { ValidationError } from '../errors.js';
import { nextFireTime, parseScheduleExpression, type Schedule } from '../schedule-expression.js';

/** Credential types that have a rotator (the `Rotator` plugins in `lambdas/rotators`). */
export const ROTATOR_TYPES = [
  'vault-secret',
  'postgres-password',
  'aws-iam-access-key',
  'ses-smtp',
  'webhook-token',
  'github-app-token',
  'github-pat',
  'secrets-manager-secret',
] as const;
export type RotatorType = (typeof ROTATOR_TYPES)[number];

export function isRotatorType(value: string): value is RotatorType {
  return (ROTATOR_TYPES as readonly string[]).includes(value);
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** How many fire times of a window's schedule are checked against the interval. */
const WINDOW_SAMPLES = 400;

export const POLICY_DEFAULTS = {
  intervalDays: 90,
  deactivateAfterDays: 10,
  deleteAfterDays: 10,
  nonUseGateHours: 24,
  dryRun: false,
  exemptionTag: 'vaultpilot:rotation-exempt',
  pairTag: 'vaultpilot:rotation-pair',
  pairSpacingMinutes: 60,
} as const;

const TagKey = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\p{L}\p{N}\s_.:/=+\-@]+$/u, 'expected a tag key (letters, digits, spaces and _ . : / = + - @)');

/** Secrets Manager's rotation-rule duration: `1h` to `24h`. A number is taken as hours. */
const Duration = z.union([
  z
    .string()
    .regex(/^\d{1,2}h$/, 'expected a duration in hours such as 4h')
    .transform((value) => Number(value.slice(0, -1))),
  z.number(),
]);

const WindowSchema = z.strictObject({
  /** `rate(…)` or six-field `cron(…)` in UTC: when a window opens. */
  schedule: z.string().min(1).max(256),
  /** How long each window stays open, 1 to 24 hours (`4h` or 4). */
  duration: Duration.pipe(
    z.number().int().min(1, 'a window lasts at least 1h').max(24, 'a window lasts at most 24h'),
  ),
});

const AppliesToSchema = z.strictObject({
  types: z.array(z.enum(ROTATOR_TYPES)).min(1).max(ROTATOR_TYPES.length).optional(),
  /** Every tag listed must be present with this value. */
  tags: z
    .record(TagKey, z.string().max(256))
    .refine(
      (tags) => Object.keys(tags).length >= 1 && Object.keys(tags).length <= 10,
      'expected 1 to 10 tags',
    )
    .optional(),
});

/** The settings of a policy, as written (unknown fields are refused, so a typo cannot pass silently). */
export const RotationPolicySettingsSchema = z.strictObject({
  intervalDays: z.number().int().min(1).max(3650).default(POLICY_DEFAULTS.intervalDays),
  window: WindowSchema.optional(),
  /** Days after `finish` before the old credential is deactivated (where the provider can). */
  deactivateAfterDays: z
    .number()
    .int()
    .min(0, 'a grace period cannot be shorter than zero')
    .max(3650)
    .default(POLICY_DEFAULTS.deactivateAfterDays),
  /** Days after deactivation before the old credential is deleted. */
  deleteAfterDays: z
    .number()
    .int()
    .min(0, 'a grace period cannot be shorter than zero')
    .max(3650)
    .default(POLICY_DEFAULTS.deleteAfterDays),
  /** Never deactivate or delete a credential its provider reports used within this many hours. */
  nonUseGateHours: z.number().int().min(0).max(8760).default(POLICY_DEFAULTS.nonUseGateHours),
  /** Check and record what a rotation would do, change nothing. */
  dryRun: z.boolean().default(POLICY_DEFAULTS.dryRun),
  /** A credential carrying this tag (any value but `false`) is never rotated under this policy. */
  exemptionTag: TagKey.default(POLICY_DEFAULTS.exemptionTag),
  /** Credentials with the same value of this tag are a pair, never rotated closer than the spacing. */
  pairTag: TagKey.default(POLICY_DEFAULTS.pairTag),
  pairSpacingMinutes: z.number().int().min(0).max(10_080).default(POLICY_DEFAULTS.pairSpacingMinutes),
  /** Restricts the policy to one rotator (credential type). */
  rotator: z.string().min(1).max(64).optional(),
  /** Makes the policy a tenant default for credentials of these types or with these tags. */
  appliesTo: AppliesToSchema.optional(),
});

export type RotationPolicySettingsInput = z.input<typeof RotationPolicySettingsSchema>;
export type RotationPolicySettings = Omit<z.output<typeof RotationPolicySettingsSchema>, 'rotator'> & {
  readonly rotator?: RotatorType | undefined;
};

export const POLICY_NAME = /^[A-Za-z0-9._-]{1,128}$/;

export interface RotationPolicy extends RotationPolicySettings {
  readonly name: string;
}

export interface StoredRotationPolicy {
  readonly tenant: string;
  readonly policy: RotationPolicy;
  readonly revision: number;
  readonly updatedAt: string;
}

interface Issue {
  readonly path: string;
  readonly code: string;
  readonly message: string;
}

/**
 * Validates policy settings: the schema, then the rules that relate fields (a known rotator, a
 * window whose schedule parses and opens at least once per interval). `ValidationError` (400)
 * names fields and rules, never echoes values.
 */
export function parseRotationPolicySettings(input: unknown): RotationPolicySettings {
  const result = RotationPolicySettingsSchema.safeParse(input);
  if (!result.success) {
    throw invalid(
      result.error.issues.map((issue) => ({
        path: issue.path.map(String).join('.'),
        code: issue.code,
        message: issue.message,
      })),
    );
  }
  const settings = result.data;
  const issues: Issue[] = [];
  if (settings.rotator !== undefined && !isRotatorType(settings.rotator)) {
    issues.push({
      path: 'rotator',
      code: 'unknown_rotator',
      message: `unknown rotator; expected one of ${ROTATOR_TYPES.join(', ')}`,
    });
  }
  if (settings.window !== undefined) issues.push(...windowProblems(settings.window, settings.intervalDays));
  if (issues.length > 0) throw invalid(issues);
  return settings as RotationPolicySettings;
}

export function parseRotationPolicy(name: string, input: unknown): RotationPolicy {
  if (!POLICY_NAME.test(name)) {
    throw invalid([{ path: 'name', code: 'invalid_string', message: 'expected 1-128 of A-Z a-z 0-9 . _ -' }]);
  }
  return { name, ...parseRotationPolicySettings(input) };
}

function windowProblems(window: { schedule: string; duration: number }, intervalDays: number): Issue[] {
  let schedule: Schedule;
  try {
    schedule = parseScheduleExpression(window.schedule);
  } catch (error: unknown) {
    return [
      {
        path: 'window.schedule',
        code: 'invalid_schedule',
        message: error instanceof Error ? error.message : 'invalid schedule expression',
      },
    ];
  }
  const intervalMs = intervalDays * DAY_MS;
  const durationMs = window.duration * HOUR_MS;
  if (durationMs >= intervalMs) {
    return [
      {
        path: 'window.duration',
        code: 'window_outside_interval',
        message: 'the window must be shorter than the interval',
      },
    ];
  }
  const gaps = scheduleGaps(schedule);
  if (gaps.length === 0) {
    return [
      {
        path: 'window.schedule',
        code: 'window_outside_interval',
        message: 'the schedule never opens a window',
      },
    ];
  }
  const issues: Issue[] = [];
  if (Math.max(...gaps) > intervalMs) {
    issues.push({
      path: 'window.schedule',
      code: 'window_outside_interval',
      message: 'windows must open at least once per rotation interval',
    });
  }
  if (Math.min(...gaps) < durationMs) {
    issues.push({
      path: 'window.duration',
      code: 'window_overlap',
      message: 'a window must close before the next one opens',
    });
  }
  return issues;
}

/** Milliseconds between consecutive window openings over the next `WINDOW_SAMPLES` openings. */
function scheduleGaps(schedule: Schedule): number[] {
  if (schedule.kind === 'rate') return [schedule.periodMs];
  const gaps: number[] = [];
  let previous = nextFireTime(schedule, new Date(0));
  for (let index = 0; previous !== undefined && index < WINDOW_SAMPLES; index += 1) {
    const next = nextFireTime(schedule, previous);
    if (next === undefined) break;
    gaps.push(next.getTime() - previous.getTime());
    previous = next;
  }
  return gaps;
}

/**
 * The start of the window that contains `at`, or undefined when `at` is outside every window.
 * `rate()` windows are anchored at the Unix epoch, so they are the same in every process.
 */
export function openWindowStart(window: RotationPolicySettings['window'], at: Date): Date | undefined {
  if (window === undefined) return at;
  const schedule = parseScheduleExpression(window.schedule);
  const durationMs = window.duration * HOUR_MS;
  const from = new Date(at.getTime() - durationMs);
  const start = nextFireTime(schedule, from, new Date(0));
  return start !== undefined && start.getTime() <= at.getTime() ? start : undefined;
}

/** When a credential becomes due: `intervalDays` after its last rotation (or creation). */
export function dueAt(policy: Pick<RotationPolicySettings, 'intervalDays'>, lastRotatedAt: Date): Date {
  return new Date(lastRotatedAt.getTime() + policy.intervalDays * DAY_MS);
}

/** The soonest a value VaultPilot made is rotated again when it expires as soon as it is made. */
export const MIN_EXPIRY_LEAD_GAP_MS = 60 * 60 * 1000;

/** What `dueTimeOf` needs to know about a credential's expiry. */
export interface ExpiryLead {
  readonly expiresAt: string | undefined;
  /** The rotator's lead before the expiry; undefined: the policy's interval applies. */
  readonly leadMs: number | undefined;
  /**
   * The last automatic rotation, for the floor below; left out for assisted rotations, where a
   * person who supplies a short-lived value is asked again at once, as the lead says.
   */
  readonly lastRotatedAt?: string | undefined;
}

/**
 * When a credential is due: `leadMs` before its expiry when it has one and its rotator names a
 * lead (tokens that live an hour, assisted rotations that open ahead of a date), else
 * `intervalDays` after its last rotation (or creation); undefined when neither is known.
 *
 * A lead longer than the life the last automatic rotation gave the value (a token that lives a
 * day under a lead of a week) would make it due again at once, every time: such a value is due
 * halfway through its life instead, and at least an hour after that rotation.
 */
export function dueTimeOf(
  policy: Pick<RotationPolicySettings, 'intervalDays'>,
  since: string | undefined,
  expiry: ExpiryLead,
): Date | undefined {
  const expiresAt = expiry.expiresAt === undefined ? Number.NaN : Date.parse(expiry.expiresAt);
  if (expiry.leadMs !== undefined && !Number.isNaN(expiresAt)) {
    const due = expiresAt - expiry.leadMs;
    const rotatedAt = expiry.lastRotatedAt === undefined ? Number.NaN : Date.parse(expiry.lastRotatedAt);
    if (Number.isNaN(rotatedAt) || due > rotatedAt) return new Date(due);
    return new Date(rotatedAt + Math.max((expiresAt - rotatedAt) / 2, MIN_EXPIRY_LEAD_GAP_MS));
  }
  return since === undefined ? undefined : dueAt(policy, new Date(since));
}

/** Whether `tags` exempt a credential from `policy`. */
export function isExempt(
  policy: Pick<RotationPolicySettings, 'exemptionTag'>,
  tags: Readonly<Record<string, string>>,
): boolean {
  const value = tags[policy.exemptionTag];
  return value !== undefined && value.toLowerCase() !== 'false';
}

/** The pair a credential belongs to (the value of the policy's pair tag), if any. */
export function pairOf(
  policy: Pick<RotationPolicySettings, 'pairTag'>,
  tags: Readonly<Record<string, string>>,
): string | undefined {
  const value = tags[policy.pairTag];
  return value === undefined || value.length === 0 ? undefined : value;
}

/** Whether a tenant default policy applies to a credential of `type` with `tags`. */
export function policyApplies(
  policy: RotationPolicy,
  type: string,
  tags: Readonly<Record<string, string>>,
): boolean {
  const scope = policy.appliesTo;
  if (scope === undefined) return false;
  if (policy.rotator !== undefined && policy.rotator !== type) return false;
  if (scope.types !== undefined && !(scope.types as readonly string[]).includes(type)) return false;
  if (scope.tags !== undefined && !Object.entries(scope.tags).every(([key, value]) => tags[key] === value))
    return false;
  return true;
}

/**
 * The policy for a credential: the one it names, else the most specific tenant default (tags
 * beat types; ties go to the lowest name, so the choice is stable). Undefined: not rotated.
 */
export function resolvePolicy(
  policies: readonly RotationPolicy[],
  credential: {
    readonly type: string;
    readonly rotationPolicy: string | undefined;
    readonly tags: Readonly<Record<string, string>>;
  },
): RotationPolicy | undefined {
  if (credential.rotationPolicy !== undefined) {
    return policies.find((policy) => policy.name === credential.rotationPolicy);
  }
  const candidates = policies
    .filter((policy) => policyApplies(policy, credential.type, credential.tags))
    .sort((a, b) => {
      const weight = (policy: RotationPolicy): number => (policy.appliesTo?.tags === undefined ? 0 : 1);
      return weight(b) - weight(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    });
  return candidates[0];
}

function invalid(issues: readonly Issue[]): ValidationError {
  return new ValidationError(
    `Invalid rotation policy: ${issues.map((issue) => `${issue.path || '(policy)'} ${issue.message}`).join('; ')}`,
    {
      details: { issues },
    },
  );
}
