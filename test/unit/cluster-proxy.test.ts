import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ChildServer } from '../support/child-server.ts'
import { TestCluster, type ClusterNode } from '../support/cluster.ts'

/**
 * The test cluster's load balancer (test/support/cluster.ts) in front of plain HTTP servers standing in for nodes: what
 * a client gets when a node's answer is streamed, has no body, or is cut after its headers.
 */

let cluster: TestCluster
let upstreams: Server[]
/** Requests each stand-in node received, by node id. */
let hits: Record<string, number>

async function node(id: string, handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<void> {
  const server = createServer((req, res) => {
    hits[id] = (hits[id] ?? 0) + 1
    handle(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  upstreams.push(server)
  const port = (server.address() as AddressInfo).port
  const stub = { pid: 0, url: '', output: () => '', kill: async () => {} } as unknown as ChildServer
  const member: ClusterNode = { id, url: `http://127.0.0.1:${port}`, port, dataDir: '', process: stub, serving: true }
  cluster.nodes.push(member)
}

interface Answer {
  status: number
  body: string
  error?: string
}

/** One request through the proxy; `onFirstChunk` is called when the first chunk of the body arrived. */
function call(method: string, path: string, body = '', onFirstChunk = () => {}): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(`${cluster.url}${path}`, { method, agent: false }, (res) => {
      const answer: Answer = { status: res.statusCode ?? 0, body: '' }
      res.on('data', (chunk: Buffer) => {
        if (answer.body === '') onFirstChunk()
        answer.body += chunk.toString('utf8')
      })
      res.on('end', () => resolve(answer))
      res.on('error', (err) => resolve({ ...answer, error: String(err) }))
    })
    req.on('error', (err) => resolve({ status: 0, body: '', error: String(err) }))
    req.end(body)
  })
}

beforeEach(async () => {
  upstreams = []
  hits = {}
  cluster = await TestCluster.start(0, {}, { upstreamTimeoutMs: 2_000 })
})

afterEach(async () => {
  cluster.nodes.splice(0) // stand-ins: nothing to kill
  await cluster.stop()
  for (const server of upstreams) {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

describe('the test cluster’s load balancer', () => {
  it('passes a streamed answer on as it comes (SSE), not once it ends', async () => {
    // the node ends its answer only once the client has read the first event: a proxy that held it back would hang here
    let firstRead!: () => void
    const read = new Promise<void>((resolve) => (firstRead = resolve))
    await node('node-1', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('event: a\ndata: {}\n\n')
      void read.then(() => res.end('event: b\ndata: {}\n\n'))
    })
    const answer = await call('POST', '/stream', '', firstRead)
    expect(answer.status).toBe(200)
    expect(answer.body).toBe('event: a\ndata: {}\n\nevent: b\ndata: {}\n\n')
  }, 5_000)

  it('passes on an answer without a body (204)', async () => {
    await node('node-1', (_req, res) => res.writeHead(204).end())
    const answer = await call('DELETE', '/projects/p/members/u')
    expect(answer).toMatchObject({ status: 204, body: '' })
  })

  it('answers 504 for a node that sent its headers and then stopped answering', async () => {
    await node('node-1', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.flushHeaders() // and nothing more
    })
    const answer = await call('GET', '/slow')
    expect(answer.status).toBe(504)
  })

  it('does not send a request again to another node when the first reset its connection after its headers', async () => {
    // the first node acted on the request and began answering; its connection is reset (ECONNRESET) before the body
    await node('node-1', (req, res) => {
      req.resume()
      res.writeHead(201, { 'content-type': 'application/json', 'content-length': '20' })
      res.flushHeaders()
      setTimeout(() => req.socket.resetAndDestroy(), 50)
    })
    await node('node-2', (req, res) => {
      req.resume()
      res.writeHead(201, { 'content-type': 'application/json' }).end('{"ran":"again"}')
    })
    const answer = await call('POST', '/specs/spec_1/messages', '{"text":"once"}')
    // give a retry the time to reach node-2 and answer
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(hits['node-2'] ?? 0, 'the request was sent again to another node').toBe(0)
    expect(answer.status).toBe(502)
  })
})
