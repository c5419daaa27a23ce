/** What the channel senders' tests send: one notifiable event, and a channel of given settings. */
import type { Channel } from '../../lambdas/core/notify/channel.js';
import type { NotifiableEvent } from '../../lambdas/core/notify/notify-event.js';

export const expiringEvent: NotifiableEvent = {
  id: 'b5b0c1a2-0000-4000-8000-000000000001',
  type: 'credential.expiring',
  tenant: 't1',
  time: '2026-12-06T12:00:00.000Z',
  detail: {
    credentialId: 'cr_0123456789abcdef01234567',
    credentialType: 'api-token',
    credentialName: 'stripe live key',
    owner: 'pay@example.com',
    expiresAt: '2026-12-13T00:00:00.000Z',
    daysLeft: 7,
    threshold: 7,
  },
};

export const channelOf = (settings: Channel['settings']): Channel => ({
  id: 'c1',
  tenant: 't1',
  name: 'c',
  settings,
  secretHint: undefined,
  hasSecret: false,
  digest: false,
  state: 'active',
  failure: undefined,
  revision: 1,
});
