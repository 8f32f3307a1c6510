import { conversationSteps } from '../support/model-gate.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asUser, type Api } from '../support/api.ts'
import { waitForStatus } from '../support/omoi.ts'
import { git, makeRepo } from '../support/repo.ts'
import { everyEvent, isWorker, logProblems, runningSandbox, sandboxesOf, startStack, type Stack } from '../support/stack.ts'
import { waitFor } from '../support/wait.ts'

/**
 * A server restarted (gracefully, same node id) while two tasks run: they are re-attached, not run twice, and the spec
 * ends exactly as it would have without the restart.
 */

let stack: Stack
let owner: Api
let repo: string

beforeAll(async () => {
  stack = await startStack({ skipBadSubmit: true }, { OMOI_NODE_ID: 'node-1' })
  owner = await asUser(stack.server.url, 'Owner')
  repo = await makeRepo()
})
afterAll(() => stack?.stop())

describe('a restart during execution', () => {
  it('re-attaches the running tasks’ sandboxes and completes the spec as without the restart', async () => {
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: repo })).body
    // B and C each wait at their second model call (after write_file): both are mid-task when the server stops
    const hold = stack.gate.hold((r) => r.submitTool === 'complete_task' && ['TSK-002', 'TSK-003'].includes(r.taskId!) && r.called.length === 1, 2)
    const specId: string = (await owner.post('/specs/launch', { project_id: project.id, title: 'Due dates', description: 'add due dates' })).body.spec_id
    await waitFor(() => hold.held.length === 2, { timeoutMs: 60_000, what: 'B and C to be mid-task' })
    const b = await runningSandbox(stack.database.sql, specId, { task: 'TSK-002' })
    const c = await runningSandbox(stack.database.sql, specId, { task: 'TSK-003' })

    let before!: { state: string; snapshot: { context: Record<string, any> } }
    const server = await stack.restart({}, async () => {
      const [row] = await stack.database.sql<(typeof before)[]>`select state, snapshot from spec_actors where spec_id = ${specId}`
      before = row!
    })
    expect(before.state).toBe('active.execute.running')
    expect(server.host.context(specId)).toEqual(before.snapshot.context)
    const tasks = before.snapshot.context.tasks
    expect([tasks['TSK-002'].status, tasks['TSK-003'].status, tasks['TSK-004'].status]).toEqual(['running', 'running', 'pending'])
    expect([tasks['TSK-002'].sandboxId, tasks['TSK-003'].sandboxId]).toEqual([b.id, c.id])
    expect(await isWorker(Number(b.external_id))).toBe(true)
    expect(await isWorker(Number(c.external_id))).toBe(true)

    hold.release()
    const spec = await waitForStatus(owner, specId, ['completed', 'failed', 'cancelled'], 90_000)
    const events = await everyEvent(owner, specId)
    expect(spec.status, JSON.stringify(events.filter((e) => /failed|error/.test(e.type)))).toBe('completed')

    // one sandbox per task, B and C the very ones from before the restart
    const rows = (await sandboxesOf(stack.database.sql, specId)).filter((r) => r.kind === 'task')
    expect(rows.map((r) => [r.task_id, r.attempt, r.generation]).sort()).toEqual([
      ['TSK-001', 1, 0],
      ['TSK-002', 1, 0],
      ['TSK-003', 1, 0],
      ['TSK-004', 1, 0],
    ])
    expect(rows.find((r) => r.task_id === 'TSK-002')!.id).toBe(b.id)
    expect(rows.find((r) => r.task_id === 'TSK-003')!.id).toBe(c.id)
    // each task ran once: one agent.started, one task_started, three conversation steps (write, run, complete)
    for (const key of ['TSK-001', 'TSK-002', 'TSK-003', 'TSK-004']) {
      const sandbox = rows.find((r) => r.task_id === key)!.id
      expect(events.filter((e) => e.sandbox_id === sandbox && e.type === 'agent.started'), key).toHaveLength(1)
      expect(events.filter((e) => e.type === 'spec.task_started' && e.data.task_id === key), key).toHaveLength(1)
      expect(events.filter((e) => e.type === 'spec.task_completed' && e.data.task_id === key), key).toHaveLength(1)
      expect(conversationSteps(stack.gate.requests.filter((r) => r.taskId === key)), key).toBe(3)
    }
    expect(events.filter((e) => /task_failed|sandbox_replaced|phase_failed/.test(e.type))).toEqual([])

    // the same end state as an uninterrupted run
    expect(spec.phases.map((p: { phase: string; status: string; attempts: number }) => [p.phase, p.status, p.attempts])).toEqual([
      ['explore', 'completed', 1],
      ['requirements', 'completed', 1],
      ['design', 'completed', 1],
      ['tasks', 'completed', 1],
      ['sync', 'completed', 1],
      ['execute', 'completed', 1],
    ])
    const taskRows = await stack.database.sql<{ key: string; status: string; attempts: number }[]>`
      select key, status, attempts from tasks where spec_id = ${specId} order by key`
    expect(taskRows.map((t) => [t.key, t.status, t.attempts])).toEqual([
      ['TSK-001', 'completed', 1],
      ['TSK-002', 'completed', 1],
      ['TSK-003', 'completed', 1],
      ['TSK-004', 'completed', 1],
    ])
    const board = (await owner.get('/board')).body
    expect(board.columns.find((c: { status: string }) => c.status === 'done').tickets.map((t: { key: string }) => t.key)).toEqual(['TKT-001', 'TKT-002'])
    // four task branches and the spec branch, which holds every task's work
    expect((await git(repo, 'branch', '--list', 'omoi/*')).split('\n')).toHaveLength(5)
    const files = await git(repo, 'ls-tree', '-r', '--name-only', spec.delivery.branch)
    for (const k of ['TSK-001', 'TSK-002', 'TSK-003', 'TSK-004']) expect(files).toContain(`omoi-${k}.txt`)
    expect(logProblems(events)).toEqual([])
  }, 150_000)
})
