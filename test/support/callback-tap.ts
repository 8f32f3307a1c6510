import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { waitFor } from './wait.ts'

/**
 * A pass-through HTTP proxy in front of the server, given to sandboxes as OMOI_PUBLIC_URL: it notes the token each
 * sandbox calls back with. A local sandbox's token lives nowhere a test could read it (not in an environment, not in the
 * database), so a test that needs a real one takes it off the wire, at the network edge.
 */
export interface CallbackTap {
  url: string
  /** Waits for the first callback of sandbox `id`; answers the token it carried. */
  tokenOf(id: string): Promise<string>
  close(): Promise<void>
}

export async function startCallbackTap(targetPort: number): Promise<CallbackTap> {
  const tokens = new Map<string, string>()
  const server = createServer((req, res) => {
    const sandbox = /^\/api\/v1\/sandboxes\/([^/?]+)\//.exec(req.url ?? '')?.[1]
    const token = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? (req.headers['x-api-key'] as string | undefined)
    if (sandbox && token && !tokens.has(sandbox)) tokens.set(sandbox, token)
    const upstream = request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    // the server is down (a restart) or a side hangs up: the other side sees a broken connection, as without the tap
    upstream.on('error', () => res.destroy())
    req.on('error', () => upstream.destroy())
    res.on('error', () => upstream.destroy())
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tokenOf: (id) => waitFor(() => tokens.get(id), { what: `a callback of sandbox ${id}` }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
