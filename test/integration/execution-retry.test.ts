import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { projectCast, type Api } from '../support/api.ts'
import { waitForStatus } from '../support/omoi.ts'
import { git, makeRepo } from '../support/repo.ts'
import { everyEvent, logProblems, sandboxesOf, startStack, type Stack } from '../support/stack.ts'

/**
 * EXECUTE when a task keeps failing (DESIGN §2.5, CONTRACT §4): two retries, then its dependents are blocked and the spec
 * fails saying what to do; a retry of that task after the cause is fixed finishes the spec, and the board follows.
 */

let stack: Stack
let owner: Api
let viewer: Api
let outsider: Api
let repo: string
let projectId: string

beforeAll(async () => {
  // TSK-002's agent writes something the project's check rejects (whatever it claims), until the test fixes that
  const broken = (task: string) => ({ path: `omoi-${task}.txt`, content: task === 'TSK-002' ? 'broken\n' : `done by the fake model for ${task}\n` })
  stack = await startStack({ taskFile: broken, skipBadSubmit: true })
  repo = await makeRepo()
  ;({ owner, viewer, outsider, projectId } = await projectCast(stack.server.url, repo))
  const patched = await owner.request('PATCH', `/projects/${projectId}`, { check_command: '! grep -q broken omoi-*.txt' })
  expect(patched.status).toBe(200)
})
afterAll(() => stack?.stop())

type Column = { status: string; tickets: { key: string; spec_id: string; status: string }[] }
const boardOf = async (api: Api, specId: string) => {
  const res = await api.get('/board')
  expect(res.status).toBe(200)
  return Object.fromEntries(
    (res.body.columns as Column[]).flatMap((c) => c.tickets.filter((t) => t.spec_id === specId).map((t) => [t.key, c.status])),
  )
}

describe('a task that keeps failing', () => {
  it('is tried 3 times, blocks its dependents, fails the spec; a retry after the fix completes it', async () => {
    const launch = await owner.post('/specs/launch', { project_id: projectId, title: 'Due dates', description: 'add due dates' })
    const specId: string = launch.body.spec_id
    const failed = await waitForStatus(owner, specId, ['failed', 'completed', 'cancelled'], 90_000)
    let events = await everyEvent(owner, specId)
    expect(failed.status, events.map((e) => e.type).join(' ')).toBe('failed')
    expect(failed.current_phase).toBe('execute')

    // three attempts, each in its own sandbox; the first two announce a retry, the last does not
    const taskRows = (await sandboxesOf(stack.database.sql, specId)).filter((r) => r.kind === 'task')
    expect(taskRows.filter((r) => r.task_id === 'TSK-002').map((r) => [r.attempt, r.generation])).toEqual([
      [1, 0],
      [2, 0],
      [3, 0],
    ])
    expect(taskRows.every((r) => r.status === 'ended')).toBe(true)
    const taskFailed = events.filter((e) => e.type === 'spec.task_failed')
    expect(taskFailed.map((e) => [e.data.task_id, e.data.attempt, e.data.will_retry])).toEqual([
      ['TSK-002', 1, true],
      ['TSK-002', 2, true],
      ['TSK-002', 3, false],
    ])
    expect(events.filter((e) => e.type === 'spec.task_blocked').map((e) => e.data)).toEqual([{ task_id: 'TSK-004', blocked_by: 'TSK-002' }])
    expect(events.some((e) => e.type === 'spec.task_started' && e.data.task_id === 'TSK-004')).toBe(false)
    expect(events.some((e) => e.type === 'spec.task_completed' && e.data.task_id === 'TSK-003')).toBe(true)
    const stuck = events.filter((e) => e.type === 'spec.execution_failed')
    expect(stuck).toHaveLength(1)
    expect(stuck[0]!.data.error).toMatch(/TSK-002/)
    expect(stuck[0]!.data.error).toMatch(/[Rr]etry/)

    const tasks = Object.fromEntries(
      (await stack.database.sql<{ key: string; status: string; attempts: number }[]>`
        select key, status, attempts from tasks where spec_id = ${specId} order by key`).map((t) => [t.key, [t.status, t.attempts]]),
    )
    expect(tasks).toEqual({ 'TSK-001': ['completed', 1], 'TSK-002': ['failed', 3], 'TSK-003': ['completed', 1], 'TSK-004': ['blocked', 0] })
    expect(await boardOf(owner, specId)).toEqual({ 'TKT-001': 'blocked', 'TKT-002': 'blocked' })

    // a task that has not failed cannot be retried; the failed one can, once the cause is gone
    const wrong = await owner.post(`/specs/${specId}/retry`, { task_id: 'TSK-003' })
    expect(wrong.status).toBe(409)
    expect(wrong.body.error.code).toBe('conflict')
    stack.model.setScenario({ taskFile: undefined })
    const retry = await owner.post(`/specs/${specId}/retry`, { task_id: 'TSK-002' })
    expect(retry.status, JSON.stringify(retry.body)).toBe(200)
    expect(retry.body.status).toBe('executing')

    const done = await waitForStatus(owner, specId, ['completed', 'failed', 'cancelled'], 90_000)
    events = await everyEvent(owner, specId)
    expect(done.status, JSON.stringify(events.filter((e) => /failed/.test(e.type)).slice(-3))).toBe('completed')
    expect(done.phases.find((p: { phase: string }) => p.phase === 'execute')).toMatchObject({ status: 'completed' })
    const rows = (await sandboxesOf(stack.database.sql, specId)).filter((r) => r.kind === 'task')
    expect(rows.filter((r) => r.task_id === 'TSK-002').map((r) => r.attempt)).toEqual([1, 2, 3, 4])
    expect(rows.filter((r) => r.task_id === 'TSK-004').map((r) => r.attempt)).toEqual([1])
    const keys = rows.map((r) => `${r.task_id}:${r.attempt}:${r.generation}`)
    expect(new Set(keys).size).toBe(keys.length)
    expect(events.filter((e) => e.type === 'spec.retried').map((e) => e.data.task_id)).toEqual(['TSK-002'])

    // the board: both tickets done, for the owner and a viewer of the project; not on anyone else's board
    expect(await boardOf(owner, specId)).toEqual({ 'TKT-001': 'done', 'TKT-002': 'done' })
    expect(await boardOf(viewer, specId)).toEqual({ 'TKT-001': 'done', 'TKT-002': 'done' })
    expect(await boardOf(outsider, specId)).toEqual({})
    const d = events.find((e) => e.type === 'spec.task_completed' && e.data.task_id === 'TSK-004')!.data.branch
    const files = await git(repo, 'ls-tree', '-r', '--name-only', d)
    for (const k of ['TSK-001', 'TSK-002', 'TSK-003', 'TSK-004']) expect(files).toContain(`omoi-${k}.txt`)
    expect(logProblems(events)).toEqual([])
  }, 150_000)
})
