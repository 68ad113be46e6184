/**
 * The dashboard's only way to build HTML: a tagged template that escapes every interpolated value
 * unless it is already Html (made by this same tag). Descriptions, errors and texts come from users and
 * from Claude, so nothing reaches a page unescaped by accident.
 */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' }

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => HTML_ESCAPES[c]!)
}

/** Markup that is known safe: produced by `html` or wrapped on purpose with `trusted`. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value
  }
}

type Interpolation = Html | string | number | boolean | null | undefined | readonly Interpolation[]

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return ''
  if (value instanceof Html) return value.value
  if (Array.isArray(value)) return value.map(render).join('')
  return escapeHtml(String(value))
}

/** html`<p>${description}</p>`: strings are escaped, Html and arrays of Html are kept, null/false vanish. */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  let out = strings[0]!
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!
  return new Html(out)
}

/** For constant markup written in this code base only (the inline script, the stylesheet link). */
export function trusted(markup: string): Html {
  return new Html(markup)
}
