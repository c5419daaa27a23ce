import { describe, expect, it } from 'vitest';
import {
  nextFireTime,
  parseScheduleExpression,
  ScheduleExpressionError,
} from '../../lambdas/local/schedule-expression.js';
import { ENGINE_LIST } from '../../lambdas/shared/engines.js';

function errorOf(expression: string): ScheduleExpressionError {
  try {
    parseScheduleExpression(expression);
  } catch (error: unknown) {
    if (error instanceof ScheduleExpressionError) return error;
    throw error;
  }
  throw new Error(`expected "${expression}" to be rejected`);
}

/** The next `count` fire times after `after`, each computed from the previous one. */
function fireTimes(expression: string, after: string, count: number, anchor?: string): string[] {
  const schedule = parseScheduleExpression(expression);
  const times: string[] = [];
  let cursor = new Date(after);
  for (let i = 0; i < count; i += 1) {
    const next = nextFireTime(schedule, cursor, anchor === undefined ? undefined : new Date(anchor));
    if (next === undefined) break;
    times.push(next.toISOString());
    cursor = next;
  }
  return times;
}

describe('next fire time of cron() expressions, in UTC', () => {
  it.each([
    {
      name: 'every 15 minutes',
      expression: 'cron(0/15 * * * ? *)',
      after: '2026-03-10T10:07:30.000Z',
      expected: [
        '2026-03-10T10:15:00.000Z',
        '2026-03-10T10:30:00.000Z',
        '2026-03-10T10:45:00.000Z',
        '2026-03-10T11:00:00.000Z',
      ],
    },
    {
      name: 'every 5 minutes written with */',
      expression: 'cron(*/5 * * * ? *)',
      after: '2026-03-10T23:56:00.000Z',
      expected: ['2026-03-11T00:00:00.000Z', '2026-03-11T00:05:00.000Z'],
    },
    {
      name: 'hourly, strictly after a fire time',
      expression: 'cron(0 * * * ? *)',
      after: '2026-03-10T10:00:00.000Z',
      expected: ['2026-03-10T11:00:00.000Z', '2026-03-10T12:00:00.000Z'],
    },
    {
      name: 'daily at 08:00, before and after 08:00',
      expression: 'cron(0 8 * * ? *)',
      after: '2026-11-22T07:59:59.999Z',
      expected: ['2026-11-22T08:00:00.000Z', '2026-11-23T08:00:00.000Z'],
    },
    {
      name: 'daily at 08:00 across the year end',
      expression: 'cron(0 8 * * ? *)',
      after: '2026-12-31T08:00:00.000Z',
      expected: ['2027-01-01T08:00:00.000Z'],
    },
    {
      name: 'weekdays at 18:00 from Friday evening skip the weekend',
      expression: 'cron(0 18 ? * MON-FRI *)',
      after: '2026-11-20T18:00:00.000Z', // a Friday
      expected: ['2026-11-23T18:00:00.000Z', '2026-11-24T18:00:00.000Z'],
    },
    {
      name: 'weekday numbers count from 1 = Sunday',
      expression: 'cron(0 12 ? * 1,7 *)',
      after: '2026-11-18T00:00:00.000Z', // a Wednesday
      expected: ['2026-11-21T12:00:00.000Z', '2026-11-22T12:00:00.000Z', '2026-11-28T12:00:00.000Z'],
    },
    {
      name: 'weekday names are case-insensitive',
      expression: 'cron(30 9 ? * wed *)',
      after: '2026-11-18T09:30:00.000Z',
      expected: ['2026-11-25T09:30:00.000Z'],
    },
    {
      name: 'first of the month across month and year boundaries',
      expression: 'cron(0 0 1 * ? *)',
      after: '2026-11-15T12:00:00.000Z',
      expected: ['2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z', '2027-02-01T00:00:00.000Z'],
    },
    {
      name: 'the 31st skips the months without one',
      expression: 'cron(0 0 31 * ? *)',
      after: '2026-01-31T00:00:00.000Z',
      expected: ['2026-03-31T00:00:00.000Z', '2026-05-31T00:00:00.000Z', '2026-07-31T00:00:00.000Z'],
    },
    {
      name: 'leap day only in leap years',
      expression: 'cron(0 0 29 2 ? *)',
      after: '2026-01-01T00:00:00.000Z',
      expected: ['2028-02-29T00:00:00.000Z', '2032-02-29T00:00:00.000Z'],
    },
    {
      name: 'leap day skips 2100, which is not a leap year',
      expression: 'cron(0 0 29 2 ? *)',
      after: '2096-03-01T00:00:00.000Z',
      expected: ['2104-02-29T00:00:00.000Z'],
    },
    {
      name: 'lists, ranges and a stepped range',
      expression: 'cron(5,35 8-10/2 ? * * *)',
      after: '2026-06-01T08:05:00.000Z',
      expected: [
        '2026-06-01T08:35:00.000Z',
        '2026-06-01T10:05:00.000Z',
        '2026-06-01T10:35:00.000Z',
        '2026-06-02T08:05:00.000Z',
      ],
    },
    {
      name: 'month names and a month range',
      expression: 'cron(0 6 15 JAN,jul-AUG ? *)',
      after: '2026-01-15T06:00:00.000Z',
      expected: ['2026-07-15T06:00:00.000Z', '2026-08-15T06:00:00.000Z', '2027-01-15T06:00:00.000Z'],
    },
    {
      name: 'day-of-month step from the 1st',
      expression: 'cron(0 0 1/10 * ? *)',
      after: '2026-04-30T00:00:00.000Z',
      expected: [
        '2026-05-01T00:00:00.000Z',
        '2026-05-11T00:00:00.000Z',
        '2026-05-21T00:00:00.000Z',
        '2026-05-31T00:00:00.000Z',
        '2026-06-01T00:00:00.000Z',
      ],
    },
    {
      name: 'a year list ends the schedule',
      expression: 'cron(0 12 1 1 ? 2027,2029)',
      after: '2026-06-01T00:00:00.000Z',
      expected: ['2027-01-01T12:00:00.000Z', '2029-01-01T12:00:00.000Z'],
    },
  ])('$name: $expression', ({ expression, after, expected }) => {
    // Act
    const times = fireTimes(expression, after, expected.length);

    // Assess
    expect(times).toEqual(expected);
  });

  it('rounds a time within a matching minute up to the next match, not the same minute', () => {
    // Prepare
    const schedule = parseScheduleExpression('cron(* * * * ? *)');

    // Act
    const next = nextFireTime(schedule, new Date('2026-03-10T10:07:00.001Z'));

    // Assess
    expect(next?.toISOString()).toBe('2026-03-10T10:08:00.000Z');
  });

  it.each([
    { name: 'a date that never exists', expression: 'cron(0 0 30 2 ? *)' },
    { name: 'a year that is over', expression: 'cron(0 0 1 1 ? 2020)' },
    { name: 'the last listed year once it has fired', expression: 'cron(0 0 1 1 ? 2025,2026)' },
  ])('answers undefined for $name, quickly', ({ expression }) => {
    // Prepare
    const schedule = parseScheduleExpression(expression);
    const startedAt = performance.now();

    // Act
    const next = nextFireTime(schedule, new Date('2026-01-01T00:00:00.000Z'));

    // Assess
    expect(next).toBeUndefined();
    expect(performance.now() - startedAt).toBeLessThan(500);
  });

  it('parses fields into sets of allowed numbers', () => {
    // Act
    const schedule = parseScheduleExpression('cron(0/20 22-23 ? NOV-DEC SUN,SAT 2026-2028)');

    // Assess
    expect(schedule).toEqual({
      kind: 'cron',
      expression: 'cron(0/20 22-23 ? NOV-DEC SUN,SAT 2026-2028)',
      minutes: new Set([0, 20, 40]),
      hours: new Set([22, 23]),
      daysOfMonth: undefined,
      months: new Set([11, 12]),
      daysOfWeek: new Set([1, 7]),
      years: new Set([2026, 2027, 2028]),
    });
  });
});

describe('next fire time of rate() expressions', () => {
  it.each([
    {
      expression: 'rate(1 minute)',
      expected: ['2026-03-10T10:08:30.000Z', '2026-03-10T10:09:30.000Z', '2026-03-10T10:10:30.000Z'],
    },
    {
      expression: 'rate(15 minutes)',
      expected: ['2026-03-10T10:22:30.000Z', '2026-03-10T10:37:30.000Z', '2026-03-10T10:52:30.000Z'],
    },
    {
      expression: 'rate(1 hour)',
      expected: ['2026-03-10T11:07:30.000Z', '2026-03-10T12:07:30.000Z'],
    },
    {
      expression: 'rate(6 hours)',
      expected: ['2026-03-10T16:07:30.000Z', '2026-03-10T22:07:30.000Z', '2026-03-11T04:07:30.000Z'],
    },
    {
      expression: 'rate(2 days)',
      expected: ['2026-03-12T10:07:30.000Z', '2026-03-14T10:07:30.000Z'],
    },
  ])('$expression fires first one period after the start, then every period', ({ expression, expected }) => {
    // Act
    const times = fireTimes(
      expression,
      '2026-03-10T10:07:30.000Z',
      expected.length,
      '2026-03-10T10:07:30.000Z',
    );

    // Assess
    expect(times).toEqual(expected);
  });

  it('keeps to the periods counted from the anchor when asked from any later time', () => {
    // Prepare
    const schedule = parseScheduleExpression('rate(15 minutes)');
    const anchor = new Date('2026-03-10T10:00:00.000Z');

    // Act
    const fromBetween = nextFireTime(schedule, new Date('2026-03-10T11:20:00.000Z'), anchor);
    const fromAFireTime = nextFireTime(schedule, new Date('2026-03-10T11:30:00.000Z'), anchor);

    // Assess
    expect(fromBetween?.toISOString()).toBe('2026-03-10T11:30:00.000Z');
    expect(fromAFireTime?.toISOString()).toBe('2026-03-10T11:45:00.000Z');
  });

  it('counts from the given time when there is no anchor', () => {
    // Prepare
    const schedule = parseScheduleExpression('rate(1 hour)');

    // Act
    const next = nextFireTime(schedule, new Date('2026-03-10T10:07:30.000Z'));

    // Assess
    expect(next?.toISOString()).toBe('2026-03-10T11:07:30.000Z');
  });

  it('parses the period', () => {
    // Act
    const schedule = parseScheduleExpression('rate(3 days)');

    // Assess
    expect(schedule).toEqual({ kind: 'rate', expression: 'rate(3 days)', periodMs: 3 * 24 * 60 * 60 * 1000 });
  });
});

describe('invalid schedule expressions', () => {
  it.each([
    [
      'garbage',
      'every day',
      'expected rate(value unit) or cron(minutes hours day-of-month month day-of-week year)',
    ],
    ['empty', '', 'expected rate(value unit) or cron(minutes hours day-of-month month day-of-week year)'],
    ['unknown function', 'at(2026-01-01T00:00:00)', 'expected rate(value unit) or cron('],
    ['plural unit for 1', 'rate(1 minutes)', 'the unit must be singular when the value is 1: rate(1 minute)'],
    ['singular unit for 5', 'rate(5 hour)', 'the unit must be plural when the value is 5: rate(5 hours)'],
    ['zero rate', 'rate(0 minutes)', 'the rate value must be a positive integer, got "0"'],
    ['negative rate', 'rate(-5 minutes)', 'the rate value must be a positive integer, got "-5"'],
    ['fractional rate', 'rate(1.5 hours)', 'the rate value must be a positive integer, got "1.5"'],
    ['seconds', 'rate(30 seconds)', 'unknown rate unit "seconds"; use minute(s), hour(s) or day(s)'],
    ['rate without unit', 'rate(5)', 'rate() needs a value and a unit, like rate(5 minutes)'],
    [
      'five fields',
      'cron(0 8 * * ?)',
      'cron() needs 6 fields, cron(minutes hours day-of-month month day-of-week year), got 5',
    ],
    [
      'seven fields',
      'cron(0 0 8 * * ? *)',
      'cron() needs 6 fields, cron(minutes hours day-of-month month day-of-week year), got 7',
    ],
    [
      'neither day field is ?',
      'cron(0 8 * * * *)',
      'one of day-of-month or day-of-week must be "?" (EventBridge does not allow both)',
    ],
    [
      'both day fields are ?',
      'cron(0 8 ? * ? *)',
      'day-of-month and day-of-week cannot both be "?"; set exactly one of them to "?"',
    ],
    ['minute 60', 'cron(60 8 * * ? *)', 'minutes value 60 is out of range 0-59'],
    ['hour 24', 'cron(0 24 * * ? *)', 'hours value 24 is out of range 0-23'],
    ['day 0', 'cron(0 8 0 * ? *)', 'day-of-month value 0 is out of range 1-31'],
    ['day 32', 'cron(0 8 32 * ? *)', 'day-of-month value 32 is out of range 1-31'],
    ['month 13', 'cron(0 8 1 13 ? *)', 'month value 13 is out of range 1-12'],
    ['weekday 0', 'cron(0 8 ? * 0 *)', 'day-of-week value 0 is out of range 1-7'],
    ['weekday 8', 'cron(0 8 ? * 1-8 *)', 'day-of-week value 8 is out of range 1-7'],
    ['year 1969', 'cron(0 8 * * ? 1969)', 'year value 1969 is out of range 1970-2199'],
    ['year 2200', 'cron(0 8 * * ? 2200)', 'year value 2200 is out of range 1970-2199'],
    [
      'unknown month name',
      'cron(0 8 1 JANUARY ? *)',
      'month value "JANUARY" is not a number or one of JAN, FEB',
    ],
    ['name in a numeric field', 'cron(0 MON * * ? *)', 'hours value "MON" is not a number'],
    ['backwards range', 'cron(0 8 ? * FRI-MON *)', 'day-of-week range "FRI-MON" runs backwards'],
    ['zero step', 'cron(0/0 * * * ? *)', 'minutes step "0" must be a positive integer'],
    ['empty list item', 'cron(0,,30 * * * ? *)', 'minutes value "" is not a number'],
    [
      '? outside the day fields',
      'cron(? 8 * * ? *)',
      '"?" is only allowed alone in day-of-month or day-of-week',
    ],
    ['L', 'cron(0 8 L * ? *)', 'day-of-month "L": "L", "W" and "#" are not supported by the local scheduler'],
    [
      'W',
      'cron(0 8 15W * ? *)',
      'day-of-month "15W": "L", "W" and "#" are not supported by the local scheduler',
    ],
    [
      '#',
      'cron(0 8 ? * 3#2 *)',
      'day-of-week "3#2": "L", "W" and "#" are not supported by the local scheduler',
    ],
  ])('rejects %s: %s', (_name, expression, problem) => {
    // Act
    const error = errorOf(expression);

    // Assess
    expect(error.name).toBe('ScheduleExpressionError');
    expect(error.expression).toBe(expression);
    expect(error.message).toContain(`Invalid schedule expression "${expression}": ${problem}`);
  });

  it('quotes the whole message for a range error', () => {
    // Act
    const error = errorOf('cron(0 25 * * ? *)');

    // Assess
    expect(error.message).toBe(
      'Invalid schedule expression "cron(0 25 * * ? *)": hours value 25 is out of range 0-23',
    );
  });

  it('accepts every engine schedule VaultPilot ships', () => {
    // Act
    const parsed = ENGINE_LIST.map((engine) => parseScheduleExpression(engine.schedule).kind);

    // Assess
    expect(parsed).toHaveLength(ENGINE_LIST.length);
  });
});
