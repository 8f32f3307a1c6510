import { createHash } from 'node:crypto'
import { realpath } from 'node:fs/promises'
import { connect, createServer, type Server } from 'node:net'

/**
 * Two processes on one PGlite directory corrupt it, so the directory is locked while a server uses it. The lock is a
 * listening unix socket in the abstract namespace (Linux), named after the directory's real path: the kernel holds it
 * for the process and frees it when the process dies, however it dies. No file is left behind, so no stale pid (or a
 * pid since given to another process) can block a start. Whoever holds it answers a connection with its pid.
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const name = await lockName(dir)
  const server: Server = createServer((socket) => {
    socket.on('error', () => {}) // a prober that hangs up early is no concern of the holder
    socket.end(String(process.pid))
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ path: name, exclusive: true }, () => resolve())
    })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
    const holder = await ownerPid(name)
    throw new Error(`the embedded database in ${dir} is in use by ${holder ? `process ${holder}` : 'another process'}; stop it or set OMOI_DATA_DIR elsewhere`)
  }
  server.unref()
  return () => new Promise<void>((resolve) => server.close(() => resolve()))
}

const lockName = async (dir: string) => `\0omoi-db-${createHash('sha256').update(await realpath(dir)).digest('hex').slice(0, 40)}`

/** The pid of the live process holding the directory's lock, or null when nobody holds it. */
export async function lockHolder(dir: string): Promise<string | null> {
  const name = await lockName(dir)
  return new Promise((resolve) => {
    const socket = connect({ path: name })
    socket.once('connect', () => {
      socket.destroy()
      void ownerPid(name).then((pid) => resolve(pid || 'unknown'))
    })
    socket.once('error', () => resolve(null))
  })
}

/** The pid the lock's holder answers with ('' when it does not answer within a second). */
function ownerPid(name: string): Promise<string> {
  return new Promise((resolve) => {
    let text = ''
    const socket = connect({ path: name })
    const done = () => {
      socket.destroy()
      resolve(/^\d+$/.test(text) ? text : '')
    }
    socket.setTimeout(1000, done)
    socket.on('data', (chunk) => (text += chunk.toString()))
    socket.on('end', done)
    socket.on('error', done)
  })
}
