import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Sql } from '../../src/db/connect.ts'
import { Api } from './api.ts'
import { startChildServer, type ChildServer } from './child-server.ts'
import { freePort, killWorkersUnder } from './stack.ts'

/** One node of a test cluster: a separate `npm start` process, which a test may kill, pause and start again. */
export interface ClusterNode {
  id: string
  url: string
  port: number
  dataDir: string
  process: ChildServer
  /** false while SIGSTOPped or after a kill: the proxy sends it nothing. */
  serving: boolean
}

/**
 * N server processes on one PostgreSQL with OMOI_CLUSTER=postgres behind one URL: a tiny round-robin HTTP proxy that
 * skips nodes a test has stopped and retries another node when one refuses the connection (as a load balancer's
 * health checks would). Sandboxes call back on the proxy's URL (OMOI_PUBLIC_URL), whichever node launched them: so
 * they run unconfined unless a test says otherwise (a bubblewrap sandbox calls back on a socket of its node's data
 * directory, which the other nodes, each with a data directory of its own, do not serve).
 */
/** How long the proxy waits for a node's answer before it answers 504 itself (unless a test sets its own). */
const UPSTREAM_TIMEOUT_MS = 15_000

export class TestCluster {
  readonly nodes: ClusterNode[] = []
  private proxy: Server | undefined
  private next = 0
  url = ''

  private constructor(
    private readonly env: Record<string, string>,
    private readonly upstreamTimeoutMs: number,
    private readonly nodeEnv: Record<string, Record<string, string>>,
  ) {}

  /**
   * `upstreamTimeoutMs`: the proxy's 504 bound, as a load balancer's upstream timeout (default 15 s). `nodeEnv`: what
   * one node's environment has besides `env` (or instead), by node id (`node-1`, …).
   */
  static async start(
    size: number,
    env: Record<string, string>,
    options: { upstreamTimeoutMs?: number; nodeEnv?: Record<string, Record<string, string>> } = {},
  ): Promise<TestCluster> {
    const cluster = new TestCluster(env, options.upstreamTimeoutMs ?? UPSTREAM_TIMEOUT_MS, options.nodeEnv ?? {})
    const port = await freePort()
    cluster.url = `http://127.0.0.1:${port}`
    cluster.proxy = createServer((req, res) => cluster.forward(req, res))
    await new Promise<void>((resolve) => cluster.proxy!.listen(port, '127.0.0.1', resolve))
    for (let i = 1; i <= size; i++) await cluster.startNode(`node-${i}`)
    return cluster
  }

  /** Starts a node (a new one, or one that was killed: same id, port and data directory). */
  async startNode(id: string): Promise<ClusterNode> {
    const known = this.nodes.find((n) => n.id === id)
    const port = known?.port ?? (await freePort())
    const dataDir = known?.dataDir ?? (await mkdtemp(join(tmpdir(), `omoi-${id}-`)))
    const process = await startChildServer({
      OMOI_SANDBOX_ISOLATION: 'none',
      ...this.env,
      ...this.nodeEnv[id],
      PORT: String(port),
      HOST: '127.0.0.1',
      OMOI_CLUSTER: 'postgres',
      OMOI_NODE_ID: id,
      OMOI_DATA_DIR: dataDir,
      OMOI_PUBLIC_URL: this.url,
    })
    const node: ClusterNode = { id, url: `http://127.0.0.1:${port}`, port, dataDir, process, serving: true }
    if (known) Object.assign(known, node)
    else this.nodes.push(node)
    return known ?? node
  }

  node(id: string): ClusterNode {
    const node = this.nodes.find((n) => n.id === id)
    if (!node) throw new Error(`no node ${id}`)
    return node
  }

  /** `api`'s person talking to node `id` directly, not through the load balancer. */
  on(id: string, api: Api): Api {
    return Object.assign(new Api(this.node(id).url), { token: api.token, user: api.user })
  }

  async kill(id: string): Promise<void> {
    const node = this.node(id)
    node.serving = false
    await node.process.kill('SIGKILL')
  }

  pause(id: string): void {
    const node = this.node(id)
    node.serving = false
    process.kill(node.process.pid, 'SIGSTOP')
  }

  resume(id: string): void {
    const node = this.node(id)
    process.kill(node.process.pid, 'SIGCONT')
    node.serving = true
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) {
      try {
        process.kill(node.process.pid, 'SIGCONT')
      } catch {
        // already gone
      }
      await node.process.kill('SIGKILL')
      await killWorkersUnder(node.dataDir)
      await rm(node.dataDir, { recursive: true, force: true, maxRetries: 5 })
    }
    // requests still waiting on the proxy (a failed test's leftovers) are cut, not waited for
    this.proxy?.closeAllConnections()
    await new Promise<void>((resolve) => (this.proxy ? this.proxy.close(() => resolve()) : resolve()))
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const body: Buffer[] = []
    req.on('data', (chunk: Buffer) => body.push(chunk))
    req.on('end', () => this.send(req, Buffer.concat(body), res, 0))
  }

  /**
   * To the next serving node, on a connection of its own (no keep-alive socket the node may be closing at that very
   * moment); a node that refuses or drops the connection (killed a moment ago) passes the request on to the next, for a
   * few rounds over the serving nodes, as a load balancer with retries does.
   */
  private send(req: IncomingMessage, body: Buffer, res: ServerResponse, tried: number): void {
    const live = this.nodes.filter((n) => n.serving)
    if (tried >= 3 * Math.max(live.length, 1)) {
      res.writeHead(502).end()
      return
    }
    if (live.length === 0) {
      setTimeout(() => this.send(req, body, res, tried + 1), 200)
      return
    }
    const node = live[this.next++ % live.length]!
    const headers = { ...req.headers, connection: 'close' }
    let timedOut = false
    // the node's status line goes out with its first byte of body (or its end), not before: a node stopped between its
    // headers and its body (a compressed answer is written in two steps) is then a 504, as at a load balancer, and not
    // a client left holding headers that were buffered here and never sent
    let begun = false
    // a node that began answering may have acted on the request: whatever happens to its connection now, it is not sent
    // again (a reset after the headers reports ECONNRESET on the request too, before the answer's 'close')
    let answered = false
    const begin = (answer: IncomingMessage) => {
      if (begun) return
      begun = true
      res.writeHead(answer.statusCode ?? 502, answer.headers)
    }
    const upstream = request({ host: '127.0.0.1', port: node.port, method: req.method, path: req.url, headers, agent: false }, (answer) => {
      answered = true
      answer.on('data', (chunk: Buffer) => {
        begin(answer)
        res.write(chunk)
      })
      answer.on('end', () => {
        begin(answer)
        res.end()
      })
      // cut after its headers (the upstream timeout below, or the node died): the request itself reports no error, and
      // the node may have acted on it, so it is not sent again
      answer.on('close', () => {
        if (answer.complete) return
        if (begun) res.destroy()
        else if (!res.headersSent) res.writeHead(timedOut ? 504 : 502).end()
      })
    })
    // a node that stops answering (SIGSTOP) holds a request no longer than a load balancer's upstream timeout: 504
    upstream.setTimeout(this.upstreamTimeoutMs, () => {
      timedOut = true
      upstream.destroy()
    })
    // no answer at all: refused or dropped (a node killed a moment ago) goes on to the next node
    upstream.on('error', () => {
      if (answered || res.headersSent) return
      if (timedOut) res.writeHead(504).end()
      else this.send(req, body, res, tried + 1)
    })
    upstream.end(body)
  }
}

/** The node holding the spec's lease as stored (its actor row's owner), or undefined before the row is written. */
export async function ownerOf(sql: Sql, specId: string): Promise<string | undefined> {
  const [row] = await sql<{ owner_node: string }[]>`select owner_node from spec_actors where spec_id = ${specId}`
  return row?.owner_node
}
