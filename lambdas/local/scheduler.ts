/**
 * The local stand-in for EventBridge schedules: fires each job on its schedule expression with
 * the same scheduled-event payload an EventBridge rule delivers, in-process.
 */
import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from '../shared/engines.js';
import { LocalStateError } from './local-state-error.js';
import { nextFireTime, parseScheduleExpression, type Schedule } from './schedule-expression.js';

/** setTimeout cannot wait longer than 2^31-1 ms (it fires at once instead), so longer waits are chained. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export interface ScheduledJob {
  readonly id: string;
  /** EventBridge schedule expression, `rate(...)` or six-field `cron(...)`, in UTC. */
  readonly schedule: string;
  /** The rule name in the event's `resources` ARN; defaults to `id`. */
  readonly ruleName?: string;
  fire(event: ScheduledEvent): Promise<void>;
}

/** Time and timers, injectable so tests can drive them; the default uses the global ones. */
export interface SchedulerClock {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(timer: unknown): void;
}

export interface SchedulerLog {
  info(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

export interface LocalSchedulerOptions {
  readonly jobs: readonly ScheduledJob[];
  readonly region: string;
  readonly account: string;
  readonly logger: SchedulerLog;
  readonly clock?: SchedulerClock;
}

export type JobRunOutcome = 'succeeded' | 'failed' | 'skipped';

// Looked up at call time, not captured, so vitest fake timers installed later still apply.
const systemClock: SchedulerClock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (timer) => clearTimeout(timer as Parameters<typeof clearTimeout>[0]),
};

interface JobState {
  readonly job: ScheduledJob;
  readonly schedule: Schedule;
  /** When the local "rule" was created: `rate()` schedules count their periods from here. */
  anchor: Date | undefined;
  nextAt: Date | undefined;
  timer: unknown;
  running: Promise<JobRunOutcome> | undefined;
}

export class LocalScheduler {
  readonly #jobs = new Map<string, JobState>();
  readonly #region: string;
  readonly #account: string;
  readonly #log: SchedulerLog;
  readonly #clock: SchedulerClock;
  #state: 'new' | 'started' | 'stopped' = 'new';

  /** Throws `ScheduleExpressionError` for an invalid schedule, before anything is armed. */
  constructor(options: LocalSchedulerOptions) {
    this.#region = options.region;
    this.#account = options.account;
    this.#log = options.logger;
    this.#clock = options.clock ?? systemClock;
    for (const job of options.jobs) {
      if (this.#jobs.has(job.id)) throw new Error(`Scheduled job "${job.id}" is defined twice`);
      const schedule = parseScheduleExpression(job.schedule);
      this.#jobs.set(job.id, {
        job,
        schedule,
        anchor: undefined,
        nextAt: undefined,
        timer: undefined,
        running: undefined,
      });
    }
  }

  /** Arms every job at its next fire time. Calling it again while started does nothing. */
  start(): void {
    if (this.#state === 'started') return;
    if (this.#state === 'stopped')
      throw new LocalStateError('The scheduler was stopped and cannot be restarted');
    this.#state = 'started';
    const now = new Date(this.#clock.now());
    for (const state of this.#jobs.values()) {
      state.anchor = now;
      state.nextAt = nextFireTime(state.schedule, now, now);
      this.#arm(state);
    }
  }

  /** Clears all timers and resolves once the jobs still running have finished. */
  async stop(): Promise<void> {
    this.#state = 'stopped';
    const running: Promise<JobRunOutcome>[] = [];
    for (const state of this.#jobs.values()) {
      if (state.timer !== undefined) this.#clock.clearTimeout(state.timer);
      state.timer = undefined;
      state.nextAt = undefined;
      if (state.running !== undefined) running.push(state.running);
    }
    await Promise.all(running);
  }

  /**
   * Runs one job now, with the current time in its event, and resolves with how the run ended
   * (a failure is logged, not thrown). Skipped when that job is already running.
   */
  async fireNow(id: string): Promise<JobRunOutcome> {
    const state = this.#jobs.get(id);
    if (state === undefined) {
      throw new LocalStateError(`No scheduled job "${id}"; known jobs: ${[...this.#jobs.keys()].join(', ')}`);
    }
    if (this.#state === 'stopped') throw new LocalStateError(`The scheduler is stopped; "${id}" was not run`);
    return this.#run(state, new Date(this.#clock.now()));
  }

  /**
   * The next fire time of each job that will fire again: the armed times once started, else the
   * times a start now would arm.
   */
  nextFireTimes(): Record<string, Date> {
    const times: Record<string, Date> = {};
    const now = new Date(this.#clock.now());
    for (const [id, state] of this.#jobs) {
      const next = this.#state === 'new' ? nextFireTime(state.schedule, now, now) : state.nextAt;
      if (next !== undefined) times[id] = next;
    }
    return times;
  }

  #arm(state: JobState): void {
    const nextAt = state.nextAt;
    if (nextAt === undefined) {
      this.#log.info('Scheduled job will not fire again', {
        job: state.job.id,
        schedule: state.job.schedule,
      });
      return;
    }
    const delay = nextAt.getTime() - this.#clock.now();
    const onTimer =
      delay > MAX_TIMER_DELAY_MS ? () => this.#arm(state) : () => this.#onScheduledTime(state, nextAt);
    state.timer = this.#clock.setTimeout(onTimer, Math.max(0, Math.min(delay, MAX_TIMER_DELAY_MS)));
    // The scheduler must never be what keeps the process alive; the server decides that.
    (state.timer as { unref?: () => unknown } | undefined)?.unref?.();
  }

  #onScheduledTime(state: JobState, scheduledAt: Date): void {
    state.timer = undefined;
    if (this.#state !== 'started') return;
    void this.#run(state, scheduledAt);
    // After a sleep of the machine, fire once for the missed time, not once per missed period.
    const after = new Date(Math.max(scheduledAt.getTime(), this.#clock.now()));
    state.nextAt = nextFireTime(state.schedule, after, state.anchor);
    this.#arm(state);
  }

  #run(state: JobState, time: Date): Promise<JobRunOutcome> {
    const { job } = state;
    const event = this.#event(job, time);
    if (state.running !== undefined) {
      this.#log.info('Scheduled job skipped: its previous run is still in progress', {
        job: job.id,
        time: event.time,
      });
      return Promise.resolve('skipped');
    }
    this.#log.info('Scheduled job started', { job: job.id, time: event.time, eventId: event.id });
    const run = this.#execute(job, event);
    state.running = run;
    // A reaction, so it runs after the assignment above even when the job fails synchronously.
    void run.finally(() => {
      state.running = undefined;
    });
    return run;
  }

  /** Never rejects: a failing job is logged and the scheduler carries on. */
  async #execute(job: ScheduledJob, event: ScheduledEvent): Promise<JobRunOutcome> {
    const startedAt = this.#clock.now();
    try {
      await job.fire(event);
      this.#log.info('Scheduled job finished', { job: job.id, durationMs: this.#clock.now() - startedAt });
      return 'succeeded';
    } catch (error: unknown) {
      this.#log.error('Scheduled job failed', {
        job: job.id,
        time: event.time,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      return 'failed';
    }
  }

  #event(job: ScheduledJob, time: Date): ScheduledEvent {
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: this.#account,
      // EventBridge stamps scheduled events with whole seconds: 2026-11-22T08:00:00Z.
      time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.#region,
      resources: [`arn:aws:events:${this.#region}:${this.#account}:rule/${job.ruleName ?? job.id}`],
      detail: {},
    };
  }
}
