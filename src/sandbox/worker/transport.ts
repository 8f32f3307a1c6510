import { readdir } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { Agent, fetch as undiciFetch } from 'undici'
import { log } from './log.ts'

/** How a server's socket is told from anything else in the socket directory (src/sandbox/callback-socket.ts). */
export const SOCKET_SUFFIX = '.sock'

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path)
    socket.once('connect', () => resolve(socket))
    socket.once('error', reject)
  })
}

/** No server answers on a socket in the directory: none is there, or every one refuses (its server is gone). */
class NoSocketAnswers extends Error {
  readonly code = 'ECONNREFUSED'
}

/**
 * A connection to one of the servers' sockets in `dir`, tried in random order: any server there serves any sandbox,
 * one that was killed has left a socket nobody answers on, and a restarted one a new socket. Rejects with
 * NoSocketAnswers (ECONNREFUSED) when none answers (or there is no directory), as a server that is down would over TCP.
 */
async function connectAny(dir: string): Promise<Socket> {
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)))
  const names = entries.filter((name) => name.endsWith(SOCKET_SUFFIX))
  const start = Math.floor(Math.random() * names.length)
  for (const name of [...names.slice(start), ...names.slice(0, start)]) {
    const socket = await open(join(dir, name)).catch(() => null)
    if (socket) return socket
  }
  throw new NoSocketAnswers(`no server answers on a socket in ${dir}`)
}

/**
 * The fetch the worker calls the server with (callbacks, and the model through the server's proxy). With a socket
 * directory (OMOI_CALLBACK_SOCKET_DIR: a local sandbox in bubblewrap, whose own network namespace has no way to the
 * server's port) every request to the origin of `callbackUrl` goes over a unix socket there instead. When none answers
 * and there is a `fallbackUrl` (OMOI_CALLBACK_FALLBACK_URL: the public URL's API base, which the server passes only
 * where the sandbox's network reaches it), the request goes there, its path under `callbackUrl` kept: a node on another
 * machine, once every node of this one is down. A socket is tried first on every request, so the worker is back on one
 * as soon as a server answers there again; each switch is logged. Any other URL, and everything without a socket
 * directory, goes out as usual.
 */
export function serverFetch(callbackUrl: string, socketDir: string | undefined, fallbackUrl?: string): typeof fetch {
  if (!socketDir) return fetch
  const origin = new URL(callbackUrl).origin
  const base = callbackUrl.replace(/\/+$/, '')
  const dispatcher = new Agent({
    connect: (_options, callback) => void connectAny(socketDir).then((socket) => callback(null, socket), (err: Error) => callback(err, null)),
  })
  let onFallback = false
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    if (new URL(url).origin !== origin) return fetch(input, init)
    // its callers (the callback client, the Anthropic SDK) pass a URL and an init; a Request's own parts would be lost
    if (typeof input !== 'string' && !(input instanceof URL)) throw new TypeError('a Request object cannot be sent over the sandbox socket')
    try {
      // undici's own fetch with its own Agent: Node's built-in fetch is another undici build, whose dispatcher API differs
      const response = (await undiciFetch(url, { ...(init as object), dispatcher })) as unknown as Response
      if (onFallback) log.info('a server answers on the sandbox socket again: calling back there')
      onFallback = false
      return response
    } catch (err) {
      // no connection was made, so nothing of the request was sent: it may go out the other way
      const noSocket = (err as Error).cause instanceof NoSocketAnswers
      if (!noSocket || !fallbackUrl || !url.startsWith(`${base}/`)) throw err
      if (!onFallback) log.warn('no server answers on a sandbox socket: calling back on the public URL', { url: fallbackUrl })
      onFallback = true
      return fetch(fallbackUrl + url.slice(base.length), init)
    }
  }
}
