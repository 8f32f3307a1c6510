import { randomBytes } from 'node:crypto'
import type { Server } from 'node:http'
import { connect } from 'node:net'
import { mkdir, readdir, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { ConfigError } from '../config.ts'
import { SOCKET_SUFFIX } from './worker/transport.ts'

/**
 * How a local bubblewrap sandbox reaches the server: its network namespace has no way to the server's port, so every
 * server process also listens on a unix socket of its own in `<dataDir>/callback/`, and that directory is shown
 * read-only in every such sandbox at CALLBACK_DIR_INSIDE. The worker calls whichever socket there answers: the server
 * that started it, the one that replaced it after a restart, or another node sharing the data directory (any node
 * serves any sandbox). The sockets serve the sandbox-facing routes only (src/http/sandbox-app.ts).
 */

/** Where the directory of the server's sandbox sockets appears inside a sandbox (OMOI_CALLBACK_SOCKET_DIR). */
export const CALLBACK_DIR_INSIDE = '/omoi/callback'
/** The callback URL of such a sandbox: its host names nothing, every request to it goes over a socket. */
export const SOCKET_CALLBACK_URL = 'http://omoi.sandbox/api/v1'
/** sun_path holds 108 bytes with the closing NUL; a longer path would be cut short without an error. */
const MAX_SOCKET_PATH_BYTES = 107

/** The directory of the sandbox sockets of the servers whose data directory is `dataDir`. */
export const callbackDir = (dataDir: string) => join(resolve(dataDir), 'callback')

/** Does something accept connections on the unix socket at `path`? */
function answers(path: string): Promise<boolean> {
  return new Promise((done) => {
    const probe = connect(path)
    probe.once('connect', () => {
      probe.destroy()
      done(true)
    })
    probe.once('error', () => done(false))
  })
}

/**
 * Makes `server` listen on a new sandbox socket in `dataDir`'s callback directory (named after this process, so a
 * restart or another node never takes it over) and answers its path. The directory is kept (sandboxes bind it; a new
 * directory would be out of their sight); sockets nobody answers on any more (their server was killed) are removed.
 * Throws ConfigError naming OMOI_DATA_DIR when the path is too long for a unix socket.
 */
export async function listenOnCallbackSocket(server: Server, dataDir: string): Promise<string> {
  const dir = callbackDir(dataDir)
  const path = join(dir, `${process.pid}-${randomBytes(4).toString('hex')}${SOCKET_SUFFIX}`)
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new ConfigError(
      `invalid setting OMOI_DATA_DIR: the sandbox socket ${path} is longer than a unix socket path may be (${MAX_SOCKET_PATH_BYTES} bytes); use a shorter data directory`,
    )
  }
  await mkdir(dir, { recursive: true, mode: 0o700 })
  for (const name of await readdir(dir)) {
    const old = join(dir, name)
    if (name.endsWith(SOCKET_SUFFIX) && !(await answers(old))) await rm(old, { force: true })
  }
  await new Promise<void>((done, fail) => {
    server.once('error', fail)
    server.listen(path, () => {
      server.off('error', fail)
      done()
    })
  })
  return path
}
