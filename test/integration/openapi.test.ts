import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Api } from '../support/api.ts'
import { forSpec } from '../support/model-gate.ts'
import { waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { runningSandbox, startStack, type Stack } from '../support/stack.ts'
import { schemaProblems, type JsonSchema } from '../support/json-schema.ts'

/**
 * GET /api/v1/openapi.json describes every route of the app, and every answer of a real request to each of them fits
 * the document (the error shape included).
 */

let stack: Stack
let base: string
let doc: { openapi: string; paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: JsonSchema }> }> }>> }
const exercised = new Set<string>()

beforeAll(async () => {
  stack = await startStack({}, { OMOI_ADMIN_EMAILS: 'boss@example.com' }, { tap: true })
  base = stack.server.url
  doc = await (await fetch(`${base}/api/v1/openapi.json`)).json()
})
afterAll(() => stack?.stop())

const templateOf = (path: string) => path.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}')

/** The documented operation a request lands on. */
function operation(method: string, path: string) {
  const bare = path.split('?')[0]!
  for (const [template, ops] of Object.entries(doc.paths)) {
    const pattern = new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`)
    if (pattern.test(bare) && ops[method.toLowerCase()]) return { key: `${method} ${template}`, op: ops[method.toLowerCase()]! }
  }
  throw new Error(`${method} ${bare} is not in the OpenAPI document`)
}

/** A real request; its answer is checked against the document before it is handed back. */
async function call(method: string, path: string, options: { body?: unknown; token?: string } = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  })
  const text = await res.text()
  const { key, op } = operation(method, path)
  exercised.add(key)
  const answer = op.responses[String(res.status)] ?? op.responses.default
  expect(answer, `${key} answered ${res.status}, which the document does not list: ${text.slice(0, 300)}`).toBeDefined()
  const media = Object.keys(answer!.content ?? {})[0]
  if (!media) {
    expect(text, `${key} ${res.status} has no body in the document`).toBe('')
    return { status: res.status, body: null as any }
  }
  expect(res.headers.get('content-type') ?? '', `${key} ${res.status}`).toContain(media)
  if (media !== 'application/json') return { status: res.status, body: text as any }
  const body = JSON.parse(text)
  expect(schemaProblems(answer!.content![media]!.schema ?? {}, body), `${key} ${res.status}: ${text.slice(0, 500)}`).toEqual([])
  return { status: res.status, body }
}

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 and lists every route the app serves under /api/v1, and the health and metrics routes', () => {
    expect(doc.openapi).toBe('3.1.0')
    const served = stack.server.app.routes
      .filter((r) => r.method !== 'ALL' && (r.path.startsWith('/api/v1/') || ['/healthz', '/readyz', '/metrics'].includes(r.path)))
      .filter((r) => r.path !== '/api/v1/openapi.json')
      .map((r) => `${r.method} ${templateOf(r.path)}`)
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    expect([...new Set(served)].filter((r) => !documented.includes(r)), 'routes missing from the document (add doc({...}) to them)').toEqual([])
  })

  it('the reference page is served from this server (no CDN)', async () => {
    const page = await (await fetch(`${base}/api/docs`)).text()
    expect(page).toContain('/api/docs/swagger-ui-bundle.js')
    expect(page).not.toMatch(/https?:\/\//)
    const bundle = await fetch(`${base}/api/docs/swagger-ui-bundle.js`)
    expect(bundle.status).toBe(200)
    expect(bundle.headers.get('content-type')).toMatch(/javascript/)
    expect((await fetch(`${base}/api/docs/swagger-ui.css`)).status).toBe(200)
  })

  it('every route answers real requests as documented', async () => {
    await call('GET', '/healthz')
    await call('GET', '/readyz')
    await call('GET', '/metrics')

    // people
    expect((await call('POST', '/api/v1/auth/signup', { body: { email: 'no' } })).status).toBe(400)
    const owner = (await call('POST', '/api/v1/auth/signup', { body: { email: 'owner@example.com', password: 'correct horse battery', name: 'Owner' } })).body
    const token: string = (await call('POST', '/api/v1/auth/login', { body: { email: 'owner@example.com', password: 'correct horse battery' } })).body.token
    expect((await call('GET', '/api/v1/auth/me', { token })).body.user.id).toBe(owner.user.id)
    const sessions = (await call('GET', '/api/v1/auth/sessions', { token })).body.sessions
    const other = sessions.find((s: { current: boolean }) => !s.current)
    expect((await call('DELETE', `/api/v1/auth/sessions/${other.id}`, { token })).status).toBe(204)
    const boss = (await call('POST', '/api/v1/auth/signup', { body: { email: 'boss@example.com', password: 'correct horse battery', name: 'Boss' } })).body
    const added = await call('POST', '/api/v1/users', { token: boss.token, body: { email: 'viewer@example.com', password: 'correct horse battery', name: 'Viewer' } })
    expect(added.status).toBe(201)

    // projects
    const project = (await call('POST', '/api/v1/projects', { token, body: { name: 'Shop', repo_url: await makeRepo() } })).body
    await call('GET', '/api/v1/projects', { token })
    await call('GET', `/api/v1/projects/${project.id}`, { token })
    expect((await call('POST', `/api/v1/projects/${project.id}/members`, { token, body: { email: 'viewer@example.com', role: 'viewer' } })).status).toBe(201)
    expect((await call('POST', `/api/v1/projects/${project.id}/members`, { token, body: { email: 'nobody-yet@example.com', role: 'viewer' } })).status).toBe(201)
    const viewerId: string = added.body.id ?? added.body.user.id
    expect((await call('PATCH', `/api/v1/projects/${project.id}/members/${viewerId}`, { token, body: { role: 'editor' } })).body.role).toBe('editor')
    expect((await call('GET', `/api/v1/projects/${project.id}/members`, { token })).body.invitations).toHaveLength(1)
    expect((await call('DELETE', `/api/v1/projects/${project.id}/invitations/nobody-yet@example.com`, { token })).status).toBe(204)
    expect((await call('DELETE', `/api/v1/projects/${project.id}/invitations/nobody-yet@example.com`, { token })).status).toBe(404)
    expect((await call('DELETE', `/api/v1/projects/${project.id}/members/${viewerId}`, { token })).status).toBe(204)

    // a draft, started
    const draft = (await call('POST', '/api/v1/specs', { token, body: { project_id: project.id, title: 'Draft', description: 'later', approval: 'manual' } })).body
    expect((await call('POST', `/api/v1/specs/${draft.id}/execute`, { token })).status).toBe(202)

    // a launched spec whose first model call is held, so its sandbox is running
    const title = 'Documented spec'
    const hold = stack.gate.hold(forSpec(title), 1)
    const launched = (await call('POST', '/api/v1/specs/launch', { token, body: { project_id: project.id, title, description: 'document it', approval: 'manual' } })).body
    const specId: string = launched.spec_id
    await hold.first()
    const sandbox = await runningSandbox(stack.database.sql, specId, { phase: 'explore' })
    const sandboxToken = await stack.tap!.tokenOf(sandbox.id)
    const sbx = `/api/v1/sandboxes/${sandbox.id}`
    expect((await call('GET', `${sbx}/assignment`, { token: sandboxToken })).body.kind).toBe('phase')
    await call('POST', `${sbx}/events`, { token: sandboxToken, body: { events: [{ id: randomUUID(), type: 'agent.message', data: { text: 'hello' } }] } })
    await call('GET', `${sbx}/messages?after=0`, { token: sandboxToken })
    const modelCall = { model: 'claude-sonnet-5-5', max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] }
    expect((await call('POST', `${sbx}/model/v1/messages`, { token: sandboxToken, body: modelCall })).status).toBe(400) // the model's own error
    const tools = [{ name: 'submit_exploration', description: 'submit', input_schema: { type: 'object' } }]
    expect((await call('POST', `${sbx}/model/v1/messages`, { token: sandboxToken, body: { ...modelCall, tools } })).body.type).toBe('message')
    const verdict = await call('POST', `${sbx}/result`, {
      token: sandboxToken,
      body: { id: randomUUID(), outcome: 'submitted', output: { summary: 'too thin' }, usage: { input_tokens: 1, output_tokens: 1 } },
    })
    expect(verdict.body.accepted).toBe(false)
    expect((await call('GET', `${sbx}/assignment`)).status).toBe(401)
    hold.release()

    // steering (the spec is polled through `call` too, so those answers are checked as well)
    const reader = { get: (p: string) => call('GET', `/api/v1${p}`, { token }) } as unknown as Api
    await waitForStatus(reader, specId, ['awaiting_approval'], 120_000)
    await call('POST', `/api/v1/specs/${specId}/revise`, { token, body: { phase: 'requirements', feedback: 'Add a requirement about logging out.' } })
    await waitForStatus(reader, specId, ['awaiting_approval'], 120_000)
    await call('POST', `/api/v1/specs/${specId}/approve`, { token, body: { phase: 'requirements' } })
    expect((await call('POST', `/api/v1/specs/${specId}/pause`, { token })).body.status).toBe('paused')
    expect((await call('POST', `/api/v1/specs/${specId}/resume`, { token })).body.status).toBe('executing')
    expect((await call('POST', `/api/v1/specs/${specId}/messages`, { token, body: { text: 'keep it small' } })).status).toBe(201)
    expect((await call('POST', `/api/v1/specs/${specId}/cancel`, { token })).body.status).toBe('cancelled')
    await call('POST', `/api/v1/specs/${specId}/retry`, { token })
    await call('POST', `/api/v1/specs/${draft.id}/cancel`, { token })

    // reading
    await call('GET', `/api/v1/specs/${specId}`, { token })
    expect((await call('GET', '/api/v1/specs/spec_missing', { token })).status).toBe(404)
    await call('GET', `/api/v1/specs/${specId}/artifacts`, { token })
    expect((await call('GET', `/api/v1/specs/${specId}/diff`, { token })).status).toBe(404) // no branch before execution
    expect((await call('PATCH', `/api/v1/projects/${project.id}`, { token, body: { check_command: 'npm test' } })).body.check_command).toBe('npm test')
    expect((await call('GET', `/api/v1/specs/${specId}/artifacts/requirements.md`, { token })).status).toBe(200)
    expect((await call('PATCH', `/api/v1/specs/${specId}`, { token, body: { budget_usd: 5 } })).body.budget_usd).toBe(5)
    await call('GET', `/api/v1/specs/${specId}/events?after_seq=0&limit=500`, { token })
    await call('GET', `/api/v1/projects/${project.id}/specs`, { token })

    // quick mode and the board
    const ticket = (await call('POST', '/api/v1/tickets', { token, body: { project_id: project.id, title: 'Fix typo', description: 'in the README' } })).body
    await call('GET', `/api/v1/tickets/${ticket.id}`, { token })
    await call('GET', `/api/v1/board?project_id=${project.id}`, { token })
    await call('POST', `/api/v1/specs/${ticket.spec_id}/cancel`, { token })

    expect((await call('POST', '/api/v1/auth/logout', { token })).status).toBe(204)
    expect((await call('DELETE', '/api/v1/auth/sessions', { token: boss.token })).status).toBe(204)

    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    expect(documented.filter((op) => !exercised.has(op)), 'documented routes no request reached').toEqual([])
  }, 240_000)
})
