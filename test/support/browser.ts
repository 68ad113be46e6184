import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext } from 'playwright-core'

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const SCREENSHOT_DIR = join('test-output', 'screenshots')

export const PHONE_VIEWPORT = { width: 390, height: 844 }
export const DESKTOP_VIEWPORT = { width: 1280, height: 800 }

export interface TestBrowser {
  browser: Browser
  /** A fresh context (own cookies) at the given viewport. */
  newContext(viewport?: { width: number; height: number }): Promise<BrowserContext>
  close(): Promise<void>
}

/**
 * Debian's headless Chromium driven by playwright-core, with nothing that phones home: tests only ever
 * reach 127.0.0.1. playwright's launch() gives every browser a fresh temporary profile of its own (it
 * refuses a --user-data-dir argument) and removes it on close.
 */
export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  return {
    browser,
    newContext: (viewport = DESKTOP_VIEWPORT) => browser.newContext({ viewport, deviceScaleFactor: 1 }),
    close: () => browser.close(),
  }
}
