/**
 * The settings of `aws-iam-access-key` credentials, apart from the rotator (./aws-iam-access-key.ts)
 * so that the API functions that only check settings bundle no IAM, STS or Secrets Manager client.
 */
import * as z from 'zod';
import { iamKeyCopyName } from './iam-key-copy.js';
import { checkSettings, invalidSettings } from './settings-section.js';

const TYPE = 'aws-iam-access-key';

export const IamKeySettingsSchema = z.strictObject({
  userName: z.string().regex(/^[\w+=,.@-]{1,64}$/, 'expected an IAM user name'),
  /** Also keep the current key in a Secrets Manager secret only that user may read. */
  secretsManagerCopy: z.boolean().default(false),
});
export type IamKeySettings = z.output<typeof IamKeySettingsSchema>;

/**
 * Checks the settings of an IAM key rotation. `copyPrefix` is the prefix of the Secrets Manager
 * copies where this deployment makes them; without it, `secretsManagerCopy` is refused.
 */
export function parseIamKeySettings(raw: unknown, copyPrefix: string | undefined): IamKeySettings {
  // Only this type's fields: a registration's fields of other types are not its business.
  const fields = raw as Record<string, unknown>;
  const settings = checkSettings(
    TYPE,
    typeof raw === 'object' && raw !== null
      ? { userName: fields.userName, secretsManagerCopy: fields.secretsManagerCopy }
      : raw,
    IamKeySettingsSchema,
  );
  if (settings.secretsManagerCopy) {
    const problem =
      copyPrefix === undefined
        ? 'no Secrets Manager is configured for copies here'
        : iamKeyCopyName(copyPrefix, settings.userName) === undefined
          ? 'a Secrets Manager secret cannot be named after this user (names allow A-Z a-z 0-9 / _ + = . @ -)'
          : undefined;
    if (problem !== undefined) {
      throw invalidSettings(TYPE, [{ path: 'secretsManagerCopy', code: 'custom', message: problem }]);
    }
  }
  return settings;
}
