/**
 * Channel secrets in VaultPilot's own secret store (encrypted, versioned), one secret per channel
 * at `channelSecretPath(id)`; the settings item never holds them.
 */
import { NotFoundError } from '../errors.js';
import type { SecretsService } from '../secrets/kv-service.js';
import { type ChannelSecret, channelSecretPath, parseChannelSecret } from './channel.js';
import type { ChannelSecrets } from './ports.js';

const ACTOR = 'system:notifier';

export class StoredChannelSecrets implements ChannelSecrets {
  constructor(private readonly secrets: Pick<SecretsService, 'read' | 'write'>) {}

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
}
