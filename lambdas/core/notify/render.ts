/**
 * One message, four forms: email (text and HTML parts), Slack Block Kit, SNS (the event as JSON
 * with a human subject) and the signed webhook body. Every piece of text is escaped for its form.
 */
import { createHmac } from 'node:crypto';
import type { NotificationMessage } from './message.js';

export interface RenderedEmail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

const SEVERITY_COLOUR: Readonly<Record<string, string>> = {
  critical: '#b42318',
  high: '#c4320a',
  medium: '#b54708',
  low: '#475467',
};

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Subjects are one line: no header injection through a credential name. */
function oneLine(value: string, max: number): string {
  const flat = value.replace(/[\r\n\t]+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

export function renderEmail(message: NotificationMessage): RenderedEmail {
  const subject = oneLine(`[VaultPilot] ${message.title}`, 200);
  const width = Math.max(...message.facts.map((fact) => fact.label.length));
  const text = [
    message.title,
    '',
    message.summary,
    '',
    ...message.facts.map((fact) => `${`${fact.label}:`.padEnd(width + 2)}${fact.value}`),
    '',
    ...(message.nextSteps.length === 0
      ? []
      : ['What to do next:', ...message.nextSteps.map((step) => `- ${step}`), '']),
    `Open in VaultPilot: ${message.link}`,
    '',
    `Event ${message.eventType} ${message.eventId}`,
    '',
  ].join('\n');
  const colour = SEVERITY_COLOUR[message.severity] ?? '#475467';
  const rows = message.facts
    .map(
      (fact) =>
        `<tr><th align="left" style="padding:4px 12px 4px 0;color:#475467;font-weight:600">${escapeHtml(fact.label)}</th><td style="padding:4px 0">${escapeHtml(fact.value)}</td></tr>`,
    )
    .join('');
  const steps =
    message.nextSteps.length === 0
      ? ''
      : `<h2 style="font-size:16px;margin:20px 0 8px">What to do next</h2><ul>${message.nextSteps.map((step) => `<li>${escapeHtml(step)}</li>`).join('')}</ul>`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(message.title)}</title></head>
<body style="font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#101828;max-width:640px;margin:0 auto;padding:16px">
<p style="margin:0 0 8px;color:${colour};font-weight:700;text-transform:uppercase;font-size:12px">${escapeHtml(message.severity)}</p>
<h1 style="font-size:20px;margin:0 0 12px">${escapeHtml(message.title)}</h1>
<p>${escapeHtml(message.summary)}</p>
<table role="presentation" style="border-collapse:collapse;margin:12px 0">${rows}</table>
${steps}
<p style="margin:24px 0"><a href="${escapeHtml(message.link)}" style="background:#1849a9;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none">Open in VaultPilot</a></p>
<p style="color:#667085;font-size:12px">Event ${escapeHtml(message.eventType)} ${escapeHtml(message.eventId)}</p>
</body></html>
`;
  return { subject, text, html };
}

/** Slack's mrkdwn needs only &, < and > escaped. */
export function escapeSlack(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

export interface SlackPayload {
  readonly text: string;
  readonly blocks: readonly Record<string, unknown>[];
}

const SEVERITY_EMOJI: Readonly<Record<string, string>> = {
  critical: ':red_circle:',
  high: ':large_orange_circle:',
  medium: ':large_yellow_circle:',
  low: ':white_circle:',
};

export function renderSlack(message: NotificationMessage): SlackPayload {
  const facts = message.facts.slice(0, 10).map((fact) => ({
    type: 'mrkdwn',
    text: `*${escapeSlack(fact.label)}*\n${escapeSlack(fact.value).slice(0, 1900)}`,
  }));
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: oneLine(message.title, 150), emoji: true } },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `${SEVERITY_EMOJI[message.severity] ?? ''} ${escapeSlack(message.summary)}`.trim(),
      },
    },
    { type: 'section', fields: facts },
  ];
  if (message.nextSteps.length > 0) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*What to do next*\n${message.nextSteps.map((step) => `• ${escapeSlack(step)}`).join('\n')}`,
      },
    });
  }
  blocks.push({
    type: 'actions',
    elements: [
      { type: 'button', text: { type: 'plain_text', text: 'Open in VaultPilot' }, url: message.link },
    ],
  });
  blocks.push({
    type: 'context',
    elements: [
      { type: 'mrkdwn', text: `${escapeSlack(message.eventType)} · ${escapeSlack(message.eventId)}` },
    ],
  });
  // `text` is the notification preview and the fallback where blocks do not show.
  return { text: oneLine(`${message.title}: ${message.summary}`, 3000), blocks };
}

export interface SnsNotification {
  /** SNS subjects: ASCII-ish, one line, at most 100 characters. */
  readonly subject: string;
  readonly message: string;
}

/** The JSON body of SNS and webhook notifications (schema `NotificationBodySchema` in the contracts). */
export function notificationBody(
  message: NotificationMessage,
  event: { readonly detail: Readonly<Record<string, unknown>> },
) {
  return {
    version: '1',
    id: message.eventId,
    type: message.eventType,
    tenant: message.tenant,
    time: message.time,
    severity: message.severity,
    title: message.title,
    summary: message.summary,
    facts: message.facts,
    nextSteps: message.nextSteps,
    link: message.link,
    detail: event.detail,
  };
}

export function renderSns(
  message: NotificationMessage,
  event: { readonly detail: Readonly<Record<string, unknown>> },
): SnsNotification {
  // SNS refuses subjects with control characters or over 100 characters.
  const subject = oneLine(message.title, 100).replace(/[^\x20-\x7E]/g, '?');
  return { subject, message: JSON.stringify(notificationBody(message, event)) };
}

export const WEBHOOK_HEADERS = {
  timestamp: 'x-vaultpilot-timestamp',
  signature: 'x-vaultpilot-signature',
  eventId: 'x-vaultpilot-event-id',
  eventType: 'x-vaultpilot-event-type',
} as const;

/** `v1=` + hex HMAC-SHA256 over `<timestamp>.<body>` with the channel's signing key. */
export function signWebhook(signingKey: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', signingKey).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface SignedWebhook {
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

export function renderWebhook(
  message: NotificationMessage,
  event: { readonly detail: Readonly<Record<string, unknown>> },
  signingKey: string,
  now: Date,
): SignedWebhook {
  const body = JSON.stringify(notificationBody(message, event));
  const timestamp = String(Math.floor(now.getTime() / 1000));
  return {
    body,
    headers: {
      'content-type': 'application/json',
      [WEBHOOK_HEADERS.timestamp]: timestamp,
      [WEBHOOK_HEADERS.signature]: signWebhook(signingKey, timestamp, body),
      [WEBHOOK_HEADERS.eventId]: message.eventId,
      [WEBHOOK_HEADERS.eventType]: message.eventType,
    },
  };
}
