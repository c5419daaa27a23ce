/**
 * The SES SMTP password derivation against values computed independently of the implementation,
 * by AWS's published Python algorithm (fixtures/ses-smtp-passwords.py, output committed as
 * fixtures/ses-smtp-passwords.json).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sesSmtpHost, sesSmtpPassword } from '../../lambdas/rotators/ses-smtp-password.js';

interface Case {
  readonly secretAccessKey: string;
  readonly region: string;
  readonly password: string;
}

const cases = JSON.parse(
  readFileSync(new URL('./fixtures/ses-smtp-passwords.json', import.meta.url), 'utf8'),
) as Case[];

describe('sesSmtpPassword', () => {
  it.each(cases.map((c) => [c.region, c] as const))(
    'matches the independently computed password in %s',
    (_region, c) => {
      // Prepare: a case from the fixture. Act
      const password = sesSmtpPassword(c.secretAccessKey, c.region);
      // Assess
      expect(password).toBe(c.password);
    },
  );

  it('gives a different password in each region and starts with the version byte 0x04', () => {
    // Prepare
    const secret = cases[0]?.secretAccessKey ?? '';
    // Act
    const passwords = ['us-east-1', 'eu-west-1', 'us-west-2'].map((region) =>
      sesSmtpPassword(secret, region),
    );
    // Assess
    expect(new Set(passwords).size).toBe(3);
    for (const password of passwords) {
      const bytes = Buffer.from(password, 'base64');
      expect(bytes.length).toBe(33);
      expect(bytes[0]).toBe(0x04);
    }
  });

  it('names the regional SMTP endpoint', () => {
    expect(sesSmtpHost('eu-west-1')).toBe('email-smtp.eu-west-1.amazonaws.com');
  });
});
