/**
 * The local issuer's sign-in page (what Cognito's Hosted UI shows in AWS): a plain HTML form
 * with no script at all, styled by one inline stylesheet that the page's CSP admits by its hash.
 */
import { createHash } from 'node:crypto';

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

// Colours meet WCAG 2.2 AA contrast on both schemes (text ≥ 4.5:1, borders and focus ≥ 3:1).
const STYLESHEET = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: #f1f5f9; color: #0f172a; }
main { width: min(24rem, calc(100vw - 2rem)); background: #fff; border: 1px solid #64748b; border-radius: 0.5rem; padding: 1.5rem; }
h1 { font-size: 1.375rem; margin: 0 0 0.25rem; }
p { margin: 0 0 1rem; color: #334155; }
label { display: block; font-weight: 600; margin: 1rem 0 0.25rem; }
input { box-sizing: border-box; width: 100%; padding: 0.5rem; font: inherit; color: inherit; background: inherit; border: 1px solid #475569; border-radius: 0.25rem; }
button { margin-top: 1.5rem; width: 100%; padding: 0.625rem; font: inherit; font-weight: 600; color: #fff; background: #1d4ed8; border: 0; border-radius: 0.25rem; cursor: pointer; }
input:focus-visible, button:focus-visible { outline: 3px solid #1d4ed8; outline-offset: 2px; }
.alert { margin: 1rem 0 0; padding: 0.5rem 0.75rem; border: 1px solid #b91c1c; border-radius: 0.25rem; color: #7f1d1d; background: #fef2f2; }
@media (prefers-color-scheme: dark) {
  body { background: #0f172a; color: #f1f5f9; }
  main { background: #1e293b; border-color: #94a3b8; }
  p { color: #cbd5e1; }
  input { border-color: #94a3b8; }
  input:focus-visible, button:focus-visible { outline-color: #93c5fd; }
  .alert { color: #fecaca; background: #450a0a; border-color: #f87171; }
}
`;

const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLESHEET, 'utf8').digest('base64')}'`;

/**
 * The page's policy: nothing but its own stylesheet; the form posts to this origin, whose answer
 * redirects to the dashboard's callback (Chromium checks form-action on that redirect too).
 */
export function signInPageCsp(redirectOrigin: string): string {
  return [
    "default-src 'none'",
    `style-src ${STYLE_HASH}`,
    `form-action 'self' ${redirectOrigin}`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export interface SignInPage {
  /** Hidden fields that carry the authorization request and the form token to the POST. */
  readonly hiddenFields: Readonly<Record<string, string>>;
  readonly username?: string;
  /** Shown in an alert: a failed sign-in or a lockout. */
  readonly error?: string;
  readonly formAction: string;
}

export function renderSignInPage(page: SignInPage): string {
  const hidden = Object.entries(page.hiddenFields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n      ');
  const alert = page.error === undefined ? '' : `<p class="alert" role="alert">${escapeHtml(page.error)}</p>`;
  // autofocus moves the keyboard to the field that needs typing next, without any script.
  const focusUsername = page.username === undefined || page.username.length === 0;
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in · VaultPilot</title>
  <style>${STYLESHEET}</style>
</head>
<body>
  <main>
    <h1>Sign in to VaultPilot</h1>
    <p>Local identity provider. Users are managed with <code>npx vaultpilot users</code>.</p>
    ${alert}
    <form method="post" action="${escapeHtml(page.formAction)}">
      ${hidden}
      <label for="username">Username</label>
      <input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="128" value="${escapeHtml(page.username ?? '')}"${focusUsername ? ' autofocus' : ''}>
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256"${focusUsername ? '' : ' autofocus'}>
      <button type="submit">Sign in</button>
    </form>
  </main>
</body>
</html>
`;
}

/** A request the sign-in page cannot serve (unknown client, foreign redirect URI): no redirect. */
export function renderAuthorizeErrorPage(message: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign-in request refused · VaultPilot</title>
  <style>${STYLESHEET}</style>
</head>
<body>
  <main>
    <h1>Sign-in request refused</h1>
    <p class="alert" role="alert">${escapeHtml(message)}</p>
  </main>
</body>
</html>
`;
}
