import { readdir, rename } from 'node:fs/promises'
import { createServer, request } from 'node:http'
import { join } from 'node:path'
import { callbackDir } from '../../src/sandbox/callback-socket.ts'
import { SOCKET_SUFFIX } from '../../src/sandbox/worker/transport.ts'
import { waitFor } from './wait.ts'

/**
 * A pass-through proxy in the server's sandbox socket directory, which notes the token each sandbox calls back with. A
 * local sandbox's token lives nowhere a test could read it (not in an environment, not in the database), so a test that
 * needs a real one takes it off the wire, at the edge: `attach()` moves the server's socket aside (under a name workers
 * do not call) and listens in the directory itself, so sandboxes reach the tap; `detach()` puts the server's socket
 * back. Attach after each start of the server, detach before it closes.
 */
export interface CallbackTap {
  /** Waits for the first callback of sandbox `id`; answers the token it carried. */
  tokenOf(id: string): Promise<string>
  attach(): Promise<void>
  detach(): Promise<void>
}

const ASIDE = '.behind-tap'

export function callbackTap(dataDir: string): CallbackTap {
  const tokens = new Map<string, string>()
  const dir = callbackDir(dataDir)
  const tap = join(dir, `tap${SOCKET_SUFFIX}`)
  let behind = ''
  const server = createServer((req, res) => {
    const sandbox = /^\/api\/v1\/sandboxes\/([^/?]+)\//.exec(req.url ?? '')?.[1]
    const token = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? (req.headers['x-api-key'] as string | undefined)
    if (sandbox && token && !tokens.has(sandbox)) tokens.set(sandbox, token)
    const upstream = request({ socketPath: behind, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    // the server is down or a side hangs up: the other side sees a broken connection, as without the tap
    upstream.on('error', () => res.destroy())
    req.on('error', () => upstream.destroy())
    res.on('error', () => upstream.destroy())
    req.pipe(upstream)
  })
  return {
    tokenOf: (id) => waitFor(() => tokens.get(id), { what: `a callback of sandbox ${id}` }),
    async attach() {
      const [socket, ...more] = (await readdir(dir)).filter((name) => name.endsWith(SOCKET_SUFFIX))
      if (!socket || more.length > 0) throw new Error(`the tap needs the one socket of one server in ${dir}`)
      behind = join(dir, `${socket}${ASIDE}`)
      await rename(join(dir, socket), behind)
      await new Promise<void>((resolve) => server.listen(tap, resolve))
    },
    async detach() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await rename(behind, behind.slice(0, -ASIDE.length))
    },
  }
}
