import { execFile } from 'node:child_process'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildWorker } from '../../scripts/build-worker.ts'
import { probeBwrap } from '../../src/sandbox/probe.ts'
import { createLocalProvider, ensureProjectRepo } from '../../src/sandbox/local.ts'
import type { SandboxHandle, SandboxProvider } from '../../src/sandbox/provider.ts'
import type { Assignment } from '../../src/schemas/assignment.ts'
import type { AgentEvent, InjectedMessage, ResultVerdict, SandboxResult } from '../../src/schemas/events.ts'
import { phaseSubmitTool, taskSubmitTool, WORKSPACE_TOOLS } from '../../src/schemas/tools.ts'
import { startFakeModel, type FakeModel } from '../support/fake-model.ts'
import { goodExploration, goodRequirements, goodTasks } from '../support/fixtures.ts'
import { startSandboxSocket, type SandboxSocket } from '../support/sandbox-socket.ts'
import { waitFor } from '../support/wait.ts'

const exec = promisify(execFile)
const git = async (cwd: string, ...args: string[]) => (await exec('git', args, { cwd })).stdout.trim()
const TOKEN = 'sandbox-token-that-must-stay-secret'
const TASK_BRANCH = 'omoi/x/TSK-001'

/** The four sandbox endpoints of CONTRACT §7, in memory: the first submission is rejected, the second accepted. */
async function startFakeApi(assignment: Assignment) {
  const events: AgentEvent[] = []
  const results: SandboxResult[] = []
  const verdicts = new Map<string, ResultVerdict>()
  const messages: InjectedMessage[] = []
  let ended = false
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    if (ended || req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { error: { code: 'unauthenticated' } })
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : null
    const url = new URL(req.url!, 'http://x')
    const route = `${req.method} ${url.pathname.replace(`/api/v1/sandboxes/${assignment.sandbox_id}`, '')}`
    if (route === 'GET /assignment') return send(200, assignment)
    if (route === 'GET /messages') return send(200, { messages: messages.filter((m) => m.seq > Number(url.searchParams.get('after') ?? 0)) })
    if (route === 'POST /events') {
      const fresh = (body.events as AgentEvent[]).filter((e) => !events.some((known) => known.id === e.id))
      events.push(...fresh)
      return send(200, { accepted: fresh.length, duplicates: body.events.length - fresh.length })
    }
    if (route === 'POST /result') {
      const result = body as SandboxResult
      if (!verdicts.has(result.id)) {
        results.push(result)
        const attempt = results.filter((r) => r.outcome === 'submitted').length
        const accepted = result.outcome === 'submitted' && attempt >= 2
        const feedback = accepted ? 'Looks complete.' : 'Missing fields: tech_stack, key_files.'
        verdicts.set(result.id, { accepted, score: accepted ? 1 : 0.2, feedback, attempt, done: accepted || result.outcome === 'failed' })
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
    inject: (text: string) => messages.push({ seq: messages.length + 1, text, by: 'usr_1', created_at: new Date().toISOString() }),
    end: () => void (ended = true),
  }
}

function assignmentFor(kind: 'phase' | 'task', sandboxId: string): Assignment {
  const common = {
    sandbox_id: sandboxId,
    spec: { id: 'spec_x', title: 'Due dates', description: 'Add due dates to todos.' },
    attempt: 1,
    submissions_used: 0,
    max_submissions: 3,
    deadline: new Date(Date.now() + 120_000).toISOString(),
    model: 'claude-test',
  }
  if (kind === 'phase') {
    const context = { prior: { explore: goodExploration }, feedback: [] }
    const tools = [...WORKSPACE_TOOLS, phaseSubmitTool('explore')]
    return { ...common, kind, phase: 'explore', context, tools, submit_tool: 'submit_exploration' }
  }
  const task = { ...goodTasks.tasks[0]!, branch: TASK_BRANCH, base_branches: ['main'], base_branch: 'main', check_command: 'grep -q "fake model" omoi-TSK-001.txt' }
  const { requirements } = goodRequirements
  const context = { ticket: goodTasks.tickets[0]!, requirements, design: null, dependencies: [], feedback: [] }
  return { ...common, kind, task, context, tools: [...WORKSPACE_TOOLS, taskSubmitTool()], submit_tool: 'complete_task' }
}

let dataDir: string
let origin: string
let model: FakeModel
let provider: SandboxProvider
let socket: SandboxSocket
let runs = 0
const cleanups: (() => Promise<void>)[] = []

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'omoi-worker-'))
  ;[origin, model] = await Promise.all([ensureProjectRepo(dataDir, 'prj_test', 'main'), startFakeModel()])
  provider = createLocalProvider({ dataDir, workerPath: await buildWorker(), isolation: await probeBwrap() })
  socket = await startSandboxSocket(dataDir, model.url)
})

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup()
  await socket.close()
  await model.close()
  await rm(dataDir, { recursive: true, force: true })
})

/**
 * Starts the bundled worker through the local provider against a fresh fake API, which it reaches (and the fake model
 * through it) over the sandbox socket, as a bubblewrap sandbox reaches the server; the API key names the run.
 */
async function launch(kind: 'phase' | 'task', options: { apiKey?: string; mergeBranches?: string[] } = {}) {
  const id = `sbx_test${++runs}`
  const apiKey = options.apiKey ?? `key-${id}`
  const api = await startFakeApi(assignmentFor(kind, id))
  socket.serve(id, api.handler)
  const env = {
    OMOI_SANDBOX_ID: id,
    OMOI_SANDBOX_TOKEN: TOKEN,
    OMOI_CALLBACK_URL: socket.callbackUrl,
    SPEC_ID: 'spec_x',
    ...(kind === 'phase' ? { SPEC_PHASE: 'explore' } : { TASK_ID: 'TSK-001' }),
    ANTHROPIC_API_KEY: apiKey,
    ANTHROPIC_BASE_URL: socket.modelUrl(id),
    OMOI_MODEL: 'claude-test',
    OMOI_HEARTBEAT_MS: '200',
    OMOI_POLL_MS: '50',
  }
  const workBranch = kind === 'phase' ? `omoi/scratch/${id}` : TASK_BRANCH
  const repo = { url: origin, baseBranch: 'main', workBranch, mergeBranches: options.mergeBranches ?? [] }
  const handle = await provider.start({ id, kind, specId: 'spec_x', env, repo })
  cleanups.unshift(() => provider.stop(handle))
  const requests = () => model.requests.filter((r) => r.apiKey === apiKey)
  return { api, handle, requests, log: () => readFile(join(dataDir, 'sandboxes', id, 'worker.log'), 'utf8') }
}

const exited = (handle: SandboxHandle) => waitFor(async () => (await provider.status(handle)) === 'exited', { what: 'the worker to exit' })

describe('the sandbox worker', () => {
  it('runs a phase: events in order, a rejected then an accepted submission, an injected message, then exits', async () => {
    model.setScenario({ delayMs: 150 })
    const { api, handle, requests } = await launch('phase')
    expect(await provider.status(handle)).toBe('running')
    await waitFor(() => api.types().includes('agent.started'), { what: 'agent.started' })
    api.inject('Please keep the README in mind.')
    await exited(handle)
    model.setScenario({ delayMs: 0 })

    const types = api.types()
    expect(api.events[0]).toMatchObject({ type: 'agent.started', data: { phase: 'explore', model: 'claude-test' } })
    expect(api.events.at(-1)).toMatchObject({ type: 'agent.completed', data: { accepted: true } })
    expect(types).toContain('agent.heartbeat')
    expect(types).toContain('agent.message')
    expect(types.filter((t) => t === 'agent.usage')).toHaveLength(requests().length)
    const toolEvents = api.events.filter((e) => e.type === 'agent.tool_use' || e.type === 'agent.tool_result')
    expect(toolEvents.map((e) => `${e.type}:${e.data.tool}`).slice(0, 4)).toEqual([
      'agent.tool_use:list_files',
      'agent.tool_result:list_files',
      'agent.tool_use:read_file',
      'agent.tool_result:read_file',
    ])
    const readResult = toolEvents.find((e) => e.type === 'agent.tool_result' && e.data.tool === 'read_file')
    expect(readResult?.data).toMatchObject({ ok: true, summary: expect.stringContaining('# prj_test') })

    expect(api.results.map((r) => [r.outcome, r.output])).toEqual([['submitted', { summary: 'x' }], ['submitted', goodExploration]])
    const rejection = JSON.stringify(requests().at(-1)!.body.messages.at(-1))
    expect(rejection).toContain('Missing fields: tech_stack')
    expect(rejection).toContain('"is_error":true')

    expect(api.events.find((e) => e.type === 'agent.message_injected')?.data).toEqual({ text: 'Please keep the README in mind.', message_seq: 1 })
    expect(requests().some((r) => JSON.stringify(r.body.messages.at(-1)).includes('Please keep the README in mind.'))).toBe(true)
  })

  it('reports a rejected API key once, posts a failed result and exits', async () => {
    model.setScenario({ rejectKeys: ['bad-key'] })
    const { api, handle, requests } = await launch('phase', { apiKey: 'bad-key' })
    await exited(handle)
    const errors = api.events.filter((e) => e.type === 'agent.error')
    expect(errors).toHaveLength(1)
    expect(errors[0]!.data.error).toMatch(/rejected the API key/)
    expect(api.results).toEqual([expect.objectContaining({ outcome: 'failed', error: expect.stringMatching(/API key/) })])
    expect(requests()).toHaveLength(1)
  })

  it('gets through two 529 overloaded answers', async () => {
    model.setScenario({ overloaded: 2, skipBadSubmit: true })
    const { api, handle, requests } = await launch('phase')
    await exited(handle)
    model.setScenario({ skipBadSubmit: false })
    expect(api.types()).not.toContain('agent.error')
    expect(api.events.at(-1)).toMatchObject({ type: 'agent.completed', data: { accepted: true } })
    expect(requests().length).toBe(api.types().filter((t) => t === 'agent.usage').length + 2)
  })

  it('commits and pushes a task to its branch, on top of the merged dependency branches', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'omoi-dep-'))
    await git(scratch, 'clone', '-q', origin, 'w')
    await writeFile(join(scratch, 'w', 'dep.txt'), 'from the dependency\n')
    await git(join(scratch, 'w'), 'add', '.')
    await git(join(scratch, 'w'), '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'dep')
    await git(join(scratch, 'w'), 'push', '-q', 'origin', 'HEAD:refs/heads/omoi/x/TSK-000')
    await rm(scratch, { recursive: true, force: true })

    const { api, handle } = await launch('task', { mergeBranches: ['omoi/x/TSK-000'] })
    await exited(handle)
    expect(await git(origin, 'branch', '--list', TASK_BRANCH)).toContain(TASK_BRANCH)
    expect(await git(origin, 'show', `${TASK_BRANCH}:omoi-TSK-001.txt`)).toBe('done by the fake model for TSK-001')
    expect(await git(origin, 'show', `${TASK_BRANCH}:dep.txt`)).toBe('from the dependency')
    expect(await git(origin, 'log', '-1', '--format=%an|%s', TASK_BRANCH)).toBe('omoi agent|omoi: TSK-001 Add the due_at column')
    const last = api.results.at(-1)!
    // what the sandbox saw, not what the model claimed: the files git says changed, and the check it ran itself
    expect(last.output).toMatchObject({
      branch: TASK_BRANCH,
      commit: await git(origin, 'rev-parse', TASK_BRANCH),
      base_commit: await git(origin, 'rev-parse', 'main'),
      files_changed: ['dep.txt', 'omoi-TSK-001.txt'],
      check: { command: 'grep -q "fake model" omoi-TSK-001.txt', exit_code: 0, passed: true },
    })
    expect(last.output).not.toHaveProperty('tests')
    expect(api.events.at(-1)).toMatchObject({ type: 'agent.completed', data: { accepted: true } })
  })

  it('refuses to start when dependency branches conflict', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'omoi-conflict-'))
    await git(scratch, 'clone', '-q', origin, 'w')
    const work = join(scratch, 'w')
    for (const side of ['left', 'right']) {
      await git(work, 'checkout', '-q', '-B', side, 'origin/main')
      await writeFile(join(work, 'README.md'), `${side}\n`)
      await git(work, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qam', side)
      await git(work, 'push', '-q', 'origin', `${side}:refs/heads/conflict/${side}`)
    }
    await rm(scratch, { recursive: true, force: true })
    await expect(launch('task', { mergeBranches: ['conflict/left', 'conflict/right'] })).rejects.toThrow(
      /merging conflict\/right into omoi\/x\/TSK-001 failed: conflicts in README.md/,
    )
  })

  it('stop() ends a working worker and status() follows', async () => {
    model.setScenario({ hang: (r) => r.apiKey.startsWith('hang') })
    const { api, handle } = await launch('phase', { apiKey: 'hang-stop' })
    await waitFor(() => api.types().includes('agent.started'), { what: 'agent.started' })
    expect(await provider.status(handle)).toBe('running')
    const started = Date.now()
    await provider.stop(handle)
    expect(await provider.status(handle)).toBe('exited')
    expect(Date.now() - started).toBeLessThan(3_000)
    await waitFor(() => {
      try {
        process.kill(Number(handle.externalId), 0)
        return false
      } catch {
        return true
      }
    }, { what: 'the worker process to be gone' })
    await provider.stop(handle)
  })

  it('exits quietly when the server ends the sandbox (401)', async () => {
    model.setScenario({ hang: (r) => r.apiKey.startsWith('hang') })
    const { api, handle, log } = await launch('phase', { apiKey: 'hang-401' })
    await waitFor(() => api.types().includes('agent.heartbeat'), { what: 'a heartbeat' })
    api.end()
    await exited(handle)
    expect(api.results).toEqual([])
    expect(await log()).not.toContain(TOKEN)
  })
})
