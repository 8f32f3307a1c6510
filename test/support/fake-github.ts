import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A fake of the few GitHub REST endpoints omoi calls through @octokit/rest (list and create pull requests), so the real
 * Octokit's requests are exercised. `holdCreates` keeps a create's answer back (the pull request is made at once) until
 * `release()`: a server that restarts at that moment must not open a second one.
 */
export interface FakePull {
  number: number
  owner: string
  repo: string
  head: string
  base: string
  title: string
  body: string
  html_url: string
  state: 'open' | 'closed'
}

export interface FakeGitHub {
  url: string
  pulls: FakePull[]
  /** Every request: method, path with query, and its authorization header. */
  requests: { method: string; path: string; authorization: string | undefined }[]
  holdCreates: boolean
  release(): void
  close(): Promise<void>
}

export async function startFakeGitHub(): Promise<FakeGitHub> {
  const pulls: FakePull[] = []
  const requests: FakeGitHub['requests'] = []
  const held: (() => void)[] = []

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    const url = new URL(req.url ?? '/', 'http://fake')
    requests.push({ method: req.method ?? '', path: `${url.pathname}${url.search}`, authorization: req.headers.authorization })
    if (!req.headers.authorization?.match(/^(token|bearer) /i)) return send(401, { message: 'Requires authentication' })
    const m = /^\/repos\/([^/]+)\/([^/]+)\/pulls$/.exec(url.pathname)
    if (!m) return send(404, { message: 'Not Found' })
    const [, owner, repo] = m as unknown as [string, string, string]
    if (req.method === 'GET') {
      const head = url.searchParams.get('head')
      const state = url.searchParams.get('state') ?? 'open'
      const found = pulls.filter(
        (p) => p.owner === owner && p.repo === repo && (!head || `${owner}:${p.head}` === head) && (state === 'all' || p.state === state),
      )
      return send(200, found.map((p) => ({ ...p, head: { ref: p.head }, base: { ref: p.base } })))
    }
    if (req.method === 'POST') {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { head: string; base: string; title: string; body: string }
      if (pulls.some((p) => p.owner === owner && p.repo === repo && p.head === body.head && p.state === 'open')) {
        return send(422, { message: 'Validation Failed', errors: [{ message: `A pull request already exists for ${owner}:${body.head}.` }] })
      }
      const number = pulls.length + 1
      const pull: FakePull = { number, owner, repo, ...body, html_url: `https://github.example/${owner}/${repo}/pull/${number}`, state: 'open' }
      pulls.push(pull)
      const answer = () => send(201, { ...pull, head: { ref: pull.head }, base: { ref: pull.base } })
      if (fake.holdCreates) held.push(answer)
      else answer()
      return
    }
    send(405, { message: 'Method Not Allowed' })
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ message: String(err) }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const fake: FakeGitHub = {
    url: `http://127.0.0.1:${port}`,
    pulls,
    requests,
    holdCreates: false,
    release() {
      for (const answer of held.splice(0)) answer()
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  return fake
}
