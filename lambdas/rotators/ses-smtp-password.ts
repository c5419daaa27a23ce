/**
 * Amazon SES SMTP credentials from an IAM access key, with the algorithm AWS documents in
 * "Obtaining Amazon SES SMTP credentials" (the SigV4 key derivation): an HMAC-SHA256 chain keyed
 * "AWS4" + secret access key over the fixed date "11111111", the region, "ses", "aws4_request",
 * then the message "SendRawEmail"; a version byte 0x04 is prepended and the result is base64.
 * The SMTP user name is the access key id. A password is valid in one region only.
 */
import { createHmac } from 'node:crypto';

const DATE = '11111111';
const SERVICE = 'ses';
const TERMINAL = 'aws4_request';
const MESSAGE = 'SendRawEmail';
const VERSION = 0x04;

function hmac(key: Buffer | string, message: string): Buffer {
  return createHmac('sha256', key).update(message, 'utf8').digest();
}

/** The SES SMTP password of `secretAccessKey` for `region`. */
export function sesSmtpPassword(secretAccessKey: string, region: string): string {
  let signature = hmac(`AWS4${secretAccessKey}`, DATE);
  for (const part of [region, SERVICE, TERMINAL, MESSAGE]) signature = hmac(signature, part);
  return Buffer.concat([Buffer.from([VERSION]), signature]).toString('base64');
}

/** The SES SMTP interface's host name in `region` (STARTTLS on 587, or 25 / 2587). */
export function sesSmtpHost(region: string): string {
  return `email-smtp.${region}.amazonaws.com`;
}
