/**
 * EventBridge schedule expressions — `rate(...)` and six-field `cron(...)` — parsed and evaluated
 * in UTC, so the local scheduler fires on the same expressions the CDK rules use, and rotation
 * windows (a schedule expression plus a duration, as Secrets Manager's rotation rules) are
 * evaluated with the same grammar. Pure, so it lives in core; `lambdas/local` re-exports it.
 *
 * Not supported locally: the `L`, `W` and `#` wildcards (last day, nearest weekday, nth weekday).
 * EventBridge accepts them, but no VaultPilot schedule needs them, and each would turn the simple
 * "field = set of allowed numbers" matcher into per-month calendar arithmetic. They are rejected
 * with an error that says so rather than silently firing at the wrong time.
 */

const MINUTE_MS = 60_000;
/** The largest time a JavaScript Date can hold (ECMA-262 §21.4.1.1). */
const MAX_DATE_MS = 8.64e15;

export class ScheduleExpressionError extends Error {
  readonly expression: string;

  constructor(expression: string, problem: string, options?: { cause?: unknown }) {
    super(
      `Invalid schedule expression "${expression}": ${problem}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'ScheduleExpressionError';
    this.expression = expression;
  }
}

export interface RateSchedule {
  readonly kind: 'rate';
  readonly expression: string;
  readonly periodMs: number;
}

export interface CronSchedule {
  readonly kind: 'cron';
  readonly expression: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  /** Undefined when the field is `?`: the day is chosen by day-of-week. */
  readonly daysOfMonth: ReadonlySet<number> | undefined;
  /** 1 = January … 12 = December. */
  readonly months: ReadonlySet<number>;
  /** 1 = Sunday … 7 = Saturday, as EventBridge numbers them; undefined when the field is `?`. */
  readonly daysOfWeek: ReadonlySet<number> | undefined;
  readonly years: ReadonlySet<number>;
}

export type Schedule = RateSchedule | CronSchedule;

const RATE_UNIT_MS: Readonly<Record<string, number>> = {
  minute: MINUTE_MS,
  hour: 60 * MINUTE_MS,
  day: 24 * 60 * MINUTE_MS,
};

interface CronField {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Three-letter names for min, min + 1, … (case-insensitive). */
  readonly names?: readonly string[];
}

const CRON_FIELDS = {
  minutes: { name: 'minutes', min: 0, max: 59 },
  hours: { name: 'hours', min: 0, max: 23 },
  dayOfMonth: { name: 'day-of-month', min: 1, max: 31 },
  month: {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  dayOfWeek: {
    name: 'day-of-week',
    min: 1,
    max: 7,
    names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
  },
  year: { name: 'year', min: 1970, max: 2199 },
} as const satisfies Record<string, CronField>;

const CRON_SHAPE = 'cron(minutes hours day-of-month month day-of-week year)';

/** Parses an EventBridge schedule expression; throws `ScheduleExpressionError` when it is invalid. */
export function parseScheduleExpression(expression: string): Schedule {
  const match = /^(rate|cron)\((.*)\)$/s.exec(expression);
  const body = match?.[2];
  if (match === null || body === undefined) {
    throw new ScheduleExpressionError(expression, `expected rate(value unit) or ${CRON_SHAPE}`);
  }
  return match[1] === 'rate' ? parseRate(expression, body) : parseCron(expression, body);
}

function parseRate(expression: string, body: string): RateSchedule {
  const fail = (problem: string): never => {
    throw new ScheduleExpressionError(expression, problem);
  };
  const parts = body.trim().split(/\s+/);
  const [valueText, unit] = parts;
  if (parts.length !== 2 || valueText === undefined || unit === undefined) {
    return fail('rate() needs a value and a unit, like rate(5 minutes)');
  }
  const value = Number(valueText);
  if (!/^\d+$/.test(valueText) || !Number.isSafeInteger(value) || value < 1) {
    return fail(`the rate value must be a positive integer, got "${valueText}"`);
  }
  const singular = unit.endsWith('s') ? unit.slice(0, -1) : unit;
  const unitMs = RATE_UNIT_MS[singular];
  if (unitMs === undefined) {
    return fail(`unknown rate unit "${unit}"; use minute(s), hour(s) or day(s)`);
  }
  // EventBridge insists on the grammatical number: rate(1 hour) but rate(2 hours).
  if (value === 1 && unit !== singular) {
    return fail(`the unit must be singular when the value is 1: rate(1 ${singular})`);
  }
  if (value !== 1 && unit === singular) {
    return fail(`the unit must be plural when the value is ${value}: rate(${value} ${singular}s)`);
  }
  return { kind: 'rate', expression, periodMs: value * unitMs };
}

function parseCron(expression: string, body: string): CronSchedule {
  const fail = (problem: string): never => {
    throw new ScheduleExpressionError(expression, problem);
  };
  const fields = body.trim().split(/\s+/);
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields;
  if (
    fields.length !== 6 ||
    minutes === undefined ||
    hours === undefined ||
    dayOfMonth === undefined ||
    month === undefined ||
    dayOfWeek === undefined ||
    year === undefined
  ) {
    return fail(`cron() needs 6 fields, ${CRON_SHAPE}, got ${body.trim() === '' ? 0 : fields.length}`);
  }
  if (dayOfMonth === '?' && dayOfWeek === '?') {
    return fail('day-of-month and day-of-week cannot both be "?"; set exactly one of them to "?"');
  }
  if (dayOfMonth !== '?' && dayOfWeek !== '?') {
    return fail('one of day-of-month or day-of-week must be "?" (EventBridge does not allow both)');
  }
  return {
    kind: 'cron',
    expression,
    minutes: parseField(minutes, CRON_FIELDS.minutes, fail),
    hours: parseField(hours, CRON_FIELDS.hours, fail),
    daysOfMonth: dayOfMonth === '?' ? undefined : parseField(dayOfMonth, CRON_FIELDS.dayOfMonth, fail),
    months: parseField(month, CRON_FIELDS.month, fail),
    daysOfWeek: dayOfWeek === '?' ? undefined : parseField(dayOfWeek, CRON_FIELDS.dayOfWeek, fail),
    years: parseField(year, CRON_FIELDS.year, fail),
  };
}

/** A field is a comma list of `*`, `n`, `a-b`, each optionally followed by `/step`. */
function parseField(text: string, field: CronField, fail: (problem: string) => never): ReadonlySet<number> {
  const allowed = new Set<number>();
  for (const item of text.split(',')) {
    if (item.includes('?')) {
      return fail(`"?" is only allowed alone in day-of-month or day-of-week, not in ${field.name} "${text}"`);
    }
    const [range = '', stepText, ...rest] = item.split('/');
    if (rest.length > 0) return fail(`${field.name} item "${item}" has more than one "/"`);
    let step = 1;
    if (stepText !== undefined) {
      step = Number(stepText);
      if (!/^\d+$/.test(stepText) || step < 1) {
        return fail(`${field.name} step "${stepText}" must be a positive integer`);
      }
    }
    let low: number;
    let high: number;
    if (range === '*') {
      [low, high] = [field.min, field.max];
    } else if (range.includes('-')) {
      const [from = '', to = '', ...more] = range.split('-');
      if (more.length > 0) return fail(`${field.name} range "${range}" has more than one "-"`);
      [low, high] = [parseValue(from, field, fail), parseValue(to, field, fail)];
      if (low > high) return fail(`${field.name} range "${range}" runs backwards`);
    } else {
      low = parseValue(range, field, fail);
      // `0/15` means "from 0, every 15": a step after a single value runs to the field's end.
      high = stepText === undefined ? low : field.max;
    }
    for (let value = low; value <= high; value += step) allowed.add(value);
  }
  return allowed;
}

function parseValue(token: string, field: CronField, fail: (problem: string) => never): number {
  if (/^\d+$/.test(token)) {
    const value = Number(token);
    if (value < field.min || value > field.max) {
      return fail(`${field.name} value ${token} is out of range ${field.min}-${field.max}`);
    }
    return value;
  }
  const index = field.names?.indexOf(token.toUpperCase()) ?? -1;
  if (index >= 0) return field.min + index;
  if (token.includes('#') || /^(\d*L|\d*W|LW)$/i.test(token)) {
    return fail(`${field.name} "${token}": "L", "W" and "#" are not supported by the local scheduler`);
  }
  const expected = field.names === undefined ? 'a number' : `a number or one of ${field.names.join(', ')}`;
  return fail(`${field.name} value "${token}" is not ${expected}`);
}

/**
 * The first fire time strictly after `after`, or undefined when the schedule never fires again
 * (a cron whose years are over, or a date that does not exist such as 30 February).
 *
 * EventBridge fires a `rate()` rule relative to when the rule was created; locally the rule is
 * "created" at `anchor` (default: `after`), fires first at `anchor + period` and every period after.
 */
export function nextFireTime(schedule: Schedule, after: Date, anchor: Date = after): Date | undefined {
  if (Number.isNaN(after.getTime()) || Number.isNaN(anchor.getTime())) {
    throw new RangeError(`nextFireTime needs valid dates for "${schedule.expression}"`);
  }
  if (schedule.kind === 'rate') {
    const periods = Math.max(1, Math.floor((after.getTime() - anchor.getTime()) / schedule.periodMs) + 1);
    const next = anchor.getTime() + periods * schedule.periodMs;
    return next > MAX_DATE_MS ? undefined : new Date(next);
  }
  return nextCronTime(schedule, after);
}

/**
 * Walks forward from the next whole minute, skipping a whole year, month, day or hour at a time
 * when that unit does not match, so even a date that never comes (30 February) ends in a few
 * thousand steps once the year field is exhausted.
 */
function nextCronTime(cron: CronSchedule, after: Date): Date | undefined {
  const lastYear = Math.max(...cron.years);
  let time = Math.max(Math.floor(after.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS, 0);
  for (;;) {
    const date = new Date(time);
    const year = date.getUTCFullYear();
    const month = date.getUTCMonth();
    const day = date.getUTCDate();
    const hour = date.getUTCHours();
    if (year > lastYear) return undefined;
    if (!cron.years.has(year)) {
      time = Date.UTC(year + 1, 0, 1);
    } else if (!cron.months.has(month + 1)) {
      time = Date.UTC(year, month + 1, 1);
    } else if (!dayMatches(cron, date)) {
      time = Date.UTC(year, month, day + 1);
    } else if (!cron.hours.has(hour)) {
      time = Date.UTC(year, month, day, hour + 1);
    } else if (!cron.minutes.has(date.getUTCMinutes())) {
      time += MINUTE_MS;
    } else {
      return date;
    }
  }
}

function dayMatches(cron: CronSchedule, date: Date): boolean {
  if (cron.daysOfMonth !== undefined) return cron.daysOfMonth.has(date.getUTCDate());
  return cron.daysOfWeek?.has(date.getUTCDay() + 1) ?? false;
}
