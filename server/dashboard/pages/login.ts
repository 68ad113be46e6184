import { html, type Html } from '../html.js'

export interface LoginPageInput {
  csrfToken: string
  error?: string
  notice?: string
  /** Console transport: codes are written to the server's log, not texted. */
  consoleMode: boolean
}

const consoleHint = html`<p class="notice small" id="console-mode">Twilio is not configured on this server, so nothing is really texted:
  the code is printed on the <b>server's terminal</b>, in a line starting "[console text]" (whatever LOG_LEVEL is). Once you
  are signed in, the outbox shows the codes sent to your number while they work.</p>`

/** Step 1: the phone number. */
export function loginPhonePage(input: LoginPageInput & { phone?: string; defaultCallingCode?: string }): Html {
  return html`<section class="card narrow">
  <h1>Sign in</h1>
  <p class="muted">Enter the mobile number your Claude Code sessions text. We text it a 6-digit code.</p>
  ${input.error ? html`<p class="notice error" role="alert">${input.error}</p>` : ''}
  ${input.notice ? html`<p class="notice" role="status">${input.notice}</p>` : ''}
  ${input.consoleMode ? consoleHint : ''}
  <form method="post" action="/dashboard/login">
    <input type="hidden" name="csrf" value="${input.csrfToken}">
    <label for="phone">Mobile number</label>
    <input id="phone" name="phone" type="tel" inputmode="tel" autocomplete="tel" required maxlength="40"
      placeholder="${input.defaultCallingCode ?? '+1'} 415 555 2671" value="${input.phone ?? ''}" autofocus>
    <div class="actions"><button type="submit">Text me a code</button></div>
  </form>
</section>`
}

/** Step 2: the code that was texted. */
export function loginCodePage(input: LoginPageInput & { phoneMasked: string }): Html {
  return html`<section class="card narrow">
  <h1>Enter the code</h1>
  <p class="muted">We texted a 6-digit code to <b>${input.phoneMasked}</b>. It works for 10 minutes.</p>
  ${input.error ? html`<p class="notice error" role="alert">${input.error}</p>` : ''}
  ${input.consoleMode ? consoleHint : ''}
  <form method="post" action="/dashboard/login/code">
    <input type="hidden" name="csrf" value="${input.csrfToken}">
    <label for="code">Code</label>
    <input id="code" name="code" class="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}"
      maxlength="6" required autofocus>
    <div class="actions"><button type="submit">Sign in</button> <a href="/dashboard/login?again=1">Use another number</a></div>
  </form>
</section>`
}
