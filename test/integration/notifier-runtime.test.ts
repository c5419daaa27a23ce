/**
 * The notifier as `npm start` runs it: the local runtime's in-process bus delivers events to the
 * notifier function (lambdas/functions/notifier), which sends to a real SMTP server and a local
 * HTTP receiver standing in for Slack and a webhook. The expiry engine finds credentials expiring
 * in 1, 7 and 30 days and an IAM key past its maximum age through its index; a second check sends
 * nothing again; a redelivered event sends nothing twice; a rotation failure repeating with a
 * different message is one alert; a Slack channel gone for good is reported on the others.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCredentialStore } from '../../lambdas/adapters/aws/dynamodb-credential-store.js';
import {
  DynamoDbChannelStore,
  DynamoDbDeliveryLog,
} from '../../lambdas/adapters/aws/dynamodb-notify-stores.js';
import { DynamoDbSecretStore } from '../../lambdas/adapters/aws/dynamodb-secret-store.js';
import { localEventBus } from '../../lambdas/adapters/local/in-process-event-bus.js';
import { type Channel, parseChannelInput, splitChannelInput } from '../../lambdas/core/notify/channel.js';
import { StoredChannelSecrets } from '../../lambdas/core/notify/channel-secrets.js';
import { systemClock } from '../../lambdas/core/ports.js';
import { DataKeyCache } from '../../lambdas/core/secrets/data-key-cache.js';
import { EnvelopeCipher } from '../../lambdas/core/secrets/envelope.js';
import { SecretsService } from '../../lambdas/core/secrets/kv-service.js';
import { lambdaContext } from '../../lambdas/local/lambda-context.js';
import { ENGINE_HANDLERS, NOTIFIER } from '../../lambdas/local/handler-registry.js';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { keyring } from '../../lambdas/platform/local.js';
import { parseFunctionConfig, readEnvironment } from '../../lambdas/shared/config.js';
import { localTableName } from '../../lambdas/shared/tables.js';
import { credential } from '../support/credentials.js';
import { apiCall, localDocumentClient, signInLocal, startInMemoryRuntime } from '../support/local-api.js';
import {
  type HttpReceiver,
  type SmtpReceiver,
  startHttpReceiver,
  startSmtpReceiver,
} from '../support/notify-receivers.js';

const TENANT = 'default';
const ADMIN_PASSWORD = 'Notifier-runtime-test-1!';
const DAY = 86_400_000;
const SIGNING_KEY = 'whsec-runtime-0123456789abcdef0123456789';

let runtime: LocalRuntime;
let smtp: SmtpReceiver;
let http: HttpReceiver;
let documents: DynamoDBDocumentClient;
let channels: DynamoDbChannelStore;
let previousSmtpUrl: string | undefined;

const id = (n: number): string => `cr_${n.toString(16).padStart(24, '0')}`;

async function until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > ms) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function addChannel(
  channelId: string,
  raw: Record<string, unknown>,
  tenant: string = TENANT,
): Promise<void> {
  const input = parseChannelInput(raw, { allowLoopbackHttp: true });
  const split = splitChannelInput(input);
  const channel: Channel = {
    id: channelId,
    tenant,
    name: String(raw.name),
    settings: split.settings,
    secretHint: split.secretHint,
    hasSecret: split.secret !== undefined,
    digest: input.digest,
    state: 'active',
    failure: undefined,
    revision: 1,
  };
  if (split.secret !== undefined) {
    // The runtime's own in-memory keyring (one per process), so the notifier opens what is sealed here.
    const secrets = new StoredChannelSecrets(
      new SecretsService(
        new DynamoDbSecretStore(documents, localTableName('secrets')),
        new EnvelopeCipher(keyring(parseFunctionConfig(readEnvironment())), new DataKeyCache()),
        systemClock,
      ),
    );
    await secrets.write(tenant, channelId, split.secret);
  }
  await channels.put(channel, undefined);
}

async function runExpiryCheck(at: Date): Promise<Record<string, unknown>> {
  const handler = await ENGINE_HANDLERS.expiryCheck();
  return handler(
    {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: at.toISOString(),
      region: 'us-east-1',
      resources: [],
      detail: {},
    },
    lambdaContext('vaultpilot-local-expiry-check', 120, 'us-east-1'),
  );
}

const hookEvents = (): string[] =>
  http.requests.filter((r) => r.path === '/hook').map((r) => String(r.headers['x-vaultpilot-event-id']));

beforeAll(async () => {
  smtp = await startSmtpReceiver();
  http = await startHttpReceiver();
  http.on('/hook', () => ({ status: 204 }));
  previousSmtpUrl = process.env.VAULTPILOT_SMTP_URL;
  process.env.VAULTPILOT_SMTP_URL = smtp.url;
  runtime = await startInMemoryRuntime({
    adminPassword: ADMIN_PASSWORD,
  });
  documents = localDocumentClient(runtime);
  channels = new DynamoDbChannelStore(documents, localTableName('settings'));
  await addChannel('mail', { kind: 'email', name: 'Ops mail', recipients: ['ops@example.com'] });
  await addChannel('hook', {
    kind: 'webhook',
    name: 'Pager',
    url: `${http.origin}/hook`,
    signingKey: SIGNING_KEY,
  });
}, 60_000);

afterAll(async () => {
  await runtime.stop();
  if (previousSmtpUrl === undefined) delete process.env.VAULTPILOT_SMTP_URL;
  else process.env.VAULTPILOT_SMTP_URL = previousSmtpUrl;
  documents.destroy();
  await smtp.close();
  await http.close();
});

describe('notifier in the local runtime', () => {
  it('warns about credentials expiring in 1, 7 and 30 days and an over-age IAM key, once, through the index', async () => {
    // Prepare
    const now = new Date();
    const store = new DynamoDbCredentialStore(documents, localTableName('credentials'));
    const inDays = (days: number): string => new Date(now.getTime() + days * DAY - 3_600_000).toISOString();
    await store.create(
      credential({
        id: id(1),
        tenant: TENANT,
        name: 'stripe key',
        owner: 'pay@example.com',
        expiresAt: inDays(1),
      }),
    );
    await store.create(credential({ id: id(2), tenant: TENANT, name: 'github token', expiresAt: inDays(7) }));
    await store.create(credential({ id: id(3), tenant: TENANT, name: 'datadog key', expiresAt: inDays(30) }));
    await store.create(credential({ id: id(4), tenant: TENANT, name: 'far away', expiresAt: inDays(120) }));
    await store.create(
      credential({
        id: id(5),
        tenant: TENANT,
        name: 'AKIAEXAMPLE of deploy-bot',
        type: 'aws-iam-access-key',
        source: 'discovered',
        createdAt: new Date(now.getTime() - 120 * DAY).toISOString(),
        facts: { keyStatus: 'Active' },
      }),
    );

    // Act
    const first = await runExpiryCheck(now);
    // 4 events: mail and webhook each, plus the owner's mail for the stripe key.
    await until(() => smtp.mails.length >= 5 && hookEvents().length >= 4, 'the expiry alerts');
    const second = await runExpiryCheck(new Date(now.getTime() + 60_000));
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    // Assess
    expect(first).toMatchObject({ implemented: true, candidates: 5, expiring: 3, expired: 0, overdue: 1 });
    expect(second).toMatchObject({ expiring: 3, overdue: 1 });
    expect(hookEvents()).toHaveLength(4);
    const subjects = smtp.mails.map((mail) => /^Subject: (.+)$/m.exec(mail.raw)?.[1] ?? '').sort();
    expect(subjects).toHaveLength(5);
    expect(subjects.join('\n')).toContain('stripe key');
    expect(subjects.join('\n')).toContain('github token');
    expect(subjects.join('\n')).toContain('datadog key');
    expect(subjects.join('\n')).toContain('AKIAEXAMPLE of deploy-bot');
    expect(subjects.join('\n')).not.toContain('far away');
    expect(smtp.mails.filter((mail) => mail.to.includes('pay@example.com'))).toHaveLength(1);
  }, 60_000);

  it('sends a redelivered event nothing twice, and one rotation failure repeating with another message once', async () => {
    // Prepare
    smtp.mails.length = 0;
    http.requests.length = 0;
    const detail = {
      tenant: TENANT,
      time: new Date().toISOString(),
      credentialId: id(1),
      credentialType: 'postgres-password',
      rotationId: `rot_${'a'.repeat(24)}_${'0'.repeat(17)}`,
      trigger: 'schedule',
      dryRun: false,
      state: 'failed',
      step: 'test',
      rolledBack: true,
      reason: 'test: UpstreamUnavailable: connection refused after 3012 ms',
    };
    const busEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'rotation.failed',
      source: 'vaultpilot',
      account: '000000000000',
      time: detail.time,
      region: 'us-east-1',
      resources: [],
      detail,
    };
    const notifier = await NOTIFIER();
    const context = lambdaContext('vaultpilot-local-notifier', 60, 'us-east-1');

    // Act
    await notifier(busEvent, context);
    await notifier(busEvent, context);
    const { tenant: _tenant, time, ...rest } = detail;
    await localEventBus.publish([
      {
        type: 'rotation.failed',
        tenant: TENANT,
        time,
        detail: { ...rest, reason: 'test: UpstreamUnavailable: connection refused after 2999 ms' },
      },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    // Assess: mail, webhook and the owner, once each.
    expect(hookEvents()).toEqual([busEvent.id]);
    expect(smtp.mails.map((mail) => mail.to[0]).sort()).toEqual(['ops@example.com', 'pay@example.com']);
    const log = await new DynamoDbDeliveryLog(documents, localTableName('settings')).list(TENANT, {
      limit: 100,
      eventType: 'rotation.failed',
    });
    expect(log.map((entry) => [entry.channelId, entry.status]).sort()).toEqual([
      ['hook', 'sent'],
      ['mail', 'sent'],
      ['owner', 'sent'],
    ]);
  }, 60_000);

  it('marks a Slack channel that answers 404 no_service failing and reports it on the other channels', async () => {
    // Prepare
    // A tenant of its own: a warm notifier reuses a tenant's channels for 30 s (settingsCacheMs).
    const tenant = 'other';
    smtp.mails.length = 0;
    http.on('/slack/gone', () => ({ status: 404, body: 'no_service' }));
    await addChannel('mail', { kind: 'email', name: 'Ops mail', recipients: ['ops@example.com'] }, tenant);
    await addChannel(
      'slack',
      { kind: 'slack', name: 'Old Slack', webhookUrl: `${http.origin}/slack/gone` },
      tenant,
    );

    // Act
    await localEventBus.publish([
      {
        type: 'audit.integrity.failed',
        tenant,
        time: new Date().toISOString(),
        detail: { seq: 42, reason: 'modified' },
      },
    ]);
    await until(
      () => smtp.mails.some((mail) => mail.raw.includes('Notification channel failing: Old Slack')),
      'the failing-channel notice',
    );

    // Assess
    expect((await channels.get(tenant, 'slack'))?.state).toBe('failing');
    expect(http.requests.filter((r) => r.path === '/slack/gone')).toHaveLength(1);
    expect(smtp.mails.map((mail) => mail.raw).join('\n')).not.toContain(SIGNING_KEY);
  }, 60_000);

  it('runs the expiry check on demand for an admin, on their tenant only, and refuses a caller without a token', async () => {
    // Prepare
    const store = new DynamoDbCredentialStore(documents, localTableName('credentials'));
    await store.create(
      credential({
        id: id(9),
        tenant: 'other',
        name: 'other tenant key',
        expiresAt: new Date(Date.now() + 2 * DAY).toISOString(),
      }),
    );
    const token = await signInLocal(runtime.url, 'admin', ADMIN_PASSWORD);

    // Act
    const answer = await apiCall(runtime.url, token, 'POST', '/notifications/expiry-check');
    const anonymous = await apiCall(runtime.url, undefined, 'POST', '/notifications/expiry-check');

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ data: { candidates: 5, expiring: 3, expired: 0, overdue: 1 } });
    expect(anonymous.status).toBe(401);
  }, 60_000);

  it('sends the daily digest to the channels that asked for it, once a day', async () => {
    // Prepare
    smtp.mails.length = 0;
    await addChannel('digest', {
      kind: 'email',
      name: 'Morning digest',
      recipients: ['digest@example.com'],
      digest: true,
    });
    await new DynamoDbCredentialStore(documents, localTableName('credentials')).registerTenant(TENANT);
    const digest = await ENGINE_HANDLERS.notifyDigest();
    const event = (time: Date) => ({
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: time.toISOString(),
      region: 'us-east-1',
      resources: [],
      detail: {},
    });
    const context = lambdaContext('vaultpilot-local-notify-digest', 300, 'us-east-1');

    // Act
    const first = await digest(event(new Date()), context);
    const again = await digest(event(new Date(Date.now() + 1_000)), context);

    // Assess
    expect(first).toMatchObject({ implemented: true, sent: 1, failed: 0 });
    expect(again).toMatchObject({ sent: 0, alreadySent: 1 });
    const mails = smtp.mails.filter((mail) => mail.to.includes('digest@example.com'));
    expect(mails).toHaveLength(1);
    const text = (mails[0]?.raw ?? '').replace(/=\r?\n/g, '');
    expect(text).toContain('Daily digest: 2 expiring, 0 expired, 0 overdue');
    expect(text).toContain('stripe key');
    expect(text).toContain('github token');
    expect(text).not.toContain('datadog key');
  }, 60_000);
});
