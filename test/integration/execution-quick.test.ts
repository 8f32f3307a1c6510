import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { projectCast, type Api } from '../support/api.ts'
import { waitForStatus } from '../support/omoi.ts'
import { git, makeRepo } from '../support/repo.ts'
import { everyEvent, logProblems, sandboxesOf, startStack, type Stack } from '../support/stack.ts'

/** Quick mode (CONTRACT §4 POST /tickets): one ticket, one task, no planning phases; and who sees it on the board. */

let stack: Stack
let owner: Api
let viewer: Api
let outsider: Api
let repo: string
let projectId: string

beforeAll(async () => {
  stack = await startStack()
  repo = await makeRepo()
  ;({ owner, viewer, outsider, projectId } = await projectCast(stack.server.url, repo))
})
afterAll(() => stack?.stop())

const boardKeys = async (api: Api, query = '') => {
  const res = await api.get(`/board${query}`)
  expect(res.status).toBe(200)
  return (res.body.columns as { status: string; tickets: { id: string; title: string }[] }[]).flatMap((c) => c.tickets.map((t) => `${c.status}:${t.title}`))
}

describe('a quick ticket', () => {
  it('is created with one task, runs at once without planning, and ends done on its branch', async () => {
    const res = await owner.post('/tickets', { project_id: projectId, title: 'Fix the typo', description: 'README says "shpo"' })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const ticket = res.body
    expect(ticket).toMatchObject({ key: 'TKT-001', title: 'Fix the typo', project_id: projectId, user_id: owner.user!.id })
    expect(ticket.tasks).toHaveLength(1)
    expect(ticket.tasks[0]).toMatchObject({ key: 'TSK-001', title: 'Fix the typo' })
    const specId: string = ticket.spec_id

    const spec = await waitForStatus(owner, specId, ['completed', 'failed', 'cancelled'], 90_000)
    const events = await everyEvent(owner, specId)
    expect(spec.status, JSON.stringify(events.filter((e) => /failed|error/.test(e.type)))).toBe('completed')
    expect(spec).toMatchObject({ kind: 'quick', current_phase: 'done' })
    expect(spec.phases.map((p: { phase: string; status: string }) => [p.phase, p.status])).toEqual([['execute', 'completed']])

    // no planning phase ran: no phase sandbox, no phase event, the model only ever saw the task's submit tool
    expect(events.filter((e) => e.type === 'spec.phase_started')).toEqual([])
    const rows = await sandboxesOf(stack.database.sql, specId)
    expect(rows.map((r) => [r.kind, r.task_id, r.attempt])).toEqual([['task', 'TSK-001', 1]])
    const calls = stack.gate.requests.filter((r) => (r.body.system ?? '').includes('Fix the typo'))
    expect(calls.length).toBeGreaterThan(0)
    expect(new Set(calls.map((r) => r.submitTool))).toEqual(new Set(['complete_task']))
    expect(events.map((e) => e.type)).toContain('spec.task_started')
    expect(events.filter((e) => e.type === 'spec.execution_completed')).toHaveLength(1)
    expect(logProblems(events)).toEqual([])

    const read = (await owner.get(`/tickets/${ticket.id}`)).body
    expect(read.status).toBe('done')
    expect(read.tasks[0]).toMatchObject({ key: 'TSK-001', status: 'completed', attempts: 1 })
    expect(read.tasks[0].branch).toMatch(/^omoi\//)
    expect(await git(repo, 'ls-tree', '-r', '--name-only', read.tasks[0].branch)).toContain('omoi-TSK-001.txt')

    // the board: the owner and a project viewer see it done; another user does not, and cannot read the ticket
    expect(await boardKeys(owner)).toEqual(['done:Fix the typo'])
    expect(await boardKeys(owner, `?project_id=${projectId}`)).toEqual(['done:Fix the typo'])
    expect(await boardKeys(viewer)).toEqual(['done:Fix the typo'])
    expect((await viewer.get(`/tickets/${ticket.id}`)).status).toBe(200)
    expect(await boardKeys(outsider)).toEqual([])
    expect((await outsider.get(`/tickets/${ticket.id}`)).status).toBe(404)
  }, 150_000)

  it('only the project’s owner and editors create quick tickets (viewer 403, outsider 404)', async () => {
    const asViewer = await viewer.post('/tickets', { project_id: projectId, title: 'Sneaky', description: 'not allowed' })
    expect(asViewer.status).toBe(403)
    const asOutsider = await outsider.post('/tickets', { project_id: projectId, title: 'Sneaky', description: 'not allowed' })
    expect(asOutsider.status).toBe(404)
    expect(await boardKeys(owner)).toEqual(['done:Fix the typo'])
  })
})
