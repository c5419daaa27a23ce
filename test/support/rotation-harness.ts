/**
 * Real parts for rotation tests: dynalite with the shared table specs, the secret store on it
 * (in-memory keyring), the DynamoDB rotation store, an audit sink and an event bus that check
 * every event against its schema, a clock the test moves, and fault injection: a store and
 * rotators that throw ("crash") at a chosen call, either once (the error reaches the engine,
 * which records it) or for good until a restart (a process that died: nothing more is written).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbRotationStore } from '../../lambdas/adapters/aws/dynamodb-rotation-store.js';
import { DynamoDbSecretStore } from '../../lambdas/adapters/aws/dynamodb-secret-store.js';
import { FileKeyring } from '../../lambdas/adapters/local/file-keyring.js';
import { type AuditEvent, parseAuditEvent } from '../../lambdas/core/audit/audit-event.js';
import type { AuditSink } from '../../lambdas/core/audit/audit-sink.js';
import type { DomainEvent, EventPublisher } from '../../lambdas/core/events.js';
import type { Clock } from '../../lambdas/core/ports.js';
import {
  RotationEngine,
  type RotationEngineOptions,
  type RotationOutcome,
  type RotationTargets,
  type RotatorRegistry,
} from '../../lambdas/core/rotation/engine.js';
import { parseRotationPolicy, type RotationPolicy } from '../../lambdas/core/rotation/policy.js';
import type { RotationRecord } from '../../lambdas/core/rotation/rotation.js';
import type { RotationKey, RotationStore } from '../../lambdas/core/rotation/rotation-store.js';
import type { RotationTarget, Rotator } from '../../lambdas/core/rotation/rotator.js';
import { DataKeyCache } from '../../lambdas/core/secrets/data-key-cache.js';
import { EnvelopeCipher } from '../../lambdas/core/secrets/envelope.js';
import { type SecretData, SecretsService } from '../../lambdas/core/secrets/kv-service.js';
import { type LocalDynamo, ensureTables, startLocalDynamo } from '../../lambdas/local/dynamo.js';
import { parseDomainEvent } from '../../lambdas/shared/events.js';
import { localTableName, TABLE_LIST } from '../../lambdas/shared/tables.js';

export const TENANT = 't1';

/** The error every injected fault throws. */
export class InjectedCrash extends Error {
  constructor(readonly point: string) {
    super(`injected crash at ${point}`);
    this.name = 'InjectedCrash';
  }
}

export class ManualClock implements Clock {
  constructor(private time: number = Date.parse('2026-01-15T10:00:00.000Z')) {}
  now(): Date {
    return new Date(this.time);
  }
  advance(ms: number): void {
    this.time += ms;
  }
  set(iso: string): void {
    this.time = Date.parse(iso);
  }
}

/**
 * Where to crash: the `nth` call of `point` (`store.save`, `rotator.create.before`, …). `after`
 * crashes once the call has happened. `die` makes every later call throw too, until `restart()`.
 */
export interface FaultPlan {
  readonly point: string;
  readonly nth?: number;
  readonly die?: boolean;
}

export class Faults {
  private plan: FaultPlan | undefined;
  private seen = new Map<string, number>();
  dead = false;
  fired: string | undefined;
  readonly calls: string[] = [];

  arm(plan: FaultPlan): void {
    this.plan = plan;
    this.seen = new Map();
    this.fired = undefined;
  }

  restart(): void {
    this.dead = false;
    this.plan = undefined;
  }

  hit(point: string): void {
    this.calls.push(point);
    if (this.dead) throw new InjectedCrash(`${point} (process is dead)`);
    const plan = this.plan;
    if (plan === undefined || plan.point !== point) return;
    const count = (this.seen.get(point) ?? 0) + 1;
    this.seen.set(point, count);
    if (count !== (plan.nth ?? 1)) return;
    this.plan = undefined;
    this.fired = point;
    if (plan.die === true) this.dead = true;
    throw new InjectedCrash(point);
  }
}

/** A rotation store that consults `faults` before (`store.<method>`) and after (`…after`) each write. */
export function faultyStore(inner: RotationStore, faults: Faults): RotationStore {
  const wrap =
    <A extends unknown[], R>(name: string, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      faults.hit(`store.${name}`);
      const result = await call(...args);
      faults.hit(`store.${name}.after`);
      return result;
    };
  const read =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (faults.dead) throw new InjectedCrash('read (process is dead)');
      return call(...args);
    };
  return {
    create: wrap('create', (record) => inner.create(record)),
    get: read((tenant, credentialId, rotationId) => inner.get(tenant, credentialId, rotationId)),
    save: wrap('save', (record, revision) => inner.save(record, revision)),
    list: read((tenant, credentialId, page) => inner.list(tenant, credentialId, page)),
    acquireLock: wrap('acquireLock', (tenant, credentialId, rotationId, now, takeOver) =>
      inner.acquireLock(tenant, credentialId, rotationId, now, takeOver),
    ),
    releaseLock: wrap('releaseLock', (tenant, credentialId, rotationId) =>
      inner.releaseLock(tenant, credentialId, rotationId),
    ),
    lockHolder: read((tenant, credentialId) => inner.lockHolder(tenant, credentialId)),
    claimPairSlot: wrap('claimPairSlot', (tenant, pair, rotationId, now, before) =>
      inner.claimPairSlot(tenant, pair, rotationId, now, before),
    ),
    rememberIdempotencyKey: wrap('rememberIdempotencyKey', (tenant, credentialId, hash, rotationId, times) =>
      inner.rememberIdempotencyKey(tenant, credentialId, hash, rotationId, times),
    ),
    dueRetirements: read((tenant, now, limit) => inner.dueRetirements(tenant, now, limit)),
  };
}

export const ROTATOR_METHODS = ['create', 'set', 'test', 'finish', 'discard', 'restore', 'retire'] as const;

/** A rotator that consults `faults` before (`rotator.<m>.before`) and after (`rotator.<m>.after`) each call. */
export function faultyRotator<S>(inner: Rotator<S>, faults: Faults): Rotator<S> {
  const wrapped = { ...inner } as Record<string, unknown>;
  for (const method of ROTATOR_METHODS) {
    const original = inner[method] as (...args: unknown[]) => Promise<unknown>;
    wrapped[method] = async (...args: unknown[]) => {
      faults.hit(`rotator.${method}.before`);
      const result = await original.apply(inner, args);
      faults.hit(`rotator.${method}.after`);
      return result;
    };
  }
  return wrapped as unknown as Rotator<S>;
}

/** The rotator's provider steps, in the order a rotation calls them. */
export type ProviderStep = 'create' | 'set' | 'test' | 'finish';

/** A rotator that awaits `after(step)` once each provider step has returned, to observe the provider then. */
export function afterEachStep<S>(
  inner: Rotator<S>,
  after: (step: ProviderStep) => void | Promise<void>,
): Rotator<S> {
  const wrap = <K extends ProviderStep>(step: K) =>
    (async (context: never) => {
      const result = await (inner[step] as (context: never) => Promise<unknown>)(context);
      await after(step);
      return result;
    }) as Rotator<S>[K];
  return { ...inner, create: wrap('create'), set: wrap('set'), test: wrap('test'), finish: wrap('finish') };
}

export class MemoryTargets implements RotationTargets {
  readonly targets = new Map<string, RotationTarget>();
  readonly outcomes: { credentialId: string; outcome: RotationOutcome }[] = [];

  add(target: Omit<RotationTarget, 'tenant'> & { tenant?: string }): RotationTarget {
    const full: RotationTarget = { tenant: TENANT, ...target };
    this.targets.set(`${full.tenant}#${full.credentialId}`, full);
    return full;
  }

  async load(tenant: string, credentialId: string): Promise<RotationTarget | undefined> {
    return this.targets.get(`${tenant}#${credentialId}`);
  }

  async recordOutcome(tenant: string, credentialId: string, outcome: RotationOutcome): Promise<void> {
    this.outcomes.push({ credentialId, outcome });
    const target = this.targets.get(`${tenant}#${credentialId}`);
    if (target !== undefined && outcome.kind === 'succeeded' && !outcome.dryRun) {
      // As the inventory does: a learned expiry replaces the stored one, `null` clears it.
      const expiresAt = outcome.expiresAt === undefined ? target.expiresAt : (outcome.expiresAt ?? undefined);
      this.targets.set(`${tenant}#${credentialId}`, { ...target, lastRotatedAt: outcome.at, expiresAt });
    }
  }
}

export class MemoryAudit implements AuditSink {
  readonly events: AuditEvent[] = [];
  private readonly ids = new Set<string>();
  failing = false;
  async record(event: AuditEvent): Promise<void> {
    if (this.failing) throw new Error('audit log unavailable');
    const parsed = parseAuditEvent(event);
    if (this.ids.has(parsed.eventId)) return;
    this.ids.add(parsed.eventId);
    this.events.push(parsed);
  }
}

export class MemoryBus implements EventPublisher {
  readonly events: DomainEvent[] = [];
  async publish(events: readonly DomainEvent[]): Promise<void> {
    for (const event of events) this.events.push(parseDomainEvent(event));
  }
}

export interface RotationHarness {
  readonly dynamo: LocalDynamo;
  readonly client: DynamoDBDocumentClient;
  readonly secrets: SecretsService;
  readonly store: DynamoDbRotationStore;
  readonly clock: ManualClock;
  readonly targets: MemoryTargets;
  readonly audit: MemoryAudit;
  readonly bus: MemoryBus;
  readonly faults: Faults;
  engine(rotators: RotatorRegistry, options?: RotationEngineOptions & { faulty?: boolean }): RotationEngine;
  /**
   * Stores `value` at the credential's secret path and registers it as a target of TENANT (no
   * tags, never rotated; a fresh id unless given); returns its id.
   */
  addCredential(credential: NewCredential, value: SecretData): Promise<string>;
  close(): Promise<void>;
}

export interface NewCredential {
  readonly credentialId?: string;
  readonly type: string;
  readonly name: string;
  readonly secretPath: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly policy: RotationPolicy;
  readonly owner?: string;
  readonly expiresAt?: string;
}

export async function startRotationHarness(): Promise<RotationHarness> {
  const dynamo = await startLocalDynamo({ path: undefined, host: '127.0.0.1', port: 0 });
  await ensureTables(dynamo.endpoint, 'us-east-1', TABLE_LIST);
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  const clock = new ManualClock();
  const secrets = new SecretsService(
    new DynamoDbSecretStore(client, localTableName('secrets')),
    new EnvelopeCipher(new FileKeyring({}), new DataKeyCache()),
    clock,
  );
  const store = new DynamoDbRotationStore(client, localTableName('rotations'));
  const targets = new MemoryTargets();
  const audit = new MemoryAudit();
  const bus = new MemoryBus();
  const faults = new Faults();
  return {
    dynamo,
    client,
    secrets,
    store,
    clock,
    targets,
    audit,
    bus,
    faults,
    engine: (rotators, options = {}) => {
      const faulty = options.faulty !== false;
      const registry = Object.fromEntries(
        Object.entries(rotators).map(([type, rotator]) => [
          type,
          rotator === undefined || !faulty ? rotator : faultyRotator(rotator, faults),
        ]),
      );
      return new RotationEngine(
        faulty ? faultyStore(store, faults) : store,
        targets,
        registry,
        secrets,
        audit,
        bus,
        clock,
        options,
      );
    },
    addCredential: async ({ credentialId: id = credentialId(), ...credential }, value) => {
      await secrets.write('user:setup', TENANT, credential.secretPath, value);
      targets.add({
        credentialId: id,
        ...credential,
        tags: {},
        lastRotatedAt: undefined,
        createdAt: '2025-01-01T00:00:00.000Z',
      });
      return id;
    },
    close: async () => {
      client.destroy();
      await dynamo.close();
    },
  };
}

let counter = 0;
/** A fresh credential id (`cr_` and 24 hex digits). */
export function credentialId(): string {
  counter += 1;
  return `cr_${(Date.now() % 1e12).toString(16).padStart(12, '0')}${counter.toString(16).padStart(12, '0')}`;
}

export function policy(settings: Record<string, unknown> = {}, name = 'standard'): RotationPolicy {
  return parseRotationPolicy(name, settings);
}

export const SYSTEM = { actor: { kind: 'system' as const, id: 'test' }, name: 'system:test' };
export const PERSON = { actor: { kind: 'user' as const, id: 'sub-alice' }, name: 'user:alice' };

/** Starts a manual rotation of a credential of TENANT, requested by PERSON; returns its key. */
export async function startManualRotation(
  engine: RotationEngine,
  credentialId: string,
  idempotencyKey?: string,
): Promise<RotationKey> {
  const started = await engine.start({
    tenant: TENANT,
    credentialId,
    trigger: 'manual',
    requestedBy: PERSON,
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
  });
  if (started.status === 'skipped') throw new Error('skipped');
  return { tenant: TENANT, credentialId, rotationId: started.record.rotationId };
}

/** Starts a manual rotation (as `startManualRotation`) and runs it; returns its record. */
export async function runManualRotation(
  engine: RotationEngine,
  credentialId: string,
): Promise<RotationRecord> {
  return (await engine.run(await startManualRotation(engine, credentialId))).record;
}

/** The fault points of a clean run's calls, numbered per point (`store.save#3`), in call order. */
export function crashPoints(calls: readonly string[]): string[] {
  const counts = new Map<string, number>();
  return calls.map((call) => {
    const count = (counts.get(call) ?? 0) + 1;
    counts.set(call, count);
    return `${call}#${count}`;
  });
}

/**
 * The crash-at-every-checkpoint sweep the rotator suites share: for each point of `points`,
 * twice — a crash the engine sees once, and a process that dies there (every later call fails
 * until the restart, then the lease runs out) — a fresh fixture from `prepare`, a first attempt
 * that must crash, and a retry whose record `verify` checks. `attempt` starts or resumes the
 * rotation with the (fault-injecting) engine it is given.
 */
export async function sweepCrashes<F>(
  h: RotationHarness,
  points: readonly string[],
  steps: {
    readonly engine: () => RotationEngine;
    readonly prepare: () => Promise<F>;
    readonly attempt: (engine: RotationEngine, fixture: F, retry: boolean) => Promise<RotationRecord>;
    readonly verify: (record: RotationRecord, fixture: F, point: string) => Promise<void>;
    /** Checks made right after the crash, before the retry (e.g. the old credential still works). */
    readonly afterCrash?: (fixture: F, point: string) => void | Promise<void>;
  },
): Promise<void> {
  for (const point of points) {
    for (const die of [false, true]) {
      const [name, nth] = point.split('#') as [string, string];
      const fixture = await steps.prepare();
      h.faults.arm({ point: name, nth: Number(nth), die });
      let crashed = false;
      try {
        await steps.attempt(steps.engine(), fixture, false);
      } catch (error: unknown) {
        if (!(error instanceof InjectedCrash)) throw error;
        crashed = true;
      }
      h.faults.restart();
      if (!crashed) throw new Error(`no crash at ${point}`);
      await steps.afterCrash?.(fixture, point);
      if (die) h.clock.advance(16 * 60_000);
      await steps.verify(
        await steps.attempt(steps.engine(), fixture, true),
        fixture,
        `${point} (die: ${die})`,
      );
    }
  }
}
