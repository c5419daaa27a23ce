/**
 * The notifications API: the notify stores (settings table), channel secrets in the secret store,
 * credentials (a hold names one), the channel senders for test messages, and the audit sink.
 */
import { NotificationAdministration } from '../../core/notify/notification-admin.js';
import { systemClock } from '../../core/ports.js';
import { coldStart } from '../../platform/cold-start.js';
import { apiDependencies } from '../../platform/parts/api.js';
import { auditRecorder } from '../../platform/parts/audit.js';
import { documentClient } from '../../platform/parts/dynamodb.js';
import { notifyParts } from '../../platform/parts/notify.js';
import { manifest } from './manifest.js';

export const notifications = coldStart(manifest, (start) => {
  const { config } = start;
  const dynamodb = documentClient(start);
  const audit = auditRecorder(start, dynamodb)();
  const notify = notifyParts(start, dynamodb);
  return {
    api: apiDependencies(start, audit),
    administration: new NotificationAdministration(
      {
        channels: notify.channels,
        secrets: notify.secrets,
        routes: notify.routes,
        holds: notify.holds,
        conditions: notify.conditions,
        credentials: notify.credentials,
        log: notify.log,
        senders: notify.senders,
        audit,
        clock: systemClock,
      },
      {
        // Locally, Slack and webhook stand-ins listen on plain HTTP on this machine.
        validation: { allowLoopbackHttp: config.runtime === 'local' },
        dashboardUrl: config.notify.dashboardUrl,
      },
    ),
  };
});
