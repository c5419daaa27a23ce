/** The daily digest: the inventory, the channels and their secrets, and one sender per channel kind. */
import { DailyDigest } from '../../core/notify/digest.js';
import { systemClock } from '../../core/ports.js';
import { coldStart } from '../../platform/cold-start.js';
import { documentClient } from '../../platform/parts/dynamodb.js';
import { notifyParts } from '../../platform/parts/notify.js';
import { manifest } from './manifest.js';

export const notifyDigest = coldStart(manifest, (start) => {
  const { config } = start;
  const dynamodb = documentClient(start);
  const notify = notifyParts(start, dynamodb);
  return {
    digest: new DailyDigest(
      {
        tenants: () => notify.credentials.tenants(),
        credentials: notify.credentials,
        channels: notify.channels,
        secrets: notify.secrets,
        senders: notify.senders,
        log: notify.log,
        clock: systemClock,
      },
      { dashboardUrl: config.notify.dashboardUrl },
    ),
  };
});
