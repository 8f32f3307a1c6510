/**
 * An in-memory stand-in for the Daytona API and its per-sandbox toolbox, just the endpoints `@daytonaio/sdk` calls for
 * create / get / list-by-label / delete, workdir, bulk upload, git clone and sessions. The real SDK talks to it through
 * `apiUrl`; sandboxes report `<url>/toolbox` as their toolbox proxy, so toolbox calls land here too
 * (`/toolbox/<sandbox id>/…`). Anything else is recorded and answered 404, which is how new SDK calls show up.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeRequest {
  method: string
  path: string
  body: unknown
}

export interface FakeCommand {
  id: string
  command: string
  runAsync: boolean
  exitCode?: number
}

export interface FakeSandbox {
  id: string
  state: 'creating' | 'started' | 'stopped' | 'destroyed'
  labels: Record<string, string>
  env: Record<string, string>
  autoStopInterval?: number
  autoDeleteInterval?: number
  /** Uploaded files by sandbox path. */
  files: Map<string, Buffer>
  /** Bodies of git clone calls, credentials included, so tests can check where they went. */
  clones: Array<{ url: string; path: string; branch?: string; username?: string; password?: string }>
  sessions: Map<string, FakeCommand[]>
}

export interface FakeDaytona {
  /** API base URL (pass as `apiUrl`). */
  url: string
  /** The only API key the fake accepts; any other gets 401. */
  apiKey: string
  requests: FakeRequest[]
  sandboxes: Map<string, FakeSandbox>
  /** Answer the next request (matching `match`, if given) with this status and JSON body. */
  failNext(status: number, body: unknown, match?: { method?: string; path?: string }): void
  /** The next synchronous session command containing `fragment` exits with 1 and this output. */
  failCommand(fragment: string, output: string): void
  close(): Promise<void>
}

const WORK_DIR = '/home/daytona'

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

export async function startFakeDaytona(): Promise<FakeDaytona> {
  const apiKey = 'fake-daytona-key'
  const requests: FakeRequest[] = []
  const sandboxes = new Map<string, FakeSandbox>()
  const failures: Array<{ status: number; body: unknown; method?: string; path?: string }> = []
  const commandFailures: Array<{ fragment: string; output: string }> = []
  let base = ''

  const dto = (s: FakeSandbox) => ({
    id: s.id,
    organizationId: 'org-fake',
    name: s.id,
    user: 'daytona',
    env: s.env,
    labels: s.labels,
    public: false,
    networkBlockAll: false,
    target: 'us',
    cpu: 1,
    gpu: 0,
    memory: 1,
    disk: 3,
    state: s.state,
    autoStopInterval: s.autoStopInterval,
    autoDeleteInterval: s.autoDeleteInterval,
    toolboxProxyUrl: `${base}/toolbox`,
  })

  const live = (id: string) => {
    const sandbox = sandboxes.get(id)
    if (!sandbox || sandbox.state === 'destroyed') throw new HttpError(404, `Sandbox with ID or name ${id} not found`)
    return sandbox
  }

  const sessionOf = (sandbox: FakeSandbox, id: string) => {
    const commands = sandbox.sessions.get(decodeURIComponent(id))
    if (!commands) throw new HttpError(404, `session ${id} not found`)
    return commands
  }

  const api = (method: string, path: string, query: URLSearchParams, body: any): unknown => {
    if (method === 'POST' && path === '/sandbox') {
      const sandbox: FakeSandbox = {
        id: randomUUID(),
        state: 'creating',
        labels: body.labels ?? {},
        env: body.env ?? {},
        autoStopInterval: body.autoStopInterval,
        autoDeleteInterval: body.autoDeleteInterval,
        files: new Map(),
        clones: [],
        sessions: new Map(),
      }
      sandboxes.set(sandbox.id, sandbox)
      return dto(sandbox)
    }
    if (method === 'GET' && path === '/sandbox') {
      const wanted = Object.entries(JSON.parse(query.get('labels') ?? '{}') as Record<string, string>)
      const items = [...sandboxes.values()].filter(
        (s) => s.state !== 'destroyed' && wanted.every(([k, v]) => s.labels[k] === v),
      )
      return { items: items.map(dto), nextCursor: null }
    }
    const one = /^\/sandbox\/([^/]+)$/.exec(path)
    if (one) {
      const sandbox = live(decodeURIComponent(one[1]!))
      // Starting takes one look: the SDK's wait-until-started poll sees 'creating' go to 'started'.
      if (method === 'GET' && sandbox.state === 'creating') sandbox.state = 'started'
      if (method === 'DELETE') sandbox.state = 'destroyed'
      if (method === 'GET' || method === 'DELETE') return dto(sandbox)
    }
    throw new HttpError(404, `fake-daytona: no route for ${method} /api${path}`)
  }

  const toolbox = (sandbox: FakeSandbox, method: string, path: string, body: any): unknown => {
    if (sandbox.state !== 'started') throw new HttpError(400, 'bad request: Is the Sandbox started?')
    if (method === 'GET' && path === '/work-dir') return { dir: WORK_DIR }
    if (method === 'POST' && path === '/files/bulk-upload') {
      for (const file of body.files as Array<{ path: string; content: Buffer }>) sandbox.files.set(file.path, file.content)
      return []
    }
    if (method === 'POST' && path === '/git/clone') {
      sandbox.clones.push(body)
      return {}
    }
    if (method === 'POST' && path === '/process/session') {
      if (sandbox.sessions.has(body.sessionId)) throw new HttpError(409, `session ${body.sessionId} already exists`)
      sandbox.sessions.set(body.sessionId, [])
      return {}
    }
    const exec = /^\/process\/session\/([^/]+)\/exec$/.exec(path)
    if (method === 'POST' && exec) {
      const commands = sessionOf(sandbox, exec[1]!)
      const runAsync = Boolean(body.runAsync ?? body.async)
      const at = runAsync ? -1 : commandFailures.findIndex((f) => body.command.includes(f.fragment))
      const failure = at >= 0 ? commandFailures.splice(at, 1)[0] : undefined
      const command: FakeCommand = { id: randomUUID(), command: body.command, runAsync }
      if (!runAsync) command.exitCode = failure ? 1 : 0
      commands.push(command)
      return { cmdId: command.id, exitCode: command.exitCode, output: runAsync ? undefined : (failure?.output ?? '') }
    }
    const get = /^\/process\/session\/([^/]+)$/.exec(path)
    if (method === 'GET' && get) return { sessionId: get[1], commands: sessionOf(sandbox, get[1]!) }
    throw new HttpError(404, `fake-daytona: no toolbox route for ${method} ${path}`)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', base)
    const method = req.method ?? 'GET'
    // The SDK also opens a Socket.IO event stream; refused, it falls back to polling, which is what we exercise.
    if (url.pathname.startsWith('/api/socket.io/')) return send(res, 404, { message: 'no event stream here' })
    const raw = await readBody(req)
    const body = await parseBody(req, raw)
    requests.push({ method, path: url.pathname + url.search, body: summarize(body) })
    const failure = failures.findIndex(
      (f) => (!f.method || f.method === method) && (!f.path || url.pathname.startsWith(f.path)),
    )
    if (failure >= 0) return send(res, failures[failure]!.status, failures.splice(failure, 1)[0]!.body)
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      return send(res, 401, { statusCode: 401, message: 'Invalid API key', error: 'Unauthorized' })
    }
    try {
      const tb = /^\/toolbox\/([^/]+)(\/.*)$/.exec(url.pathname)
      if (tb) return send(res, 200, toolbox(live(decodeURIComponent(tb[1]!)), method, tb[2]!, body))
      if (url.pathname.startsWith('/api/')) return send(res, 200, api(method, url.pathname.slice(4), url.searchParams, body))
      throw new HttpError(404, `fake-daytona: no route for ${method} ${url.pathname}`)
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500
      send(res, status, { statusCode: status, message: (err as Error).message })
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => send(res, 500, { statusCode: 500, message: err.message }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url: `${base}/api`,
    apiKey,
    requests,
    sandboxes,
    failNext: (status, body, match) => failures.push({ status, body, ...match }),
    failCommand: (fragment, output) => commandFailures.push({ fragment, output }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** JSON bodies as objects; the SDK's multipart bulk upload as `{files: [{path, content}]}`. */
async function parseBody(req: IncomingMessage, raw: Buffer): Promise<unknown> {
  const type = req.headers['content-type'] ?? ''
  if (type.startsWith('multipart/form-data')) {
    const request = new Request('http://fake/', { method: 'POST', headers: { 'content-type': type }, body: new Uint8Array(raw) })
    const form = await request.formData()
    const files: Array<{ path: string; content: Buffer }> = []
    for (let i = 0; form.has(`files[${i}].path`); i++) {
      const file = form.get(`files[${i}].file`) as Blob
      files.push({ path: String(form.get(`files[${i}].path`)), content: Buffer.from(await file.arrayBuffer()) })
    }
    return { files }
  }
  return raw.length > 0 && type.includes('json') ? JSON.parse(raw.toString('utf8')) : undefined
}

/** What `requests` keeps of a body: uploads by path and size, not their bytes. */
function summarize(body: unknown): unknown {
  const files = (body as { files?: Array<{ path: string; content: Buffer }> } | undefined)?.files
  return files ? { files: files.map((f) => ({ path: f.path, size: f.content.length })) } : body
}
