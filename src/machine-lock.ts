import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'

/** How long a waiter sleeps between two tries while another process holds the lock (ms). */
const POLL_MS = 50

/**
 * Runs `fn` while holding the lock named `key`, shared by every process on this machine (the nodes of a cluster that
 * share one OMOI_DATA_DIR): a unix socket listening in the abstract namespace (Linux), as the embedded database's lock
 * is (src/db/data-dir-lock.ts), so the kernel frees it however its holder dies and no stale file can block anyone.
 * Waits, trying again every POLL_MS, while another process holds it; calls within one process are not queued here.
 * Resolves or rejects as `fn` does, after the lock is released.
 */
export async function withMachineLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const name = `\0omoi-lock-${createHash('sha256').update(key).digest('hex').slice(0, 40)}`
  let server = await listen(name)
  while (!server) {
    await delay(POLL_MS)
    server = await listen(name)
  }
  const held = server
  try {
    return await fn()
  } finally {
    await new Promise<void>((resolve) => held.close(() => resolve()))
  }
}

/** The lock's socket when this process got it, null while another process holds it. */
function listen(name: string): Promise<Server | null> {
  const server = createServer((socket) => socket.destroy())
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(null) : reject(err)))
    server.listen({ path: name, exclusive: true }, () => {
      server.unref()
      resolve(server)
    })
  })
}
