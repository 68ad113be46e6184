/**
 * The look of the small standalone pages a person meets while pairing: the server's sign-in page
 * (server/pages/login.ts) and the "check your phone" page of the plugin's loopback listener
 * (mcp/login-callback.ts). They share the dashboard's brand, palette and card, but cannot load its
 * stylesheet (the loopback page is served by the plugin, the sign-in page allows inline styles only),
 * so this is that stylesheet's essentials, inline. The palette is the dashboard's own
 * (server/dashboard/static/style.css): test/dashboard/page-look.test.ts keeps the two in step.
 */

/** The brand in the header, as the dashboard shows it. */
export const BRAND_HTML = 'Claude <span>SMS</span>'
export const BRAND_TEXT = 'Claude SMS'

/** A speech bubble in the accent colour: every page declares it, so no browser asks for /favicon.ico. */
export const FAVICON_DATA_URL =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Crect width='32' height='32' rx='7' fill='%23c15f3c'/%3E%3Cpath d='M8 9h16a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2h-9l-5 4v-4H8a2 2 0 0 1-2-2v-8a2 2 0 0 1 2-2z' fill='%23fff'/%3E%3C/svg%3E"

export const PALETTE_LIGHT = { bg: '#f6f7f9', card: '#fff', ink: '#1c2330', muted: '#5d6776', line: '#e2e6ec', accent: '#c15f3c' }
export const PALETTE_DARK = { bg: '#14171c', card: '#1d2128', ink: '#e8ebf0', muted: '#9aa3b0', line: '#2e343d', accent: '#e07a52' }

const vars = (p: Record<string, string>) =>
  Object.entries(p)
    .map(([k, v]) => `--${k}: ${v};`)
    .join(' ')

export const STANDALONE_PAGE_CSS = `
:root { ${vars(PALETTE_LIGHT)} --accent-ink: #fff; --radius: 10px; color-scheme: light dark; }
@media (prefers-color-scheme: dark) { :root { ${vars(PALETTE_DARK)} } }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
a { color: var(--accent); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; white-space: nowrap; }
.top { background: var(--card); border-bottom: 1px solid var(--line); }
.top-inner { max-width: 1100px; margin: 0 auto; padding: .6rem 1rem; }
.brand { font-weight: 700; color: var(--ink); text-decoration: none; }
.brand span { color: var(--accent); }
main { max-width: 1100px; margin: 0 auto; padding: 1rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); padding: 1rem 1.25rem 1.25rem; }
.narrow { max-width: 28rem; margin: 2rem auto; }
h1 { font-size: 1.4rem; line-height: 1.25; margin: .25rem 0 1rem; }
.muted { color: var(--muted); }
`
