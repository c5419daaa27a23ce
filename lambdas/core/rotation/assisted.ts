/**
 * Assisted rotation: for credentials no API can rotate (a GitHub fine-grained personal access
 * token, a vendor's console token), the rotation opens ahead of the credential's expiry and waits
 * for a person to submit the new value. Reminders escalate as the expiry nears — by default 30, 7
 * and 1 days before it, to the owner — and once it has passed, an overdue notice goes to the
 * second contact as well. Any expiry date works: nothing here caps the lead time at a year.
 *
 * The settings (`assisted` of a registration) and the pure rules live here; the engine's part
 * that applies them is `engine-assisted.ts`.
 */
import * as z from 'zod';

const DAY_MS = 24 * 3_600_000;

export const DEFAULT_REMINDER_DAYS = [30, 7, 1] as const;

export const AssistedSettingsSchema = z
  .strictObject({
    /** Who hears of the rotation once the credential is overdue, besides its owner (a name or address). */
    secondContact: z.string().trim().min(1).max(256).optional(),
    /** Days before the expiry a reminder goes out; the largest opens the rotation. */
    reminderDays: z
      .array(z.number().int().min(1).max(3650))
      .min(1)
      .max(10)
      .refine((days) => new Set(days).size === days.length, 'expected distinct days')
      .default([...DEFAULT_REMINDER_DAYS])
      .transform((days) => [...days].sort((a, b) => b - a)),
  })
  .default({ reminderDays: [...DEFAULT_REMINDER_DAYS] });
export type AssistedSettings = z.output<typeof AssistedSettingsSchema>;

/** How long before the expiry an assisted rotation opens. */
export function assistedLeadMs(settings: AssistedSettings): number {
  return (settings.reminderDays[0] ?? DEFAULT_REMINDER_DAYS[0]) * DAY_MS;
}

export interface ReminderStage {
  /** `<n>d` for the threshold of n days that was passed last, or `overdue`. */
  readonly stage: string;
  /** Whole days left (rounded up), negative (rounded down) once overdue. */
  readonly daysLeft: number;
  readonly overdue: boolean;
}

/** The reminder stage at `now`: the nearest threshold passed, or overdue; undefined before the first. */
export function reminderStage(
  settings: AssistedSettings,
  expiresAt: string | undefined,
  now: Date,
): ReminderStage | undefined {
  const expiry = expiresAt === undefined ? Number.NaN : Date.parse(expiresAt);
  if (Number.isNaN(expiry)) return undefined;
  const left = expiry - now.getTime();
  if (left <= 0) return { stage: 'overdue', daysLeft: Math.floor(left / DAY_MS), overdue: true };
  const passed = settings.reminderDays.filter((days) => left <= days * DAY_MS);
  const nearest = passed[passed.length - 1];
  if (nearest === undefined) return undefined;
  return { stage: `${nearest}d`, daysLeft: Math.ceil(left / DAY_MS), overdue: false };
}

/** Orders stages: later thresholds (fewer days) rank higher, overdue highest; unknown lowest. */
export function stageRank(settings: AssistedSettings, stage: string | undefined): number {
  if (stage === undefined) return -1;
  if (stage === 'overdue') return settings.reminderDays.length;
  return settings.reminderDays.indexOf(Number(stage.replace(/d$/, '')));
}

/** The people a notice goes to: the owner, and the second contact once the credential is overdue. */
export function assistedContacts(
  settings: AssistedSettings,
  owner: string | undefined,
  overdue: boolean,
): string[] {
  const contacts = owner === undefined ? [] : [owner];
  if (overdue && settings.secondContact !== undefined && settings.secondContact !== owner)
    contacts.push(settings.secondContact);
  return contacts;
}
