import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalStateError } from '../../lambdas/local/local-state-error.js';
import { ScheduleExpressionError } from '../../lambdas/local/schedule-expression.js';
import {
  LocalScheduler,
  type ScheduledJob,
  type SchedulerClock,
  type SchedulerLog,
} from '../../lambdas/local/scheduler.js';
import { ScheduledEventSchema } from '../../lambdas/shared/engine-handler.js';
import type { ScheduledEvent } from '../../lambdas/shared/engines.js';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface LogLine {
  readonly level: 'info' | 'error';
  readonly message: string;
  readonly extra: Record<string, unknown> | undefined;
}

function recordingLog(): SchedulerLog & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (message, extra) => lines.push({ level: 'info', message, extra }),
    error: (message, extra) => lines.push({ level: 'error', message, extra }),
  };
}

/** A job that records each event it receives and runs `body` for it. */
function recordingJob(
  id: string,
  schedule: string,
  body: (event: ScheduledEvent) => Promise<void> = async () => undefined,
): ScheduledJob & { events: ScheduledEvent[] } {
  const events: ScheduledEvent[] = [];
  return {
    id,
    schedule,
    events,
    fire: (event) => {
      events.push(event);
      return body(event);
    },
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

function scheduler(jobs: ScheduledJob[], log = recordingLog(), clock?: SchedulerClock): LocalScheduler {
  return new LocalScheduler({ jobs, region: REGION, account: ACCOUNT, logger: log, ...(clock && { clock }) });
}

const started: LocalScheduler[] = [];
function startScheduler(...args: Parameters<typeof scheduler>): LocalScheduler {
  const instance = scheduler(...args);
  instance.start();
  started.push(instance);
  return instance;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((instance) => instance.stop()));
  vi.useRealTimers();
});

describe('LocalScheduler firing', () => {
  it('fires a daily cron at 08:00 UTC with the EventBridge scheduled-event payload', async () => {
    // Prepare
    vi.setSystemTime(new Date('2026-11-22T07:58:30.000Z'));
    const job = { ...recordingJob('expiryCheck', 'cron(0 8 * * ? *)'), ruleName: 'vaultpilot-expiry-check' };
    startScheduler([job]);

    // Act
    await vi.advanceTimersByTimeAsync(89_999);
    const firedBeforeEight = job.events.length;
    await vi.advanceTimersByTimeAsync(1);

    // Assess
    expect(firedBeforeEight).toBe(0);
    expect(job.events).toEqual([
      {
        version: '0',
        id: expect.stringMatching(UUID),
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: ACCOUNT,
        time: '2026-11-22T08:00:00Z',
        region: REGION,
        resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/vaultpilot-expiry-check`],
        detail: {},
      },
    ]);
    expect(ScheduledEventSchema.parse(job.events[0])).toEqual(job.events[0]);
  });

  it('re-arms after each fire, with a fresh event id and the scheduled time each day', async () => {
    // Prepare
    vi.setSystemTime(new Date('2026-11-22T09:00:00.000Z'));
    const job = recordingJob('expiryCheck', 'cron(0 8 * * ? *)');
    startScheduler([job]);

    // Act
    await vi.advanceTimersByTimeAsync(3 * 24 * 60 * 60 * 1000);

    // Assess
    expect(job.events.map((event) => event.time)).toEqual([
      '2026-11-23T08:00:00Z',
      '2026-11-24T08:00:00Z',
      '2026-11-25T08:00:00Z',
    ]);
    expect(new Set(job.events.map((event) => event.id)).size).toBe(3);
    expect(job.events[0]?.resources).toEqual([`arn:aws:events:${REGION}:${ACCOUNT}:rule/expiryCheck`]);
  });

  it('fires rate() jobs one period after start and every period after, stamped to the second', async () => {
    // Prepare
    vi.setSystemTime(new Date('2026-03-10T10:07:30.250Z'));
    const job = recordingJob('rotationScheduler', 'rate(15 minutes)');
    startScheduler([job]);

    // Act
    await vi.advanceTimersByTimeAsync(45 * 60 * 1000);

    // Assess
    expect(job.events.map((event) => event.time)).toEqual([
      '2026-03-10T10:22:30Z',
      '2026-03-10T10:37:30Z',
      '2026-03-10T10:52:30Z',
    ]);
  });

  it('waits beyond the 2^31-1 ms setTimeout limit without firing early', async () => {
    // Prepare
    vi.setSystemTime(new Date('2026-01-01T00:00:00.000Z'));
    const job = recordingJob('newYear2030', 'cron(0 0 1 1 ? 2030)');
    startScheduler([job]);
    const untilFire = Date.parse('2030-01-01T00:00:00.000Z') - Date.now();

    // Act
    await vi.advanceTimersByTimeAsync(untilFire - 1);
    const firedEarly = job.events.length;
    await vi.advanceTimersByTimeAsync(1);

    // Assess
    expect(firedEarly).toBe(0);
    expect(job.events.map((event) => event.time)).toEqual(['2030-01-01T00:00:00Z']);
  });

  it('reports each job’s next fire time, before and after start', async () => {
    // Prepare
    vi.setSystemTime(new Date('2026-11-22T07:00:00.000Z'));
    const instance = scheduler([
      recordingJob('expiryCheck', 'cron(0 8 * * ? *)'),
      recordingJob('auditDigest', 'rate(1 hour)'),
      recordingJob('over', 'cron(0 0 1 1 ? 2020)'),
    ]);
    const beforeStart = instance.nextFireTimes();
    instance.start();
    started.push(instance);

    // Act
    await vi.advanceTimersByTimeAsync(60 * 60 * 1000);
    const afterFirstHour = instance.nextFireTimes();

    // Assess
    expect(beforeStart).toEqual({
      expiryCheck: new Date('2026-11-22T08:00:00.000Z'),
      auditDigest: new Date('2026-11-22T08:00:00.000Z'),
    });
    expect(afterFirstHour).toEqual({
      expiryCheck: new Date('2026-11-23T08:00:00.000Z'),
      auditDigest: new Date('2026-11-22T09:00:00.000Z'),
    });
  });

  it('does not keep the process alive: every timer it arms is unref()ed', async () => {
    // Prepare
    vi.setSystemTime(new Date('2026-01-01T00:00:00.000Z'));
    const timers: { hasRef(): boolean }[] = [];
    const clock: SchedulerClock = {
      now: () => Date.now(),
      setTimeout: (callback, delayMs) => {
        const timer = setTimeout(callback, delayMs);
        timers.push(timer);
        return timer;
      },
      clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
    };
    startScheduler(
      [recordingJob('a', 'rate(1 minute)'), recordingJob('b', 'cron(0 0 1 1 ? 2030)')],
      recordingLog(),
      clock,
    );

    // Act
    await vi.advanceTimersByTimeAsync(3 * 60 * 1000);

    // Assess
    expect(timers.length).toBeGreaterThanOrEqual(5);
    expect(timers.filter((timer) => timer.hasRef())).toEqual([]);
  });
});

describe('LocalScheduler resilience', () => {
  it('skips a tick while the previous run of the same job is still in progress, and logs it', async () => {
    // Prepare
    vi.setSystemTime(new Date('2026-03-10T10:00:00.000Z'));
    const slow = deferred();
    const log = recordingLog();
    let calls = 0;
    const job = recordingJob('discovery', 'rate(1 minute)', () =>
      ++calls === 1 ? slow.promise : Promise.resolve(),
    );
    startScheduler([job], log);

    // Act
    await vi.advanceTimersByTimeAsync(2 * 60 * 1000);
    const callsWhileSlow = job.events.length;
    slow.resolve();
    await vi.advanceTimersByTimeAsync(60 * 1000);

    // Assess
    expect(callsWhileSlow).toBe(1);
    expect(job.events.map((event) => event.time)).toEqual(['2026-03-10T10:01:00Z', '2026-03-10T10:03:00Z']);
    expect(log.lines).toContainEqual({
      level: 'info',
      message: 'Scheduled job skipped: its previous run is still in progress',
      extra: { job: 'discovery', time: '2026-03-10T10:02:00Z' },
    });
  });

  it('logs a failing job and keeps firing it and the other jobs', async () => {
    // Prepare
    vi.setSystemTime(new Date('2026-03-10T10:00:00.000Z'));
    const log = recordingLog();
    const rejecting = recordingJob('rejecting', 'rate(1 minute)', async () => {
      throw new TypeError('table missing');
    });
    // Throws before returning a promise, which must not leave the job marked as running.
    const throwing: ScheduledJob = {
      id: 'throwing',
      schedule: 'rate(1 minute)',
      fire: () => {
        throw new Error('boom');
      },
    };
    const healthy = recordingJob('healthy', 'rate(1 minute)');
    startScheduler([rejecting, throwing, healthy], log);

    // Act
    await vi.advanceTimersByTimeAsync(2 * 60 * 1000);

    // Assess
    expect(rejecting.events).toHaveLength(2);
    expect(healthy.events).toHaveLength(2);
    const errors = log.lines.filter((line) => line.level === 'error');
    expect(errors).toEqual([
      {
        level: 'error',
        message: 'Scheduled job failed',
        extra: { job: 'rejecting', time: '2026-03-10T10:01:00Z', error: 'TypeError: table missing' },
      },
      {
        level: 'error',
        message: 'Scheduled job failed',
        extra: { job: 'throwing', time: '2026-03-10T10:01:00Z', error: 'Error: boom' },
      },
      {
        level: 'error',
        message: 'Scheduled job failed',
        extra: { job: 'rejecting', time: '2026-03-10T10:02:00Z', error: 'TypeError: table missing' },
      },
      {
        level: 'error',
        message: 'Scheduled job failed',
        extra: { job: 'throwing', time: '2026-03-10T10:02:00Z', error: 'Error: boom' },
      },
    ]);
    expect(log.lines.some((line) => line.message.startsWith('Scheduled job skipped'))).toBe(false);
  });

  it('stop() clears the timers and resolves only after the running job has finished', async () => {
    // Prepare
    vi.setSystemTime(new Date('2026-03-10T10:00:00.000Z'));
    const slow = deferred();
    let finished = false;
    const job = recordingJob('rotationScheduler', 'rate(1 minute)', async () => {
      await slow.promise;
      finished = true;
    });
    const instance = startScheduler([job]);
    await vi.advanceTimersByTimeAsync(60 * 1000);

    // Act
    let stopped = false;
    const stopping = instance.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(5 * 60 * 1000);
    const stoppedWhileRunning = stopped;
    slow.resolve();
    await stopping;

    // Assess
    expect(stoppedWhileRunning).toBe(false);
    expect(finished).toBe(true);
    expect(job.events).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
    expect(instance.nextFireTimes()).toEqual({});
  });

  it('after the machine slept through several periods, fires once and re-arms in the future', async () => {
    // Prepare
    let now = Date.parse('2026-03-10T10:00:00.000Z');
    const due: (() => void)[] = [];
    const clock: SchedulerClock = {
      now: () => now,
      setTimeout: (callback) => due.push(callback),
      clearTimeout: () => undefined,
    };
    const job = recordingJob('rotationScheduler', 'rate(15 minutes)');
    const instance = startScheduler([job], recordingLog(), clock);
    now = Date.parse('2026-03-10T13:00:30.000Z');

    // Act
    due.shift()?.();
    await vi.advanceTimersByTimeAsync(0);

    // Assess
    expect(job.events.map((event) => event.time)).toEqual(['2026-03-10T10:15:00Z']);
    expect(due).toHaveLength(1);
    expect(instance.nextFireTimes()).toEqual({ rotationScheduler: new Date('2026-03-10T13:15:00.000Z') });
  });

  it('rejects an invalid schedule when constructed, naming the expression', () => {
    // Act
    const construct = (): LocalScheduler => scheduler([recordingJob('bad', 'rate(1 minutes)')]);

    // Assess
    expect(construct).toThrow(ScheduleExpressionError);
    expect(construct).toThrow('Invalid schedule expression "rate(1 minutes)"');
  });
});

describe('LocalScheduler.fireNow', () => {
  it('runs a job at once with the current time and reports the outcome', async () => {
    // Prepare
    vi.setSystemTime(new Date('2026-03-10T10:00:07.654Z'));
    const job = recordingJob('auditDigest', 'rate(1 hour)');
    const failing = recordingJob('failing', 'rate(1 hour)', () => Promise.reject(new Error('nope')));
    const instance = startScheduler([job, failing]);

    // Act
    const outcome = await instance.fireNow('auditDigest');
    const failure = await instance.fireNow('failing');

    // Assess
    expect(outcome).toBe('succeeded');
    expect(failure).toBe('failed');
    expect(job.events).toHaveLength(1);
    expect(job.events[0]?.time).toBe('2026-03-10T10:00:07Z');
    expect(instance.nextFireTimes().auditDigest).toEqual(new Date('2026-03-10T11:00:07.654Z'));
  });

  it('skips when that job is already running, works before start(), and refuses unknown jobs', async () => {
    // Prepare
    vi.setSystemTime(new Date('2026-03-10T10:00:00.000Z'));
    const slow = deferred();
    const job = recordingJob('discovery', 'rate(6 hours)', () => slow.promise);
    const instance = scheduler([job]);
    const first = instance.fireNow('discovery');

    // Act
    const second = await instance.fireNow('discovery');
    slow.resolve();
    const firstOutcome = await first;

    // Assess
    expect(second).toBe('skipped');
    expect(firstOutcome).toBe('succeeded');
    expect(job.events).toHaveLength(1);
    await expect(instance.fireNow('nope')).rejects.toThrow(
      new LocalStateError('No scheduled job "nope"; known jobs: discovery'),
    );
  });
});
