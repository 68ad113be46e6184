import type { Request, Response } from 'express'
import type { Html } from './html.js'
import { page, type NavItem } from './layout.js'

export interface RenderOptions {
  /** The signed-in visitor gets the navigation and the sign-out button. */
  req?: Request
  current?: NavItem
  live?: { monitoringId?: string }
}

export type Render = (res: Response, status: number, title: string, body: Html, opts?: RenderOptions) => void

/** Sends a page body inside the layout, with this response's CSP nonce (set by the router). */
export function createRender(opts: { showOutbox: boolean }): Render {
  return (res, status, title, body, o = {}) => {
    const d = o.req?.dashboard
    const markup = page({
      title,
      body,
      nonce: res.locals.nonce as string,
      live: o.live,
      signedIn: d ? { phoneMasked: d.phoneMasked, csrfToken: d.csrfToken, current: o.current, showOutbox: opts.showOutbox } : undefined,
    })
    res.status(status).type('html').send(markup.value)
  }
}
