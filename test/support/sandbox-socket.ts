import { createServer, request, type RequestListener, type Server } from 'node:http'
import { listenOnCallbackSocket, SOCKET_CALLBACK_URL } from '../../src/sandbox/callback-socket.ts'

/**
 * The server's end of the sandbox socket, for tests that run the local provider without a server: a listener on a
 * socket in `<dataDir>/callback/` (where bubblewrap sandboxes call back) that hands each request to the fake API of the
 * sandbox its path names, and passes `/api/v1/sandboxes/<id>/model/…` on to the fake model, as the server's proxy does.
 */
export interface SandboxSocket {
  /** The socket on the host. */
  path: string
  /** OMOI_CALLBACK_URL of a sandbox that calls back over the socket. */
  callbackUrl: string
  /** ANTHROPIC_BASE_URL of sandbox `id`: the model, through the socket. */
  modelUrl(id: string): string
  /** Serves sandbox `id`'s callbacks with `listener` (its own fake API). */
  serve(id: string, listener: RequestListener): void
  /**
   * Serves the same routes over TCP on `host` too, as a node behind OMOI_PUBLIC_URL does: answers that URL and the
   * method and path of every request it got. Closed with the socket.
   */
  listenTcp(host: string): Promise<{ url: string; seen: string[] }>
  /** Closes the socket (its file goes with it), as when the server that listens there is gone. */
  closeSocket(): Promise<void>
  close(): Promise<void>
}

function stop(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
}

export async function startSandboxSocket(dataDir: string, modelUrl: string): Promise<SandboxSocket> {
  const apis = new Map<string, RequestListener>()
  const model = new URL(modelUrl)
  const routes: RequestListener = (req, res) => {
    const [, id, toModel, rest] = /^\/api\/v1\/sandboxes\/([^/?]+)(\/model)?(.*)$/.exec(req.url ?? '') ?? []
    if (id && toModel) {
      const upstream = request({ host: model.hostname, port: model.port, method: req.method, path: model.pathname.replace(/\/$/, '') + rest, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        // an answer the model cut off is cut off here too, as the worker would see it over one connection
        answer.once('aborted', () => res.destroy())
        answer.pipe(res)
      })
      upstream.on('error', () => res.destroy())
      return void req.pipe(upstream)
    }
    const api = id ? apis.get(id) : undefined
    if (api) return void api(req, res)
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found' } }))
  }
  const server = createServer(routes)
  const tcp: Server[] = []
  return {
    path: await listenOnCallbackSocket(server, dataDir),
    callbackUrl: SOCKET_CALLBACK_URL,
    modelUrl: (id) => `${SOCKET_CALLBACK_URL}/sandboxes/${id}/model`,
    serve: (id, listener) => void apis.set(id, listener),
    async listenTcp(host) {
      const seen: string[] = []
      const listener = createServer((req, res) => {
        seen.push(`${req.method} ${req.url}`)
        routes(req, res)
      })
      tcp.push(listener)
      await new Promise<void>((resolve) => listener.listen(0, host, resolve))
      return { url: `http://${host}:${(listener.address() as { port: number }).port}`, seen }
    },
    closeSocket: () => (server.listening ? stop(server) : Promise.resolve()),
    close: async () => void (await Promise.all([server, ...tcp].filter((s) => s.listening).map(stop))),
  }
}
