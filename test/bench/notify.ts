/**
 * `npm run bench -- notify`: events delivered per second through the notifier (delivery log,
 * de-duplication records and channel secrets on dynalite) to a real SMTP server (smtp-server) and
 * a local HTTP receiver (a signed webhook), next to raw nodemailer sends and raw HTTP POSTs to the
 * same receivers, measured in the same run at the same concurrency; then the process's RSS
 * before and after 10,000 events. Every loop is bounded in count; traffic stays on loopback.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import nodemailer from 'nodemailer';
import { DynamoDbCredentialStore } from '../../lambdas/adapters/aws/dynamodb-credential-store.js';
import {
  DynamoDbAlertHoldStore,
  DynamoDbChannelStore,
  DynamoDbConditionStore,
  DynamoDbDeliveryLog,
  DynamoDbRouteStore,
} from '../../lambdas/adapters/aws/dynamodb-notify-stores.js';
import { DynamoDbSecretStore } from '../../lambdas/adapters/aws/dynamodb-secret-store.js';
import { WebhookSender } from '../../lambdas/adapters/http/webhook-sender.js';
import { FileKeyring } from '../../lambdas/adapters/local/file-keyring.js';
import { LocalEmailSender } from '../../lambdas/adapters/local/local-email-sender.js';
import { type Channel, parseChannelInput, splitChannelInput } from '../../lambdas/core/notify/channel.js';
import { StoredChannelSecrets } from '../../lambdas/core/notify/channel-secrets.js';
import { InventorySubjects } from '../../lambdas/core/notify/inventory-subjects.js';
import { Notifier } from '../../lambdas/core/notify/notifier.js';
import type { NotifiableEvent } from '../../lambdas/core/notify/notify-event.js';
import { realSleeper } from '../../lambdas/core/notify/ports.js';
import { DataKeyCache } from '../../lambdas/core/secrets/data-key-cache.js';
import { EnvelopeCipher } from '../../lambdas/core/secrets/envelope.js';
import { SecretsService } from '../../lambdas/core/secrets/kv-service.js';
import { ensureTables, startLocalDynamo } from '../../lambdas/local/dynamo.js';
import { localTableName, TABLE_LIST } from '../../lambdas/shared/tables.js';
import { startHttpReceiver, startSmtpReceiver } from '../support/notify-receivers.js';

const EVENTS = Number(process.env.BENCH_NOTIFY_EVENTS ?? 1_000);
const MEMORY_EVENTS = Number(process.env.BENCH_NOTIFY_MEMORY_EVENTS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

async function throughput(count: number, task: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        const i = next;
        next += 1;
        await task(i);
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

function line(name: string, rate: number, base: number, unit: string): void {
  console.log(
    `  ${name.padEnd(52)} ${rate.toFixed(0).padStart(7)} ${unit}   ratio ${(rate / base).toFixed(3)}`,
  );
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`;

export async function runNotifyBench(): Promise<void> {
  const dynamo = await startLocalDynamo({ path: undefined, host: '127.0.0.1', port: 0 });
  await ensureTables(dynamo.endpoint, 'us-east-1', TABLE_LIST);
  const documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  const smtp = await startSmtpReceiver();
  const http = await startHttpReceiver();
  http.on('/hook', () => ({ status: 204 }));
  const email = new LocalEmailSender({ kind: 'smtp', url: smtp.url }, 'VaultPilot <bench@vaultpilot.test>');
  const raw = nodemailer.createTransport(smtp.url, { pool: true, maxConnections: 5 } as never);
  try {
    const settings = localTableName('settings');
    const channels = new DynamoDbChannelStore(documents, settings);
    const secrets = new StoredChannelSecrets(
      new SecretsService(
        new DynamoDbSecretStore(documents, localTableName('secrets')),
        new EnvelopeCipher(new FileKeyring({}), new DataKeyCache()),
        { now: () => new Date() },
      ),
    );
    const tenant = 'bench';
    for (const definition of [
      { id: 'mail', kind: 'email', name: 'Ops mail', recipients: ['ops@example.com'] },
      {
        id: 'hook',
        kind: 'webhook',
        name: 'Hook',
        url: `${http.origin}/hook`,
        signingKey: 'whsec-bench-0123456789abcdef0123456789',
      },
    ]) {
      const { id, ...input } = definition;
      const split = splitChannelInput(parseChannelInput(input, { allowLoopbackHttp: true }));
      const channel: Channel = {
        id,
        tenant,
        name: input.name,
        settings: split.settings,
        secretHint: split.secretHint,
        hasSecret: split.secret !== undefined,
        digest: false,
        state: 'active',
        failure: undefined,
        revision: 1,
      };
      if (split.secret !== undefined) await secrets.write(tenant, id, split.secret);
      await channels.put(channel, undefined);
    }
    const notifier = new Notifier(
      {
        channels,
        routes: new DynamoDbRouteStore(documents, settings),
        secrets,
        subjects: new InventorySubjects(
          new DynamoDbCredentialStore(documents, localTableName('credentials')),
        ),
        conditions: new DynamoDbConditionStore(documents, settings),
        holds: new DynamoDbAlertHoldStore(documents, settings),
        log: new DynamoDbDeliveryLog(documents, settings),
        senders: [email, new WebhookSender()],
        clock: { now: () => new Date() },
        sleeper: realSleeper,
      },
      { dashboardUrl: 'https://vaultpilot.example.com' },
    );
    let counter = 0;
    const event = (): NotifiableEvent => {
      counter += 1;
      return {
        id: `bench-${counter}`,
        type: 'rotation.failed',
        tenant,
        time: new Date().toISOString(),
        detail: {
          credentialId: `cr_${counter.toString(16).padStart(24, '0')}`,
          credentialType: 'postgres-password',
          step: 'test',
          reason: 'test: UpstreamUnavailable: connection refused',
        },
      };
    };
    const deliver = async (): Promise<void> => {
      const report = await notifier.deliver(event());
      if (report.deliveries.length !== 2 || report.deliveries.some((d) => d.status !== 'sent'))
        throw new Error(`an event was not delivered: ${JSON.stringify(report.deliveries)}`);
    };
    const rawMail = (i: number) =>
      raw.sendMail({
        from: 'VaultPilot <bench@vaultpilot.test>',
        to: ['ops@example.com'],
        subject: `[VaultPilot] raw ${i}`,
        text: 'A rotation failed.',
        html: '<p>A rotation failed.</p>',
      });
    const rawPost = async (i: number) => {
      const response = await fetch(`${http.origin}/hook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: `raw-${i}`, type: 'rotation.failed' }),
      });
      await response.arrayBuffer();
    };

    // Warm-up: connections, the table, the JIT, the tenant's cached channels and secrets.
    await throughput(100, rawMail);
    await throughput(100, rawPost);
    await throughput(100, deliver);
    const clear = (): void => {
      smtp.mails.length = 0;
      http.requests.length = 0;
    };
    clear();

    const mailRate = await throughput(EVENTS, rawMail);
    const postRate = await throughput(EVENTS, rawPost);
    const rawBoth = await throughput(EVENTS, (i) => Promise.all([rawMail(i), rawPost(i)]));
    const notifyRate = await throughput(EVENTS, deliver);
    if (smtp.mails.length !== EVENTS * 3 || http.requests.length !== EVENTS * 3)
      throw new Error(`receivers counted ${smtp.mails.length} mails and ${http.requests.length} requests`);
    clear();

    console.log(
      `delivery of ${EVENTS} events (each: one email + one signed webhook), concurrency ${CONCURRENCY}`,
    );
    line('raw nodemailer sends (pooled, 5 connections) (baseline)', mailRate, mailRate, 'mails/s');
    line('raw HTTP POSTs (fetch)', postRate, mailRate, 'posts/s');
    line('raw email + POST per event, in parallel', rawBoth, mailRate, 'events/s');
    line('notifier: route, log, de-dup, render, sign, send', notifyRate, rawBoth, 'events/s');
    console.log('  (the notifier row is a ratio to "raw email + POST per event")');

    globalThis.gc?.();
    const before = process.memoryUsage();
    let peak = before.rss;
    const started = performance.now();
    await throughput(MEMORY_EVENTS, async (i) => {
      await deliver();
      if (i % 500 === 0) {
        clear();
        peak = Math.max(peak, process.memoryUsage().rss);
      }
    });
    const seconds = (performance.now() - started) / 1000;
    clear();
    globalThis.gc?.();
    const after = process.memoryUsage();
    console.log(`memory over ${MEMORY_EVENTS} events (${(MEMORY_EVENTS / seconds).toFixed(0)} events/s)`);
    console.log(
      `  RSS before ${mb(before.rss)}, peak ${mb(Math.max(peak, after.rss))}, after ${mb(after.rss)}; heap before ${mb(before.heapUsed)}, after ${mb(after.heapUsed)}${globalThis.gc === undefined ? ' (no --expose-gc: heap figures include garbage)' : ''}`,
    );
  } finally {
    email.close();
    raw.close();
    await smtp.close();
    await http.close();
    documents.destroy();
    await dynamo.close().catch(() => undefined);
  }
}
