/**
 * The pairing pages a person sees in the browser opened by /sms-notifier:sms-setup: plain HTML, no JavaScript,
 * readable on a phone. Pure functions from what to show to a string; every value is escaped.
 */
import { BRAND_HTML, BRAND_TEXT, FAVICON_DATA_URL, STANDALONE_PAGE_CSS } from '../../contract/page-look.js'

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => escapes[c]!)
}

// The dashboard's brand and palette (contract/page-look.ts), plus this page's form.
const styles = `${STANDALONE_PAGE_CSS}
  label { display: block; font-weight: 600; margin-top: 1.25rem; }
  .hint { margin: 0.25rem 0 0.5rem; font-size: .875rem; color: var(--muted); }
  input[type=tel] { width: 100%; font: inherit; font-size: 1.25rem; padding: 0.7rem; border: 1px solid var(--line); border-radius: 8px; background: var(--bg); color: var(--ink); }
  input[type=tel]:focus { outline: 3px solid var(--accent); outline-offset: 1px; }
  button { margin-top: 1.25rem; width: 100%; min-height: 3rem; font: inherit; font-weight: 600; color: var(--accent-ink); background: var(--accent); border: 0; border-radius: 8px; cursor: pointer; }
  button:focus-visible { outline: 3px solid var(--ink); outline-offset: 3px; }
  .error { border-left: 0.25rem solid #c62828; padding: 0.5rem 0.75rem; margin: 1rem 0; background: var(--bg); border-radius: 0 8px 8px 0; }
  .error p { margin: 0; }
  .small { font-size: .875rem; color: var(--muted); margin-top: 1.5rem; }
`

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} · ${BRAND_TEXT}</title>
<link rel="icon" href="${FAVICON_DATA_URL}">
<style>${styles}</style>
</head>
<body>
<header class="top"><div class="top-inner"><span class="brand">${BRAND_HTML}</span></div></header>
<main>
<section class="card narrow">
${body}
</section>
</main>
</body>
</html>
`
}

export interface LoginFormPage {
  state: string
  callbackUri: string
  src?: string
  phone?: string
  /** Shown above the form when the last try failed; `code` is the API error code. */
  error?: { code: string; message: string }
  /** The country national numbers are read in, for the hint ("+1" → numbers like (415) 555-2671). */
  defaultCallingCode?: string
  /** No Twilio account configured: the code is printed on the server's terminal, not texted. */
  consoleMode?: boolean
}

/** Where the code is when the server texts nobody (server/sms/console.ts). */
export const CONSOLE_MODE_NOTICE =
  'This server runs without Twilio, so nothing is really texted: your code is printed on the server\'s terminal, in a line starting "[console text]", and shown on the dashboard\'s outbox (/dashboard/outbox) once you are signed in with this number.'

/** GET /login: asks for the phone number. */
export function loginFormPage(p: LoginFormPage): string {
  const hintExample = p.defaultCallingCode === '+1' ? 'For example (415) 555-2671.' : `For example ${p.defaultCallingCode ?? '+1'} followed by your number.`
  const alert = p.error
    ? `<div class="error" role="alert" id="phone-error" data-error="${escapeHtml(p.error.code)}"><p>${escapeHtml(p.error.message)}</p></div>\n`
    : ''
  const describedBy = p.error ? 'phone-hint phone-error' : 'phone-hint'
  return layout(
    'Pair your phone',
    `<h1>Get a text when Claude Code needs you</h1>
<p>Enter your mobile number. We will text you a 6-digit code; type it into Claude Code to finish pairing.</p>
${p.consoleMode ? `<p class="notice" id="console-mode">${escapeHtml(CONSOLE_MODE_NOTICE)}</p>\n` : ''}${alert}<form method="post" action="/login">
<input type="hidden" name="state" value="${escapeHtml(p.state)}">
<input type="hidden" name="callback_uri" value="${escapeHtml(p.callbackUri)}">
${p.src ? `<input type="hidden" name="src" value="${escapeHtml(p.src)}">\n` : ''}<label for="phone">Mobile number</label>
<p class="hint" id="phone-hint">${escapeHtml(hintExample)} Numbers outside ${escapeHtml(p.defaultCallingCode ?? '+1')} need their country code.</p>
<input type="tel" id="phone" name="phone" autocomplete="tel" inputmode="tel" required minlength="3" maxlength="40" value="${escapeHtml(p.phone ?? '')}" aria-describedby="${describedBy}"${p.error ? ' aria-invalid="true" autofocus' : ''}>
<button type="submit">Text me a code</button>
</form>
<p class="small">One text per pairing. Message and data rates may apply. Reply STOP to any text to stop them.</p>`,
  )
}

/** A link that cannot be used (bad or non-loopback callback_uri, missing state): no form, no redirect. */
export function badLoginLinkPage(error: { code: string; message: string }): string {
  return layout(
    'This link cannot be used',
    `<h1>This pairing link cannot be used</h1>
<div class="error" role="alert" data-error="${escapeHtml(error.code)}"><p>${escapeHtml(error.message)}</p></div>
<p>Pairing links come from the claude-sms-notifier plugin on your own computer. In Claude Code, run <code>/sms-notifier:sms-setup</code> to open a new one.</p>`,
  )
}
