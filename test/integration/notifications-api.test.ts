/**
 * The notifications API through the local runtime, as a client uses it: channel CRUD with secrets
 * masked (never in a response, a settings item, the audit log or the logs), 400s naming the
 * field, 403 for roles that may not, test messages through the real senders (a real SMTP server
 * from npm `smtp-server`, a local HTTP server standing in for Slack and a signed webhook), routing
 * rules with the day-one defaults, the delivery log filtered and paged (including deliveries the
 * notifier records through `DeliveryRecorder`), and snoozes and acknowledgements, audited.
 */
import { createHmac } from 'node:crypto';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoDbChannelStore,
  DynamoDbConditionStore,
  DynamoDbDeliveryLog,
} from '../../lambdas/adapters/aws/dynamodb-notify-stores.js';
import type { AuditEvent } from '../../lambdas/core/audit/audit-event.js';
import { channelSecretPath } from '../../lambdas/core/notify/channel.js';
import type { DeliveryEntry } from '../../lambdas/core/notify/delivery-log.js';
import { DeliveryRecorder } from '../../lambdas/core/notify/record-delivery.js';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { localTableName, TABLE_LIST } from '../../lambdas/shared/tables.js';
import {
  type ApiAnswer,
  apiCall,
  localDocumentClient,
  signInLocal,
  startInMemoryRuntime,
} from '../support/local-api.js';
import {
  type HttpReceiver,
  type SmtpReceiver,
  startHttpReceiver,
  startSmtpReceiver,
} from '../support/notify-receivers.js';

const PASSWORD = 'integration-password-123';
const SLACK_SECRET_PATH = '/services/T000/B000/slackPathSecretXYZ';
const BOT_TOKEN = 'xoxb-1234567890-botTokenSecretABC';
const SIGNING_KEY = 'whsec-signingKeySecret-0123456789abcdef';
const WEBHOOK_SECRET_PATH = '/hooks/webhookPathSecretQRS';
const SECRETS = [SLACK_SECRET_PATH.slice(1), 'botTokenSecretABC', 'signingKeySecret', 'webhookPathSecretQRS'];

const logged: string[] = [];
let runtime: LocalRuntime;
let smtp: SmtpReceiver;
let http: HttpReceiver;
let reader: DynamoDBDocumentClient;
const tokens: Record<string, string> = {};
let previousSmtpUrl: string | undefined;

function call(who: string, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  return apiCall(runtime.url, tokens[who], method, path, body);
}

async function ok(answer: Promise<ApiAnswer>): Promise<ApiAnswer> {
  const done = await answer;
  expect(done.status, done.text).toBeLessThan(300);
  return done;
}

async function createChannel(body: Record<string, unknown>): Promise<any> {
  return (await ok(call('admin', 'POST', '/notifications/channels', body))).json.data;
}

/** Every item of every table, as text: no secret may be found outside the secret store's ciphertext. */
async function everyItem(): Promise<string> {
  const texts: string[] = [];
  for (const spec of TABLE_LIST) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await reader.send(
        new ScanCommand({ TableName: localTableName(spec.id), ExclusiveStartKey: start }),
      );
      texts.push(JSON.stringify(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  }
  return texts.join('\n');
}

async function auditEvents(query: string): Promise<AuditEvent[]> {
  const answer = await ok(call('admin', 'GET', `/audit?limit=1000&${query}`));
  return answer.json.events as AuditEvent[];
}

beforeAll(async () => {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = (chunk: string | Uint8Array, ...rest: never[]) => {
      logged.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return write(chunk, ...rest);
    };
  }
  smtp = await startSmtpReceiver();
  http = await startHttpReceiver();
  previousSmtpUrl = process.env.VAULTPILOT_SMTP_URL;
  process.env.VAULTPILOT_SMTP_URL = smtp.url;
  runtime = await startInMemoryRuntime({
    adminPassword: PASSWORD,
    log: {
      info: (line) => logged.push(line),
      error: (line, extra) => logged.push(`${line} ${JSON.stringify(extra)}`),
    },
  });
  for (const [username, group] of [
    ['vera', 'viewer'],
    ['aude', 'auditor'],
    ['olga', 'operator'],
  ] as const) {
    await runtime.identity.addUser({ username, password: PASSWORD, tenant: 'default', groups: [group] });
    tokens[username] = await signInLocal(runtime.url, username, PASSWORD);
  }
  tokens.admin = await signInLocal(runtime.url, 'admin', PASSWORD);
  reader = localDocumentClient(runtime);
}, 60_000);

afterAll(async () => {
  reader?.destroy();
  await runtime?.stop();
  await smtp?.close();
  await http?.close();
  if (previousSmtpUrl === undefined) delete process.env.VAULTPILOT_SMTP_URL;
  else process.env.VAULTPILOT_SMTP_URL = previousSmtpUrl;
});

describe('channels', () => {
  it('creates, lists, reads, changes and deletes an email channel', async () => {
    // Act
    const created = await call('admin', 'POST', '/notifications/channels', {
      kind: 'email',
      name: 'Security team',
      recipients: ['sec@example.com'],
    });
    const id = created.json.data.id as string;
    const listed = await ok(call('aude', 'GET', '/notifications/channels'));
    const changed = await ok(
      call('admin', 'PATCH', `/notifications/channels/${id}`, {
        recipients: ['sec@example.com', 'ops@example.com'],
        revision: 1,
      }),
    );
    const stale = await call('admin', 'PATCH', `/notifications/channels/${id}`, { name: 'x', revision: 1 });
    const deleted = await call('admin', 'DELETE', `/notifications/channels/${id}`);
    const gone = await call('admin', 'GET', `/notifications/channels/${id}`);

    // Assess
    expect(created.status, created.text).toBe(201);
    expect(created.json.data).toMatchObject({
      kind: 'email',
      name: 'Security team',
      recipients: ['sec@example.com'],
      secret: { set: false },
      state: 'active',
      revision: 1,
    });
    expect((listed.json.data.channels as { id: string }[]).map((channel) => channel.id)).toContain(id);
    expect(changed.json.data).toMatchObject({
      recipients: ['sec@example.com', 'ops@example.com'],
      revision: 2,
    });
    expect(stale.status).toBe(409);
    expect(deleted.status).toBe(204);
    expect(gone.status).toBe(404);
  });

  it('keeps Slack and webhook secrets in the secret store and shows them masked only', async () => {
    // Act
    const slack = await createChannel({
      kind: 'slack',
      name: 'Slack #alerts',
      webhookUrl: `${http.origin}${SLACK_SECRET_PATH}`,
    });
    const bot = await createChannel({
      kind: 'slack',
      name: 'Slack bot',
      botToken: BOT_TOKEN,
      channelId: 'C0123456',
      apiUrl: `${http.origin}/api/chat.postMessage`,
    });
    const webhook = await createChannel({
      kind: 'webhook',
      name: 'Pager',
      url: `${http.origin}${WEBHOOK_SECRET_PATH}`,
      signingKey: SIGNING_KEY,
    });
    const renamed = await ok(
      call('admin', 'PATCH', `/notifications/channels/${webhook.id as string}`, { name: 'Pager 2' }),
    );
    const answers = [
      await call('admin', 'GET', '/notifications/channels'),
      await call('admin', 'GET', `/notifications/channels/${slack.id as string}`),
      renamed,
    ];
    const stored = await everyItem();
    const audit = await auditEvents('action=notification.channel.write');

    // Assess
    expect(slack.secret).toEqual({ set: true, hint: `${http.origin}/…` });
    expect(bot.secret).toEqual({ set: true, hint: 'xoxb-…' });
    expect(bot.slack).toEqual({
      mode: 'bot',
      channelId: 'C0123456',
      apiUrl: `${http.origin}/api/chat.postMessage`,
    });
    expect(webhook.secret).toEqual({ set: true, hint: `${http.origin}/…` });
    expect(renamed.json.data).toMatchObject({ name: 'Pager 2', secret: { set: true }, revision: 2 });
    expect(audit.length).toBeGreaterThanOrEqual(8);
    expect(audit.map((event) => event.target.path)).toContain(channelSecretPath(webhook.id as string));
    for (const secret of SECRETS) {
      for (const answer of answers) expect(answer.text).not.toContain(secret);
      expect(JSON.stringify(audit)).not.toContain(secret);
      // Sealed in the secrets table (AES-GCM), absent from settings items: nowhere in clear.
      expect(stored).not.toContain(secret);
    }
  });

  it('answers 400 naming the field for invalid addresses, non-HTTPS URLs, short keys and unknown kinds', async () => {
    // Act
    const answers = await Promise.all([
      call('admin', 'POST', '/notifications/channels', {
        kind: 'email',
        name: 'a',
        recipients: ['not-an-address'],
      }),
      call('admin', 'POST', '/notifications/channels', {
        kind: 'webhook',
        name: 'w',
        url: 'http://example.com/hook',
        signingKey: SIGNING_KEY,
      }),
      call('admin', 'POST', '/notifications/channels', {
        kind: 'webhook',
        name: 'w',
        url: 'https://example.com/hook',
        signingKey: 'short',
      }),
      call('admin', 'POST', '/notifications/channels', {
        kind: 'sns',
        name: 's',
        topicArn: 'arn:aws:sqs:eu-west-1:123456789012:not-a-topic',
      }),
      call('admin', 'POST', '/notifications/channels', { kind: 'pager', name: 'p' }),
    ]);

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([400, 400, 400, 400, 400]);
    expect(answers.slice(0, 4).map((answer) => answer.json.error.details.field as string)).toEqual([
      'recipients.0',
      'url',
      'signingKey',
      'topicArn',
    ]);
    expect(JSON.stringify(answers[4]?.json.error.details.issues)).toContain('kind');
  });

  it('lets only admins change channels, and admins and auditors read them', async () => {
    // Prepare
    const channel = await createChannel({ kind: 'email', name: 'Ops', recipients: ['ops@example.com'] });
    const body = { kind: 'email', name: 'Mine', recipients: ['me@example.com'] };

    // Act
    const writes = await Promise.all(
      ['vera', 'aude', 'olga'].map((who) => call(who, 'POST', '/notifications/channels', body)),
    );
    const tests = await Promise.all(
      ['vera', 'aude', 'olga'].map((who) =>
        call(who, 'POST', `/notifications/channels/${channel.id as string}/test`),
      ),
    );
    const reads = await Promise.all(
      ['vera', 'aude', 'olga'].map((who) => call(who, 'GET', '/notifications/channels')),
    );
    const denied = await auditEvents('action=notification.channel.write&outcome=denied');

    // Assess
    expect(writes.map((answer) => answer.status)).toEqual([403, 403, 403]);
    expect(tests.map((answer) => answer.status)).toEqual([403, 403, 403]);
    expect(reads.map((answer) => answer.status)).toEqual([403, 200, 403]);
    expect(denied.length).toBeGreaterThanOrEqual(3);
  });
});

describe('test messages', () => {
  it('sends through SMTP, a Slack webhook, a Slack bot and a signed webhook, and reports each result', async () => {
    // Prepare
    http.on(SLACK_SECRET_PATH, () => ({ status: 200, body: 'ok' }));
    http.on('/api/chat.postMessage', () => ({
      status: 200,
      body: JSON.stringify({ ok: true, ts: '1700000000.000100' }),
      headers: { 'content-type': 'application/json' },
    }));
    http.on(WEBHOOK_SECRET_PATH, () => ({ status: 204 }));
    const email = await createChannel({ kind: 'email', name: 'Mail', recipients: ['alerts@example.com'] });
    const slack = await createChannel({
      kind: 'slack',
      name: 'Slack',
      webhookUrl: `${http.origin}${SLACK_SECRET_PATH}`,
    });
    const bot = await createChannel({
      kind: 'slack',
      name: 'Bot',
      botToken: BOT_TOKEN,
      channelId: 'C0123456',
      apiUrl: `${http.origin}/api/chat.postMessage`,
    });
    const webhook = await createChannel({
      kind: 'webhook',
      name: 'Hook',
      url: `${http.origin}${WEBHOOK_SECRET_PATH}`,
      signingKey: SIGNING_KEY,
    });
    const mailsBefore = smtp.mails.length;
    const requestsBefore = http.requests.length;

    // Act
    const answers = [];
    for (const channel of [email, slack, bot, webhook]) {
      answers.push(await call('admin', 'POST', `/notifications/channels/${channel.id as string}/test`));
    }

    // Assess
    expect(answers.map((answer) => [answer.status, answer.json.data.status as string])).toEqual([
      [200, 'sent'],
      [200, 'sent'],
      [200, 'sent'],
      [200, 'sent'],
    ]);
    const mails = smtp.mails.slice(mailsBefore);
    expect(mails).toHaveLength(1);
    expect(mails[0]?.to).toEqual(['alerts@example.com']);
    expect(mails[0]?.raw).toMatch(/Subject: \[VaultPilot\] Test message for Mail/);
    expect(mails[0]?.eventId).toBe(answers[0]?.json.data.eventId);
    const requests = http.requests.slice(requestsBefore);
    expect(requests.map((request) => request.path)).toEqual([
      SLACK_SECRET_PATH,
      '/api/chat.postMessage',
      WEBHOOK_SECRET_PATH,
    ]);
    expect(requests[1]?.headers.authorization).toBe(`Bearer ${BOT_TOKEN}`);
    expect(JSON.parse(requests[1]?.body ?? '{}').channel).toBe('C0123456');
    const signed = requests[2];
    const timestamp = String(signed?.headers['x-vaultpilot-timestamp']);
    const expected = `v1=${createHmac('sha256', SIGNING_KEY)
      .update(`${timestamp}.${signed?.body ?? ''}`)
      .digest('hex')}`;
    expect(signed?.headers['x-vaultpilot-signature']).toBe(expected);
    expect(JSON.parse(signed?.body ?? '{}').type).toBe('notification.test');
    for (const answer of answers) for (const secret of SECRETS) expect(answer.text).not.toContain(secret);
  });

  it('answers failed with the classified reason when the channel refuses; a change makes a failing channel active', async () => {
    // Prepare
    const path = '/services/T000/B000/gone';
    let refuse = true;
    http.on(path, () => (refuse ? { status: 404, body: 'no_service' } : { status: 200, body: 'ok' }));
    const slack = await createChannel({ kind: 'slack', name: 'Gone', webhookUrl: `${http.origin}${path}` });

    // Act
    const failed = await ok(call('admin', 'POST', `/notifications/channels/${slack.id as string}/test`));
    // The notifier marks a channel failing after a permanent failure of a real alert.
    await new DynamoDbChannelStore(reader, localTableName('settings')).markFailing(
      'default',
      slack.id as string,
      'slack_no_service',
      new Date().toISOString(),
    );
    const marked = await ok(call('admin', 'GET', `/notifications/channels/${slack.id as string}`));
    refuse = false;
    const sent = await ok(call('admin', 'POST', `/notifications/channels/${slack.id as string}/test`));
    // Changing the channel (here: nothing but saving it) is what makes it active again.
    const reactivated = await ok(call('admin', 'PATCH', `/notifications/channels/${slack.id as string}`, {}));
    const log = await ok(call('admin', 'GET', `/notifications?channel=${slack.id as string}`));
    const audit = await auditEvents('action=notification.failed');

    // Assess
    expect(failed.json.data).toMatchObject({ status: 'failed', reason: 'slack_no_service' });
    expect(marked.json.data).toMatchObject({ state: 'failing', failure: { reason: 'slack_no_service' } });
    expect(sent.json.data).toMatchObject({ status: 'sent', channel: { state: 'failing' } });
    expect(reactivated.json.data).toMatchObject({ state: 'active', revision: 3 });
    expect(reactivated.json.data.failure).toBeUndefined();
    expect(
      (log.json.data.deliveries as { status: string; reason?: string }[]).map((entry) => [
        entry.status,
        entry.reason,
      ]),
    ).toEqual([
      ['sent', undefined],
      ['failed', 'slack_no_service'],
    ]);
    expect(audit.some((event) => event.reason?.includes('slack_no_service'))).toBe(true);
  });

  it('answers failed, logged, when the channel never answers (the sender gives up before the function does)', async () => {
    // Prepare: a webhook that takes the request and never answers.
    http.on('/hooks/silent', () => new Promise(() => undefined));
    const hook = await createChannel({
      kind: 'webhook',
      name: 'Silent',
      url: `${http.origin}/hooks/silent`,
      signingKey: SIGNING_KEY,
    });

    // Act
    const answer = await call('admin', 'POST', `/notifications/channels/${hook.id as string}/test`);
    const log = await ok(call('admin', 'GET', `/notifications?channel=${hook.id as string}`));

    // Assess: the local server gives the function its deployed timeout, as Lambda would.
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json.data).toMatchObject({ status: 'failed', reason: 'webhook_TimeoutError' });
    expect(log.json.data.deliveries).toEqual([
      expect.objectContaining({ status: 'failed', reason: 'webhook_TimeoutError' }),
    ]);
  }, 40_000);
});

describe('routing rules', () => {
  it('lists the day-one defaults, keeps them when a route is added, and edits, reads and deletes routes', async () => {
    // Prepare
    const channel = await createChannel({ kind: 'email', name: 'Routed', recipients: ['r@example.com'] });

    // Act
    const before = await ok(call('aude', 'GET', '/notifications/routes'));
    const created = await call('admin', 'POST', '/notifications/routes', {
      name: 'Prod expiry to the routed channel',
      eventTypes: ['credential.expiring', 'credential.expired'],
      minSeverity: 'high',
      match: { tags: { env: 'prod' }, pathPrefix: 'prod/' },
      channels: [channel.id],
    });
    const routeId = created.json.data.id as string;
    const after = await ok(call('admin', 'GET', '/notifications/routes'));
    const disabled = await ok(
      call('admin', 'PUT', '/notifications/routes/default-expiry', {
        name: 'Expiry warnings and overdue rotations',
        eventTypes: ['credential.expiring'],
        channels: 'all',
        enabled: false,
      }),
    );
    const read = await ok(call('aude', 'GET', `/notifications/routes/${routeId}`));
    const deleted = await call('admin', 'DELETE', `/notifications/routes/${routeId}`);
    const gone = await call('admin', 'GET', `/notifications/routes/${routeId}`);
    const audit = await auditEvents('action=notification.route.write&outcome=allowed');

    // Assess
    expect(before.json.data.usingDefaults).toBe(true);
    const defaults = before.json.data.routes as {
      id: string;
      eventTypes: string[];
      channels: unknown;
      builtIn: boolean;
    }[];
    expect(defaults.map((route) => route.id)).toEqual(['default-critical', 'default-expiry']);
    expect(defaults[0]?.eventTypes).toEqual(
      expect.arrayContaining(['rotation.failed', 'credential.finding.opened', 'audit.integrity.failed']),
    );
    expect(defaults[0]?.channels).toBe('all');
    expect(created.status, created.text).toBe(201);
    expect(after.json.data.usingDefaults).toBe(false);
    expect((after.json.data.routes as { id: string }[]).map((route) => route.id).sort()).toEqual(
      ['default-critical', 'default-expiry', routeId].sort(),
    );
    expect(disabled.json.data).toMatchObject({ id: 'default-expiry', enabled: false, builtIn: true });
    expect(read.json.data).toMatchObject({
      minSeverity: 'high',
      match: { tags: { env: 'prod' }, pathPrefix: 'prod/' },
    });
    expect(deleted.status).toBe(204);
    expect(gone.status).toBe(404);
    expect(audit.map((event) => event.target.path)).toContain(`vaultpilot/notify/routes/${routeId}`);
  });

  it('answers 400 naming the field for unknown event types, severities and channels', async () => {
    // Act
    const answers = await Promise.all([
      call('admin', 'POST', '/notifications/routes', {
        name: 'r',
        eventTypes: ['secret.read'],
        channels: 'all',
      }),
      call('admin', 'POST', '/notifications/routes', {
        name: 'r',
        eventTypes: ['rotation.failed'],
        minSeverity: 'urgent',
        channels: 'all',
      }),
      call('admin', 'POST', '/notifications/routes', {
        name: 'r',
        eventTypes: ['rotation.failed'],
        channels: ['ch_nope'],
      }),
      call('olga', 'POST', '/notifications/routes', {
        name: 'r',
        eventTypes: ['rotation.failed'],
        channels: 'all',
      }),
    ]);

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([400, 400, 400, 403]);
    expect(answers.slice(0, 3).map((answer) => answer.json.error.details.field as string)).toEqual([
      'eventTypes.0',
      'minSeverity',
      'channels.0',
    ]);
  });
});

describe('the delivery log', () => {
  it('lists what the notifier recorded, filtered by channel, status, event type, credential and time, paged', async () => {
    // Prepare: the notifier records deliveries through DeliveryRecorder, on the runtime's tables.
    const recorder = new DeliveryRecorder({
      log: new DynamoDbDeliveryLog(reader, localTableName('settings')),
      audit: { record: async () => undefined },
      clock: { now: () => new Date('2031-03-01T10:00:00.000Z') },
    });
    const entries: DeliveryEntry[] = [];
    for (let index = 0; index < 7; index += 1) {
      const entry: DeliveryEntry = {
        tenant: 'default',
        eventId: `evt-log-${index}`,
        eventTime: `2031-02-0${index + 1}T08:00:00.000Z`,
        channelId: index % 2 === 0 ? 'ch_logA' : 'ch_logB',
        eventType: index < 4 ? 'credential.expiring' : 'rotation.failed',
        channelKind: 'email',
        status: 'sending',
        attempts: 0,
        reason: undefined,
        credentialId: index < 3 ? 'cr_log1' : 'cr_log2',
        updatedAt: '2031-03-01T10:00:00.000Z',
        leaseUntil: undefined,
        revision: 1,
      };
      entries.push(entry);
      await recorder.record(
        entry,
        index === 5
          ? { status: 'failed', attempts: 3, reason: 'smtp_550' }
          : { status: 'sent', attempts: 1, reason: undefined },
        { create: true },
      );
    }
    const window = 'from=2031-02-01T00:00:00Z&to=2031-02-28T00:00:00Z';

    // Act
    const pages: any[][] = [];
    let cursor: string | undefined;
    do {
      const answer = await ok(
        call(
          'aude',
          'GET',
          `/notifications?${window}&limit=3${cursor === undefined ? '' : `&cursor=${cursor}`}`,
        ),
      );
      pages.push(answer.json.data.deliveries as any[]);
      cursor = answer.json.data.cursor as string | undefined;
    } while (cursor !== undefined);
    const byChannel = await ok(call('admin', 'GET', `/notifications?${window}&channel=ch_logB`));
    const failed = await ok(call('admin', 'GET', `/notifications?${window}&status=failed`));
    const byType = await ok(
      call('admin', 'GET', `/notifications?${window}&eventType=rotation.failed&limit=2`),
    );
    const byCredential = await ok(call('admin', 'GET', `/notifications?${window}&credential=cr_log1`));
    const narrow = await ok(
      call('admin', 'GET', '/notifications?from=2031-02-03T00:00:00Z&to=2031-02-04T23:00:00Z'),
    );
    const badCursor = await call('admin', 'GET', '/notifications?cursor=not-a-cursor');
    const badStatus = await call('admin', 'GET', '/notifications?status=lost');
    const backwards = await call(
      'admin',
      'GET',
      '/notifications?from=2031-02-05T00:00:00Z&to=2031-02-01T00:00:00Z',
    );
    const viewer = await call('vera', 'GET', '/notifications');

    // Assess
    const ids = (list: { eventId: string }[]) => list.map((entry) => entry.eventId);
    expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
    expect(pages.flat().map((entry: { eventId: string }) => entry.eventId)).toEqual(
      [...entries].reverse().map((entry) => entry.eventId),
    );
    expect(ids(byChannel.json.data.deliveries)).toEqual(['evt-log-5', 'evt-log-3', 'evt-log-1']);
    expect(failed.json.data.deliveries).toEqual([
      expect.objectContaining({ eventId: 'evt-log-5', status: 'failed', reason: 'smtp_550', attempts: 3 }),
    ]);
    expect(ids(byType.json.data.deliveries)).toEqual(['evt-log-6', 'evt-log-5']);
    expect(byType.json.data.cursor).toEqual(expect.any(String));
    expect(ids(byCredential.json.data.deliveries)).toEqual(['evt-log-2', 'evt-log-1', 'evt-log-0']);
    expect(ids(narrow.json.data.deliveries)).toEqual(['evt-log-3', 'evt-log-2']);
    expect(badCursor.status).toBe(400);
    expect(badCursor.json.error.details.field).toBe('cursor');
    expect(badStatus.status).toBe(400);
    expect(backwards.status).toBe(400);
    expect(backwards.json.error.details.field).toBe('from');
    expect(viewer.status).toBe(403);
  });
});

describe('acknowledging and snoozing alerts', () => {
  it('snoozes a credential until a date, audited, and lifts it again', async () => {
    // Prepare
    const registered = await ok(
      call('admin', 'POST', '/credentials', {
        type: 'api-token',
        name: 'Partner API token',
        owner: 'owner@example.com',
        expiresAt: '2031-01-31',
      }),
    );
    const id = registered.json.data.id as string;
    const until = new Date(Date.now() + 7 * 86_400_000).toISOString();

    // Act
    const snoozed = await call('olga', 'PUT', `/notifications/holds/${id}`, {
      kind: 'snoozed',
      until,
      note: 'renewal ordered',
    });
    const read = await ok(call('aude', 'GET', `/notifications/holds/${id}`));
    const listed = await ok(call('olga', 'GET', '/notifications/holds'));
    // The notifier recorded a 7-day expiry warning: acknowledging holds exactly that state.
    await new DynamoDbConditionStore(reader, localTableName('settings')).record(
      'default',
      {
        key: `expiry#${id}`,
        state: 'expiring:7:2031-01-31',
        eventId: 'evt-expiry',
        sentAt: new Date().toISOString(),
      },
      undefined,
    );
    const acknowledged = await ok(
      call('admin', 'PUT', `/notifications/holds/${id}`, { kind: 'acknowledged' }),
    );
    const past = await call('admin', 'PUT', `/notifications/holds/${id}`, {
      kind: 'snoozed',
      until: '2020-01-01T00:00:00Z',
    });
    const unknown = await call('admin', 'PUT', '/notifications/holds/cr_missing', { kind: 'acknowledged' });
    const viewer = await call('vera', 'PUT', `/notifications/holds/${id}`, { kind: 'acknowledged' });
    const lifted = await call('olga', 'DELETE', `/notifications/holds/${id}`);
    const gone = await call('admin', 'GET', `/notifications/holds/${id}`);
    const audit = await auditEvents(`target=${id}`);

    // Assess
    expect(snoozed.status, snoozed.text).toBe(200);
    expect(snoozed.json.data).toMatchObject({
      credentialId: id,
      kind: 'snoozed',
      until,
      note: 'renewal ordered',
      // Named as people read it elsewhere (a version's created_by, a credential's history).
      by: 'user:olga',
    });
    expect(read.json.data.kind).toBe('snoozed');
    expect((listed.json.data.holds as { credentialId: string }[]).map((hold) => hold.credentialId)).toContain(
      id,
    );
    expect(acknowledged.json.data).toMatchObject({
      kind: 'acknowledged',
      conditions: { [`expiry#${id}`]: 'expiring:7:2031-01-31' },
    });
    expect(past.status).toBe(400);
    expect(past.json.error.details.field).toBe('until');
    expect(unknown.status).toBe(404);
    expect(viewer.status).toBe(403);
    expect(lifted.status).toBe(204);
    expect(gone.status).toBe(404);
    const actions = audit.map((event) => `${event.action}:${event.outcome}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'notification.hold.write:attempted',
        'notification.hold.write:allowed',
        'notification.hold.write:denied',
        'notification.hold.delete:allowed',
      ]),
    );
    const olgas = audit.filter(
      (event) => event.action === 'notification.hold.write' && event.outcome === 'allowed',
    );
    expect(olgas.length).toBe(2);
  });
});

describe('the OpenAPI document', () => {
  it('lists every notifications route with its schemas', async () => {
    // Act
    const answer = await ok(call('admin', 'GET', '/openapi.json'));

    // Assess
    const paths = answer.json.paths as Record<string, Record<string, { operationId?: string }>>;
    expect(Object.keys(paths)).toEqual(
      expect.arrayContaining([
        '/notifications',
        '/notifications/channels',
        '/notifications/channels/{id}',
        '/notifications/channels/{id}/test',
        '/notifications/routes',
        '/notifications/routes/{id}',
        '/notifications/holds',
        '/notifications/holds/{id}',
      ]),
    );
    expect(paths['/notifications/channels/{id}/test']?.post?.operationId).toBe('testNotificationChannel');
    expect(Object.keys(answer.json.components.schemas as object)).toEqual(
      expect.arrayContaining([
        'CreateChannelRequest',
        'NotificationChannel',
        'DeliveryLogResponse',
        'AlertHold',
      ]),
    );
  });
});

describe('the logs', () => {
  it('never hold a channel secret', () => {
    const all = logged.join('\n');
    for (const secret of SECRETS) expect(all).not.toContain(secret);
  });
});
