import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { PALETTE_DARK, PALETTE_LIGHT, STANDALONE_PAGE_CSS } from '../../contract/page-look.js'

const stylesheet = readFileSync('server/dashboard/static/style.css', 'utf8')

/** The custom properties of the first `:root { ... }` block after `from` in the stylesheet. */
function rootVariables(css: string, from = 0): Record<string, string> {
  const start = css.indexOf(':root {', from)
  const block = css.slice(start, css.indexOf('}', start))
  return Object.fromEntries([...block.matchAll(/--([\w-]+):\s*([^;]+);/g)].map((m) => [m[1]!, m[2]!.trim()]))
}

describe("the pairing pages' look", () => {
  it("uses the dashboard's palette, light and dark, so that changing one without the other fails here", () => {
    const light = rootVariables(stylesheet)
    const dark = rootVariables(stylesheet, stylesheet.indexOf('@media (prefers-color-scheme: dark)'))
    for (const [name, value] of Object.entries(PALETTE_LIGHT)) expect(light[name], `--${name}`).toBe(value)
    for (const [name, value] of Object.entries(PALETTE_DARK)) expect(dark[name], `dark --${name}`).toBe(value)
    expect(STANDALONE_PAGE_CSS).toContain(`--accent: ${PALETTE_LIGHT.accent};`)
    expect(STANDALONE_PAGE_CSS).toContain(`--accent: ${PALETTE_DARK.accent};`)
  })
})
