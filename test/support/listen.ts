import { once } from 'node:events'
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Listening {
  url: string
  port: number
  server: Server
  close(): Promise<void>
}

/** Serves a request handler (an Express app) on 127.0.0.1 at a free port (or the given one: a restart). */
export async function listenOnLoopback(handler: RequestListener, port = 0): Promise<Listening> {
  const server = createServer(handler)
  server.listen(port, '127.0.0.1')
  await once(server, 'listening')
  const { port: bound } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
