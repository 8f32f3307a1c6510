import { createServer as createHttpServer } from 'node:http'
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net'
import { runChild } from './child.ts'
import type { FloorAnswer, FloorJob } from './floor-clients.ts'
import { quantile } from './stats.ts'

/**
 * The fan-out floor of this machine, measured in the same run as the fan-out phases: a plain Node HTTP server that
 * writes each POST's bytes, as one length-prefixed frame, to `viewers` raw TCP sockets — no Socket.IO, WebSocket
 * framing, authentication or database. What any single Node process must pay to hand one message to that many
 * sockets: one write system call each (bench/README.md, issue 13). Receipts are stamped as the viewers stamp theirs.
 */
export interface Floor extends FloorAnswer {
  /** The server's loop writing one frame to every socket, per POST (ms). */
  loopP50: number
  loopMax: number
}

/** `execArgv`: the receivers' Node options, as the fan-out viewers get them. */
export async function measureFloor(job: Omit<FloorJob, 'postUrl' | 'port'>, execArgv: string[]): Promise<Floor> {
  const receivers: Socket[] = []
  const tcp = createTcpServer((socket) => {
    socket.setNoDelay(true)
    receivers.push(socket)
  })
  const loops: number[] = []
  const http = createHttpServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const frame = Buffer.alloc(8 + body.length)
      frame.writeUInt32LE((JSON.parse(body.toString('utf8')) as { post: number }).post, 0)
      frame.writeUInt32LE(body.length, 4)
      body.copy(frame, 8)
      const t0 = performance.now()
      for (const socket of receivers) socket.write(frame)
      loops.push(performance.now() - t0)
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await Promise.all([new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r)), new Promise<void>((r) => http.listen(0, '127.0.0.1', r))])
  try {
    const { result } = runChild<FloorJob, FloorAnswer>(
      new URL('./floor-clients.ts', import.meta.url),
      { ...job, postUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}/`, port: (tcp.address() as AddressInfo).port },
      { timeoutMs: 120_000, execArgv },
    )
    const answer = await result
    return { ...answer, loopP50: quantile(loops, 0.5), loopMax: Math.max(...loops) }
  } finally {
    for (const s of receivers) s.destroy()
    await Promise.all([new Promise((r) => tcp.close(r)), new Promise((r) => http.close(r))])
  }
}
