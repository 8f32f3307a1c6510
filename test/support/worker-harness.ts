import { mkdtemp, readFile, rm } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildWorker } from '../../scripts/build-worker.ts'
import { probeBwrap } from '../../src/sandbox/probe.ts'
import { createLocalProvider, ensureProjectRepo } from '../../src/sandbox/local.ts'
import type { Isolation } from '../../src/sandbox/bwrap.ts'
import type { SandboxHandle, SandboxProvider } from '../../src/sandbox/provider.ts'
import type { Assignment } from '../../src/schemas/assignment.ts'
import type { AgentEvent, ResultVerdict, SandboxResult } from '../../src/schemas/events.ts'
import { phaseSubmitTool, WORKSPACE_TOOLS } from '../../src/schemas/tools.ts'
import { startFakeModel, type CapturedRequest, type FakeModelOptions, type Scripted } from './fake-model.ts'
import { goodExploration } from './fixtures.ts'
import { startSandboxSocket } from './sandbox-socket.ts'
import { waitFor } from './wait.ts'

/**
 * The real bundled worker, started by the local provider, against an in-memory sandbox API (CONTRACT §7) and the fake
 * model, both reached over the sandbox socket as a bubblewrap sandbox reaches the server. `verdict` decides each submission; `endOnAccept` ends the sandbox (401 on every call but late events) the
 * moment a submission is accepted, as the server does. With `viaProxy` the worker calls the model with its sandbox
 * token as the key, as it does through the server's proxy.
 */
export interface SandboxApiOptions {
  verdict?: (submission: number) => Pick<ResultVerdict, 'accepted' | 'score' | 'feedback'>
  endOnAccept?: boolean
  /** Late events after the end are taken for this long (the server's grace period); 0: none. */
  graceMs?: number
  /** Late events are answered this much later (a slow server while the worker winds down). */
  lateEventsDelayMs?: number
}

async function startSandboxApi(assignment: Assignment, token: string, options: SandboxApiOptions) {
  const events: AgentEvent[] = []
  const results: SandboxResult[] = []
  const verdicts = new Map<string, ResultVerdict>()
  let endedAt: number | null = null
  const grace = options.graceMs ?? 15_000
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : null
    const route = `${req.method} ${new URL(req.url!, 'http://x').pathname.replace(`/api/v1/sandboxes/${assignment.sandbox_id}`, '')}`
    const lateEvents = route === 'POST /events' && endedAt !== null && Date.now() - endedAt < grace
    if (req.headers.authorization !== `Bearer ${token}` || (endedAt !== null && !lateEvents)) {
      return send(401, { error: { code: 'unauthenticated', message: 'This sandbox token is not valid.' } })
    }
    if (route === 'GET /assignment') return send(200, assignment)
    if (route === 'GET /messages') return send(200, { messages: [] })
    if (route === 'POST /events') {
      if (endedAt !== null && options.lateEventsDelayMs) await new Promise((r) => setTimeout(r, options.lateEventsDelayMs))
      const fresh = (body.events as AgentEvent[]).filter((e) => !events.some((known) => known.id === e.id))
      events.push(...fresh)
      return send(200, { accepted: fresh.length, duplicates: body.events.length - fresh.length })
    }
    if (route === 'POST /result') {
      const result = body as SandboxResult
      if (!verdicts.has(result.id)) {
        results.push(result)
        const n = results.filter((r) => r.outcome === 'submitted').length
        const v =
          result.outcome === 'failed'
            ? { accepted: false, score: 0, feedback: '' }
            : (options.verdict?.(n) ?? { accepted: true, score: 1, feedback: 'Accepted.' })
        verdicts.set(result.id, { ...v, attempt: n, done: v.accepted || result.outcome === 'failed' })
        if (v.accepted && options.endOnAccept) endedAt = Date.now()
      }
      return send(200, verdicts.get(result.id))
    }
    send(404, { error: { code: 'not_found' } })
  }
  return {
    handler: (req: IncomingMessage, res: ServerResponse) => void handler(req, res),
    events,
    results,
    types: () => events.map((e) => e.type),
    of: (type: string) => events.filter((e) => e.type === type),
    end: () => void (endedAt = Date.now()),
  }
}

export type FakeSandboxApi = Awaited<ReturnType<typeof startSandboxApi>>

function explorePhase(sandboxId: string, limits?: Assignment['model_limits']): Assignment {
  return {
    kind: 'phase',
    sandbox_id: sandboxId,
    spec: { id: 'spec_x', title: 'Due dates', description: 'Add due dates to todos.' },
    phase: 'explore',
    attempt: 1,
    submissions_used: 0,
    max_submissions: 3,
    context: { prior: { explore: goodExploration }, feedback: [] },
    tools: [...WORKSPACE_TOOLS, phaseSubmitTool('explore')],
    submit_tool: 'submit_exploration',
    deadline: new Date(Date.now() + 120_000).toISOString(),
    model: 'claude-test',
    ...(limits ? { model_limits: limits } : {}),
  }
}

export interface HarnessOptions {
  /** How the provider confines the worker (default: what probeBwrap finds here). */
  isolation?: Isolation
  /** Also serve the sandbox API over TCP on this host, and give its URL to the provider as OMOI_PUBLIC_URL. */
  publicOn?: string
}

export async function startWorkerHarness(modelOptions: FakeModelOptions = {}, options: HarnessOptions = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'omoi-worker-model-'))
  const [origin, model] = await Promise.all([ensureProjectRepo(dataDir, 'prj_test', 'main'), startFakeModel(modelOptions)])
  const socket = await startSandboxSocket(dataDir, model.url)
  const publicApi = options.publicOn ? await socket.listenTcp(options.publicOn) : null
  const provider: SandboxProvider = createLocalProvider({
    dataDir,
    workerPath: await buildWorker(),
    isolation: options.isolation ?? (await probeBwrap()),
    publicUrl: publicApi?.url,
  })
  const cleanups: (() => Promise<void>)[] = []
  const scripts = new Map<string, (r: CapturedRequest) => Scripted | undefined>()
  model.setScenario({ script: (r) => scripts.get(r.apiKey)?.(r) })
  let runs = 0

  /** Starts one explore-phase worker; answers its API, its model requests and its log. */
  async function launch(
    options: SandboxApiOptions & {
      limits?: Assignment['model_limits']
      viaProxy?: boolean
      /** This run's model answers (undefined: the fake's default conversation). */
      script?: (r: CapturedRequest) => Scripted | undefined
    } = {},
  ) {
    const id = `sbx_model${++runs}`
    const token = `token-${id}`
    const apiKey = options.viaProxy ? token : `key-${id}`
    if (options.script) scripts.set(apiKey, options.script)
    const api = await startSandboxApi(explorePhase(id, options.limits), token, options)
    socket.serve(id, api.handler)
    const env = {
      OMOI_SANDBOX_ID: id,
      OMOI_SANDBOX_TOKEN: token,
      OMOI_CALLBACK_URL: socket.callbackUrl,
      SPEC_ID: 'spec_x',
      SPEC_PHASE: 'explore',
      // through the server's proxy the model sees the sandbox token as its key
      ...(options.viaProxy ? {} : { ANTHROPIC_API_KEY: apiKey }),
      ANTHROPIC_BASE_URL: socket.modelUrl(id),
      OMOI_MODEL: 'claude-test',
      OMOI_HEARTBEAT_MS: '200',
      OMOI_POLL_MS: '50',
    }
    const repo = { url: origin, baseBranch: 'main', workBranch: `omoi/scratch/${id}`, mergeBranches: [] }
    const handle = await provider.start({ id, kind: 'phase', specId: 'spec_x', env, repo })
    cleanups.unshift(() => provider.stop(handle))
    return {
      api,
      handle,
      apiKey,
      requests: () => model.requests.filter((r) => r.apiKey === apiKey),
      log: () => readFile(join(dataDir, 'sandboxes', id, 'worker.log'), 'utf8'),
    }
  }

  const exited = (handle: SandboxHandle) =>
    waitFor(async () => (await provider.status(handle)) === 'exited', { what: 'the worker to exit', timeoutMs: 30_000 })

  return {
    dataDir,
    model,
    provider,
    socket,
    /** The sandbox API at the public URL (`publicOn`): its URL and the requests it got. */
    publicApi,
    launch,
    exited,
    async close() {
      for (const cleanup of cleanups) await cleanup()
      await socket.close()
      await model.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}
