/**
 * The notifier: the notify stores on the settings table, channel secrets from the secret store,
 * the credential inventory for subjects, and one sender per channel kind (SES or SMTP / outbox,
 * SNS or a log line, Slack and webhooks over HTTP), and the audit sink deliveries are recorded in.
 */
import { InventorySubjects } from '../../core/notify/inventory-subjects.js';
import { Notifier } from '../../core/notify/notifier.js';
import { realSleeper } from '../../core/notify/ports.js';
import { DeliveryRecorder } from '../../core/notify/record-delivery.js';
import { systemClock } from '../../core/ports.js';
import { coldStart } from '../../platform/cold-start.js';
import { auditRecorder } from '../../platform/parts/audit.js';
import { documentClient } from '../../platform/parts/dynamodb.js';
import { notifyParts } from '../../platform/parts/notify.js';
import { manifest } from './manifest.js';

export const notifier = coldStart(manifest, (start) => {
  const { config } = start;
  const dynamodb = documentClient(start);
  const notify = notifyParts(start, dynamodb);
  // Each final delivery is audited (notification.sent / notification.failed) after its log entry.
  const deliveries = new DeliveryRecorder({
    log: notify.log,
    audit: auditRecorder(start, dynamodb)(),
    clock: systemClock,
  });
  return {
    notifier: new Notifier(
      {
        channels: notify.channels,
        routes: notify.routes,
        secrets: notify.secrets,
        subjects: new InventorySubjects(notify.credentials),
        conditions: notify.conditions,
        holds: notify.holds,
        log: notify.log,
        senders: notify.senders,
        clock: systemClock,
        sleeper: realSleeper,
        outcomes: { record: (entry) => deliveries.auditDelivery(entry) },
      },
      { dashboardUrl: config.notify.dashboardUrl },
    ),
  };
});
