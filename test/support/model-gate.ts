import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SUBMIT_TOOL_NAMES, systemText, type MessagesBody, type SubmitToolName } from './fake-model.ts'

/**
 * A pass-through in front of the fake model (test/support/fake-model.ts) that lets a test stop the world at a chosen
 * model call: `hold(match)` parks the matching requests until `release()`, so "the worker is mid-phase" is a condition
 * to wait on, not a timing guess. `rewrite` may change an answer before the worker sees it (e.g. a tool call the fake
 * would never make). Point ANTHROPIC_BASE_URL at `url`.
 */

export interface SeenRequest {
  n: number
  submitTool: SubmitToolName | null
  taskId: string | null
  body: MessagesBody
  /** Names of the tools the assistant already called in this conversation, in order. */
  called: string[]
}

export interface Hold {
  /** Requests parked so far. */
  held: SeenRequest[]
  /** Resolves with the first parked request. */
  first(): Promise<SeenRequest>
  /** Lets every parked request through and stops holding. */
  release(): void
}

export interface ModelGate {
  url: string
  requests: SeenRequest[]
  /** Parks the next `count` (default: every) requests that match until the hold is released. */
  hold(match: (r: SeenRequest) => boolean, count?: number): Hold
  /** Changes a successful answer's body before it is passed on; `null` stops rewriting. */
  rewrite(fn: ((answer: any, request: SeenRequest) => any) | null): void
  close(): Promise<void>
}

type Content = string | { type: string; name?: string }[]

function calledTools(body: MessagesBody): string[] {
  return body.messages
    .filter((t) => t.role === 'assistant' && typeof t.content !== 'string')
    .flatMap((t) => (t.content as Exclude<Content, string>).filter((b) => b.type === 'tool_use').map((b) => String(b.name)))
}

export async function startModelGate(targetUrl: string): Promise<ModelGate> {
  const requests: SeenRequest[] = []
  const holds: { match: (r: SeenRequest) => boolean; left: number; hold: Hold; open: Promise<void>; resolveFirst: (r: SeenRequest) => void }[] = []
  let rewriter: ((answer: any, request: SeenRequest) => any) | null = null

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks)
    let seen: SeenRequest | null = null
    if (req.method === 'POST' && raw.length > 0) {
      const sent = JSON.parse(raw.toString('utf8')) as MessagesBody
      const body: MessagesBody = { ...sent, system: systemText(sent.system) }
      seen = {
        n: requests.length + 1,
        submitTool: SUBMIT_TOOL_NAMES.find((name) => body.tools?.some((t) => t.name === name)) ?? null,
        taskId: /Your task: (TSK-\d+)/.exec(body.system ?? '')?.[1] ?? null,
        body,
        called: calledTools(body),
      }
      requests.push(seen)
      const h = holds.find((x) => x.left > 0 && x.match(seen!))
      if (h) {
        h.left--
        h.hold.held.push(seen)
        h.resolveFirst(seen)
        await h.open
      }
    }
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k)) headers[k] = v
    }
    const answer = await fetch(targetUrl + req.url, { method: req.method ?? 'GET', headers, ...(raw.length ? { body: raw } : {}) })
    let text = await answer.text()
    if (answer.ok && rewriter && seen) text = JSON.stringify(rewriter(JSON.parse(text), seen))
    const out: Record<string, string> = { 'content-type': answer.headers.get('content-type') ?? 'application/json' }
    for (const k of ['retry-after', 'retry-after-ms', 'request-id']) {
      const v = answer.headers.get(k)
      if (v) out[k] = v
    }
    if (!res.destroyed) res.writeHead(answer.status, out).end(text)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.destroyed) return
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: String(err) } }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  const releaseAll = () => {
    for (const h of holds) h.hold.release()
  }

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    hold(match, count = Number.POSITIVE_INFINITY) {
      let open!: () => void
      let resolveFirst!: (r: SeenRequest) => void
      const first = new Promise<SeenRequest>((resolve) => (resolveFirst = resolve))
      const entry = {
        match,
        left: count,
        open: new Promise<void>((resolve) => (open = resolve)),
        resolveFirst,
        hold: {
          held: [] as SeenRequest[],
          first: () => first,
          release() {
            entry.left = 0
            open()
          },
        },
      }
      holds.push(entry)
      return entry.hold
    },
    rewrite(fn) {
      rewriter = fn
    },
    close: () =>
      new Promise((resolve) => {
        releaseAll()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/**
 * The conversation steps among requests: a model call cut off by a server restart is sent again by the worker (its
 * calls go through the server's proxy), which repeats a step but does not start the conversation over.
 */
export const conversationSteps = (requests: SeenRequest[]) => new Set(requests.map((r) => r.called.length)).size

/** Matches the model requests of one spec, by its title in the system prompt. */
export const forSpec = (title: string) => (r: SeenRequest) => (r.body.system ?? '').includes(title)
