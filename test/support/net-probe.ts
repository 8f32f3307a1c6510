import { createServer, type Server } from 'node:net'
import { networkInterfaces } from 'node:os'

/**
 * A TCP listener on `host` that counts who reached it (on loopback it stands for a database or another service with
 * trust auth, which nothing in a sandbox may reach). Close `server` when done.
 */
export async function countingListener(host: string): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0
  const server = createServer((socket) => {
    connections++
    socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  return { server, port: (server.address() as { port: number }).port, connections: () => connections }
}

/** An IPv4 address of this machine that is not loopback, if it has one. */
export const hostAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address

/** A shell command that succeeds when it connects to host:port within 5 s (bash's /dev/tcp). */
export const connects = (host: string, port: number | string) => `timeout 5 bash -c "echo > /dev/tcp/${host}/${port}"`
