/**
 * Channel secrets in VaultPilot's own secret store (encrypted, versioned), one secret per channel
 * at `channelSecretPath(id)`; the settings item never holds them.
 */
import { NotFoundError } from '../errors.js';
import type { SecretsService } from '../secrets/kv-service.js';
import { type ChannelSecret, channelSecretPath, parseChannelSecret } from './channel.js';
import type { ManagedChannelSecrets } from './ports.js';

const ACTOR = 'system:notifier';

export class StoredChannelSecrets implements ManagedChannelSecrets {
  constructor(private readonly secrets: Pick<SecretsService, 'read' | 'write' | 'deleteAll'>) {}

  async read(tenant: string, channelId: string): Promise<ChannelSecret | undefined> {
    try {
      const { data } = await this.secrets.read(tenant, channelSecretPath(channelId));
      return parseChannelSecret(data);
    } catch (error: unknown) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  async write(tenant: string, channelId: string, secret: ChannelSecret): Promise<void> {
    await this.secrets.write(ACTOR, tenant, channelSecretPath(channelId), { ...secret });
  }

  /** Every version goes: an old webhook URL or token must not outlive its channel. */
  async remove(tenant: string, channelId: string): Promise<void> {
    try {
      await this.secrets.deleteAll(tenant, channelSecretPath(channelId));
    } catch (error: unknown) {
      if (error instanceof NotFoundError) return;
      throw error;
    }
  }
}
