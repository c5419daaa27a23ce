/** The facts routing and messages use, read from the credential inventory. */
import { effectiveTags } from '../credentials/credential.js';
import type { CredentialStore } from '../credentials/credential-store.js';
import type { SubjectLookup } from './ports.js';
import type { NotificationSubject } from './routing.js';

export class InventorySubjects implements SubjectLookup {
  constructor(private readonly store: Pick<CredentialStore, 'get'>) {}

  async subject(tenant: string, credentialId: string): Promise<NotificationSubject | undefined> {
    const credential = await this.store.get(tenant, credentialId);
    if (credential === undefined) return undefined;
    return {
      credentialId: credential.id,
      name: credential.name,
      type: credential.type,
      owner: credential.owner,
      tags: effectiveTags(credential),
      path: credential.rotation?.secretPath ?? credential.reference.path,
    };
  }
}
