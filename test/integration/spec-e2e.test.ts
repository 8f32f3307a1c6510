import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asUser, type Api } from '../support/api.ts'
import type { FakeModel } from '../support/fake-model.ts'
import { allEvents, startWithModel, waitForStatus } from '../support/omoi.ts'
import { git, makeRepo } from '../support/repo.ts'
import type { TestServer } from '../support/server.ts'

let server: TestServer
let model: FakeModel
let owner: Api
let repo: string

beforeAll(async () => {
  ;({ server, model } = await startWithModel())
  owner = await asUser(server.url, 'Owner')
  repo = await makeRepo()
})
afterAll(async () => {
  await server?.stop()
  await model?.close()
})

describe('a launched spec runs end to end in local sandboxes', () => {
  it('plans through SYNC, executes the diamond of tasks on branches, and completes', async () => {
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: repo })).body
    const launch = await owner.post('/specs/launch', { project_id: project.id, title: 'OAuth login', description: 'add OAuth login', budget_usd: 100 })
    expect(launch.status).toBe(201)
    expect(launch.body).toMatchObject({ status: 'executing', current_phase: 'explore' })
    expect(launch.body.sandbox_id).toMatch(/^sbx_/)
    const specId = launch.body.spec_id

    const spec = await waitForStatus(owner, specId, ['completed', 'failed'])
    const events = await allEvents(owner, specId)
    expect(spec.status, JSON.stringify(events.filter((e) => e.type.includes('failed')))).toBe('completed')
    expect(spec.current_phase).toBe('done')
    expect(spec.cost_usd).toBeGreaterThan(0)
    expect(spec.phases.map((p: { phase: string; status: string }) => [p.phase, p.status])).toEqual([
      ['explore', 'completed'],
      ['requirements', 'completed'],
      ['design', 'completed'],
      ['tasks', 'completed'],
      ['sync', 'completed'],
      ['execute', 'completed'],
    ])

    // the log: seq gap-free, phase starts, the rejected submission as a retry, tool uses, usage, completion
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
    const types = events.map((e) => e.type)
    for (const t of ['spec.execution_started', 'spec.phase_started', 'spec.phase_retry', 'agent.tool_use', 'agent.usage', 'spec.phase_completed', 'spec.tasks_queued', 'spec.task_started', 'spec.task_completed', 'spec.execution_completed']) {
      expect(types, t).toContain(t)
    }
    expect(events.filter((e) => e.type === 'spec.phase_completed').map((e) => e.data.phase)).toEqual(['explore', 'requirements', 'design', 'tasks'])

    const artifacts = (await owner.get(`/specs/${specId}/artifacts`)).body
    expect(artifacts.requirements.requirements.map((r: { id: string }) => r.id)).toEqual(['REQ-001', 'REQ-002', 'REQ-003'])
    expect(artifacts.sync.coverage).toHaveLength(3)
    expect(artifacts.sync.coverage[0].criteria[1]).toMatchObject({ id: 'REQ-001.2', tasks: ['TSK-001', 'TSK-002'] })
    expect(artifacts.sync.uncovered_criteria).toEqual([])
    for (const k of ['exploration', 'design', 'tasks']) expect(artifacts[k]).not.toBeNull()

    // dependency order: A before B and C, D after both
    const started = events.filter((e) => e.type === 'spec.task_started').map((e) => e.data.task_id)
    const completed = events.filter((e) => e.type === 'spec.task_completed').map((e) => e.data.task_id)
    expect(started[0]).toBe('TSK-001')
    expect(started.at(-1)).toBe('TSK-004')
    expect(started.indexOf('TSK-004')).toBeGreaterThan(Math.max(completed.indexOf('TSK-002'), completed.indexOf('TSK-003')) - 1)

    // branches in the project's repository: one per task, and the spec branch holding every task's work
    const branches = await git(repo, 'branch', '--list', 'omoi/*')
    expect(branches.split('\n')).toHaveLength(5)
    expect(spec.delivery).toMatchObject({ branch: `omoi/${specId.slice(-10)}/spec`, base: 'main', check: null, files_changed: 4, insertions: 4, deletions: 0, pull_request: null })
    expect(spec.delivery.commit).toBe(await git(repo, 'rev-parse', spec.delivery.branch))
    const files = await git(repo, 'ls-tree', '-r', '--name-only', spec.delivery.branch)
    for (const k of ['TSK-001', 'TSK-002', 'TSK-003', 'TSK-004']) expect(files).toContain(`omoi-${k}.txt`)
    expect(types).toContain('spec.integrated')

    // tickets and tasks exist once, owned by the launching user, done on the board
    const board = (await owner.get('/board')).body
    const done = board.columns.find((c: { status: string }) => c.status === 'done').tickets
    expect(done.map((t: { key: string }) => t.key)).toEqual(['TKT-001', 'TKT-002'])
    expect(done.every((t: { user_id: string }) => t.user_id === owner.user!.id)).toBe(true)
    const [row] = await server.database.sql`select count(*)::int8 as n from tasks where spec_id = ${specId}`
    expect(row!.n).toBe(4)
  }, 180_000)
})
