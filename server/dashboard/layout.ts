import { BRAND_HTML, FAVICON_DATA_URL } from '../../contract/page-look.js'
import { html, trusted, type Html } from './html.js'

export type NavItem = 'sessions' | 'stats' | 'settings' | 'outbox'

export interface PageOptions {
  title: string
  body: Html
  /** Signed-in pages get the navigation and the sign-out button. */
  signedIn?: { phoneMasked: string; csrfToken: string; current?: NavItem; showOutbox: boolean }
  /** Pages that refresh their #live region when the server pushes an update; the value filters by session. */
  live?: { monitoringId?: string }
  /** Per-response nonce allowing the one inline script (Content-Security-Policy). */
  nonce: string
}

const NAV: { item: NavItem; href: string; label: string }[] = [
  { item: 'sessions', href: '/dashboard/sessions', label: 'Sessions' },
  { item: 'stats', href: '/dashboard/stats', label: 'Stats' },
  { item: 'settings', href: '/dashboard/settings', label: 'Settings' },
  { item: 'outbox', href: '/dashboard/outbox', label: 'Outbox' },
]

/**
 * The one piece of JavaScript: keeps the #live region current. On each pushed update it fetches this
 * same page and swaps in the new #live region (coalescing bursts), so rendering stays on the server and
 * every page still works without JavaScript.
 */
export const LIVE_SCRIPT = `(function () {
  if (!window.EventSource || !window.fetch || !window.DOMParser) return;
  var body = document.body, only = body.getAttribute('data-live-session') || '';
  var busy = false, again = false, opened = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: 'same-origin', headers: { accept: 'text/html' } })
      .then(function (r) { if (!r.ok || r.redirected) throw new Error('signed out'); return r.text(); })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, 'text/html').getElementById('live');
        var current = document.getElementById('live');
        if (fresh && current) current.replaceWith(document.adoptNode(fresh));
        body.setAttribute('data-refreshed', String(Number(body.getAttribute('data-refreshed') || 0) + 1));
      })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  var source = new EventSource('/dashboard/live');
  source.addEventListener('open', function () {
    body.setAttribute('data-live', 'on');
    if (opened) refresh();
    opened = true;
  });
  source.addEventListener('error', function () { body.setAttribute('data-live', 'off'); });
  // The server ended this stream for good (signed out, sign-in expired, too many open pages): no reconnecting.
  // The page stays as it is (a sign-out in this tab is already navigating); the next click finds the login.
  source.addEventListener('closed', function () {
    source.close();
    body.setAttribute('data-live', 'closed');
  });
  source.addEventListener('update', function (e) {
    try { var u = JSON.parse(e.data); if (only && u.monitoringId && u.monitoringId !== only) return; } catch (err) {}
    refresh();
  });
})();`

export function page(opts: PageOptions): Html {
  const s = opts.signedIn
  const nav = s
    ? html`<nav class="nav" aria-label="Dashboard">
        ${NAV.filter((n) => n.item !== 'outbox' || s.showOutbox).map(
          (n) => html`<a href="${n.href}"${n.item === s.current ? html` aria-current="page"` : ''}>${n.label}</a>`,
        )}
      </nav>
      <div class="who">
        <span title="Signed in">${s.phoneMasked}</span>
        <form method="post" action="/dashboard/logout">
          <input type="hidden" name="csrf" value="${s.csrfToken}">
          <button type="submit" class="quiet">Sign out</button>
        </form>
      </div>`
    : ''
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${opts.title} · Claude SMS</title>
<link rel="icon" href="${FAVICON_DATA_URL}">
<link rel="stylesheet" href="/dashboard/static/style.css">
</head>
<body${opts.live ? html` data-live="off"${opts.live.monitoringId ? html` data-live-session="${opts.live.monitoringId}"` : ''}` : ''}>
<header class="top"><div class="top-inner">
  <a class="brand" href="/dashboard">${trusted(BRAND_HTML)}</a>
  ${nav}
</div></header>
<main>
${opts.body}
</main>
${opts.live ? html`<script nonce="${opts.nonce}">${trusted(LIVE_SCRIPT)}</script>` : ''}
</body>
</html>`
}

