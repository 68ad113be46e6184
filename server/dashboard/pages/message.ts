import { html, type Html } from '../html.js'

/** A page that only says something: not found, a form that expired, an error. */
export function messagePage(input: { title: string; message: string; link?: { href: string; label: string } }): Html {
  return html`<section class="card narrow">
  <h1>${input.title}</h1>
  <p>${input.message}</p>
  ${input.link ? html`<p><a class="button" href="${input.link.href}">${input.link.label}</a></p>` : ''}
</section>`
}
