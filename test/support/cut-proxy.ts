import { createConnection, createServer, type Socket } from 'node:net'

/**
 * A TCP proxy in front of a database (or any TCP service) that a test can cut: `cut()` drops every open connection and
 * refuses new ones, as a network partition between one node and the database would; `restore()` lets connections
 * through again. Give one node `url` instead of the database's own to cut that node off alone.
 */
export interface CutProxy {
  /** `target` with the proxy's host and port. */
  url: string
  cut(): void
  restore(): void
  close(): Promise<void>
}

export async function startCutProxy(target: string): Promise<CutProxy> {
  const upstream = new URL(target)
  const open = new Set<Socket>()
  let isCut = false
  const server = createServer((client) => {
    if (isCut) return void client.destroy()
    const target = createConnection(Number(upstream.port || 5432), upstream.hostname)
    for (const socket of [client, target]) {
      open.add(socket)
      socket.on('error', () => {})
      socket.on('close', () => {
        open.delete(socket)
        client.destroy()
        target.destroy()
      })
    }
    client.pipe(target)
    target.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = new URL(target)
  url.hostname = '127.0.0.1'
  url.port = String((server.address() as { port: number }).port)
  const cut = () => {
    isCut = true
    for (const socket of open) socket.destroy()
  }
  return {
    url: url.toString(),
    cut,
    restore() {
      isCut = false
    },
    async close() {
      cut()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
