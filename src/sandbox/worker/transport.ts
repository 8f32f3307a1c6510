import { readdir } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { Agent, fetch as undiciFetch } from 'undici'

/** How a server's socket is told from anything else in the socket directory (src/sandbox/callback-socket.ts). */
export const SOCKET_SUFFIX = '.sock'

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path)
    socket.once('connect', () => resolve(socket))
    socket.once('error', reject)
  })
}

/**
 * A connection to one of the servers' sockets in `dir`, tried in random order: any server there serves any sandbox,
 * one that was killed has left a socket nobody answers on, and a restarted one a new socket. Rejects (ECONNREFUSED)
 * when none answers, as a server that is down would over TCP; the caller retries.
 */
async function connectAny(dir: string): Promise<Socket> {
  const names = (await readdir(dir)).filter((name) => name.endsWith(SOCKET_SUFFIX))
  const start = Math.floor(Math.random() * names.length)
  for (const name of [...names.slice(start), ...names.slice(0, start)]) {
    const socket = await open(join(dir, name)).catch(() => null)
    if (socket) return socket
  }
  throw Object.assign(new Error(`no server answers on a socket in ${dir}`), { code: 'ECONNREFUSED' })
}

/**
 * The fetch the worker calls the server with (callbacks, and the model through the server's proxy). With a socket
 * directory (OMOI_CALLBACK_SOCKET_DIR: a local sandbox in bubblewrap, whose own network namespace has no way to the
 * server's port) every request to the origin of `callbackUrl` goes over a unix socket there instead; any other URL,
 * and everything without one, goes out as usual.
 */
export function serverFetch(callbackUrl: string, socketDir: string | undefined): typeof fetch {
  if (!socketDir) return fetch
  const origin = new URL(callbackUrl).origin
  const dispatcher = new Agent({
    connect: (_options, callback) => void connectAny(socketDir).then((socket) => callback(null, socket), (err: Error) => callback(err, null)),
  })
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    if (new URL(url).origin !== origin) return fetch(input, init)
    // its callers (the callback client, the Anthropic SDK) pass a URL and an init; a Request's own parts would be lost
    if (typeof input !== 'string' && !(input instanceof URL)) throw new TypeError('a Request object cannot be sent over the sandbox socket')
    // undici's own fetch with its own Agent: Node's built-in fetch is another undici build, whose dispatcher API differs
    return undiciFetch(url, { ...(init as object), dispatcher }) as unknown as Promise<Response>
  }
}
