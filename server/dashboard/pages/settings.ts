import { html, type Html } from '../html.js'
import type { UserSettings } from '../settings-store.js'
import { toWallTime } from '../zoned-time.js'
import { formatTime } from '../format.js'

let zones: string[] | undefined
function timeZones(): string[] {
  zones ??= [...new Set(['UTC', ...Intl.supportedValuesOf('timeZone')])]
  return zones
}

export function settingsPage(input: { settings: UserSettings; csrfToken: string; now: Date; saved?: boolean; error?: string; nonce: string }): Html {
  const s = input.settings
  const paused = s.pausedUntil && s.pausedUntil.getTime() > input.now.getTime() ? s.pausedUntil : null
  const checked = (on: boolean) => (on ? html` checked` : '')
  return html`<h1>Settings</h1>
${input.saved ? html`<p class="notice" role="status">Saved. The next event follows these settings.</p>` : ''}
${input.error ? html`<p class="notice error" role="alert">${input.error}</p>` : ''}
<form method="post" action="/dashboard/settings" class="settings">
  <input type="hidden" name="csrf" value="${input.csrfToken}">
  <fieldset>
    <legend>Quiet hours</legend>
    <label class="check"><input type="checkbox" name="quiet_enabled" id="quiet_enabled"${checked(s.quietHoursEnabled)}>
      <span>Hold texts during quiet hours, and send one summary when they end</span></label>
    <div class="row">
      <div><label for="quiet_start">From</label><input type="time" id="quiet_start" name="quiet_start" value="${s.quietStart}" required></div>
      <div><label for="quiet_end">Until</label><input type="time" id="quiet_end" name="quiet_end" value="${s.quietEnd}" required></div>
      <div><label for="time_zone">Time zone</label>
        <select id="time_zone" name="time_zone"${s.saved ? '' : html` data-guess`}>${timeZones().map(
          (z) => html`<option${z === s.timeZone ? html` selected` : ''}>${z}</option>`,
        )}</select></div>
    </div>
    <label class="check"><input type="checkbox" name="quiet_allow_waiting" id="quiet_allow_waiting"${checked(s.quietAllowWaiting)}>
      <span>Still text me when Claude is <b>waiting</b> for me</span></label>
  </fieldset>
  <fieldset>
    <legend>Pause</legend>
    <label for="paused_until">Pause all texts until</label>
    <input type="datetime-local" id="paused_until" name="paused_until" value="${paused ? toWallTime(paused, s.timeZone) : ''}">
    <p class="hint">${paused ? `Paused until ${formatTime(paused, s.timeZone, input.now)} (${s.timeZone}). Clear the field to resume now; what was held is sent as one summary.` : 'Not paused. You can also text PAUSE 2h or RESUME to the service number.'}</p>
  </fieldset>
  <fieldset>
    <legend>Alerts</legend>
    <label class="check"><input type="checkbox" name="went_dark_alerts" id="went_dark_alerts"${checked(s.wentDarkAlerts)}>
      <span>Text me when a session <b>goes dark</b> (heartbeats stop: laptop asleep, network gone)</span></label>
    <label for="done_threshold_minutes">Text "done" only for turns longer than (minutes)</label>
    <input type="number" id="done_threshold_minutes" name="done_threshold_minutes" min="0" max="1440" step="1" value="${s.doneThresholdMinutes}" required>
    <p class="hint">0 leaves it to the plugin (<code>CLAUDE_SMS_DONE_THRESHOLD</code>, 5 minutes by default). A session that ends is always texted.</p>
  </fieldset>
  <fieldset>
    <legend>Answering from the phone</legend>
    <label class="check"><input type="checkbox" name="approvals_disabled" id="approvals_disabled"${checked(s.approvalsDisabled)}>
      <span><b>Never accept approvals by text</b> (for every session, whatever <code>/sms-notifier:sms-start</code> asked)</span></label>
    <p class="hint">When off, a session started with approvals on texts Claude's permission requests with a tag, and a reply such as Y K7QX answers them.</p>
  </fieldset>
  <fieldset>
    <legend>Phone calls</legend>
    <p class="hint">Call me when a request or a wait stays unanswered for
      <input type="number" id="call_after_minutes" name="call_after_minutes" min="5" max="120" step="1" value="${s.callAfterMinutes}" required aria-label="Minutes before a call"> minutes:</p>
    <label class="check"><input type="checkbox" name="call_for_requests" id="call_for_requests"${checked(s.callForRequests)}>
      <span>for <b>permission requests</b> (the call reads it out: press 1 to allow, 2 to deny)</span></label>
    <label class="check"><input type="checkbox" name="call_for_waits" id="call_for_waits"${checked(s.callForWaits)}>
      <span>for plain <b>waiting</b> texts (the call reads what Claude asks; you answer at the terminal)</span></label>
    <label class="check"><input type="checkbox" name="calls_break_quiet_hours" id="calls_break_quiet_hours"${checked(s.callsBreakQuietHours)}>
      <span>Calls may break <b>quiet hours</b> and pauses</span></label>
    <p class="hint">One call per request or wait, none once it is answered. Texting STOP stops calls too.</p>
  </fieldset>
  <div class="actions"><button type="submit">Save settings</button></div>
</form>
<form method="post" action="/dashboard/sign-out-everywhere" class="settings" id="sign-out-everywhere">
  <input type="hidden" name="csrf" value="${input.csrfToken}">
  <fieldset>
    <legend>Sign out everywhere</legend>
    <p class="hint">Unpairs every computer that texts this number, stops its monitored sessions, and signs out every browser on this dashboard, this one included. Use it if a computer or a token may be in someone else's hands. You pair again with /sms-notifier:sms-setup.</p>
    <div class="actions"><button type="submit" class="danger">Sign out everywhere</button></div>
  </fieldset>
</form>
${
  s.saved
    ? ''
    : html`<script nonce="${input.nonce}">(function () {
  var select = document.querySelector('select[data-guess]');
  var zone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!select || !zone) return;
  for (var i = 0; i < select.options.length; i++) if (select.options[i].value === zone) { select.value = zone; break; }
})();</script>`
}`
}
