import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asUser, type Api } from '../support/api.ts'
import { forSpec } from '../support/model-gate.ts'
import { launchSpec, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { everyEvent, logProblems, runningSandbox, sandboxesOf, startStack, waitForEvent, type Stack } from '../support/stack.ts'
import { waitFor } from '../support/wait.ts'

/** Cancelling leaves nothing unfinished, anywhere; a message no agent took is reported (issue 11, cases 5 and 6). */

let stack: Stack
let owner: Api
let projectId: string

beforeAll(async () => {
  stack = await startStack({ skipBadSubmit: true })
  owner = await asUser(stack.server.url, 'Owner')
  projectId = (await owner.post('/projects', { name: 'Final', repo_url: await makeRepo() })).body.id
})
afterAll(() => stack?.stop())

const sql = () => stack.database.sql

describe('cancelling during execution', () => {
  it('gives every unfinished task, ticket and phase a final status, on the board too', async () => {
    const title = 'Cancel while building'
    const hold = stack.gate.hold((r) => forSpec(title)(r) && r.taskId === 'TSK-001' && r.called.length === 1, 1)
    const specId = await launchSpec(owner, projectId, title)
    await hold.first()
    await waitFor(async () => (await sql()`select 1 from tasks where spec_id = ${specId} and status = 'running'`).length > 0, {
      what: 'a running task',
    })

    const res = await owner.post(`/specs/${specId}/cancel`)
    hold.release()
    expect(res.status).toBe(200)
    expect(res.body.status).toBe('cancelled')

    const spec = (await owner.get(`/specs/${specId}`)).body
    const execute = spec.phases.find((p: { phase: string }) => p.phase === 'execute')
    expect(execute.status).toBe('cancelled')
    expect(execute.ended_at).not.toBeNull()
    expect(spec.phases.filter((p: { status: string }) => p.status === 'running' || p.status === 'awaiting_approval')).toEqual([])

    const tasks = await sql()<{ key: string; status: string }[]>`select key, status from tasks where spec_id = ${specId} order by key`
    expect(tasks.map((t) => t.status)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled'])
    const board = (await owner.get(`/board?project_id=${projectId}`)).body
    const columns = Object.fromEntries(board.columns.map((c: { status: string; tickets: { spec_id: string }[] }) => [c.status, c.tickets.filter((t) => t.spec_id === specId).length]))
    expect(columns).toEqual({ backlog: 0, building: 0, testing: 0, done: 0, blocked: 0, cancelled: 2 })
    await waitFor(async () => (await sandboxesOf(sql(), specId)).every((s) => s.status === 'ended'), { what: 'every sandbox ended' })
    expect(logProblems(await everyEvent(owner, specId))).toEqual([])
  }, 120_000)
})

describe('a message no agent takes', () => {
  it('is reported as user.message_undelivered once the spec ends; with no agent running, sending answers 409', async () => {
    const title = 'Unheard message'
    const hold = stack.gate.hold((r) => forSpec(title)(r) && r.submitTool === 'submit_exploration' && r.called.length === 1, 1)
    const specId = await launchSpec(owner, projectId, title)
    await hold.first()

    // the agent is inside a model call: the message waits for its next turn, which never comes
    const sent = await owner.post(`/specs/${specId}/messages`, { text: 'please also add tests' })
    expect(sent.status).toBe(201)
    expect((await owner.post(`/specs/${specId}/cancel`)).status).toBe(200)
    hold.release()

    const report = await waitForEvent(owner, specId, (e) => e.type === 'user.message_undelivered', 'user.message_undelivered')
    expect(report.data).toEqual({ message_seq: sent.body.seq })
    expect(report.source).toBe('user')
    const again = await owner.post(`/specs/${specId}/messages`, { text: 'hello?' })
    expect(again.status).toBe(409)
    await waitForStatus(owner, specId, ['cancelled'])
    const events = await everyEvent(owner, specId)
    expect(events.filter((e) => e.type === 'agent.message_injected')).toEqual([])
    expect(events.filter((e) => e.type === 'user.message_undelivered')).toHaveLength(1)
  }, 120_000)
})

describe('rows left behind by a crash', () => {
  it('a sandbox row still "running" for a cancelled spec is ended at the next boot', async () => {
    const title = 'Leftover sandbox'
    const hold = stack.gate.hold((r) => forSpec(title)(r) && r.submitTool === 'submit_exploration', 1)
    const specId = await launchSpec(owner, projectId, title)
    await hold.first()
    const sandbox = await runningSandbox(sql(), specId, { phase: 'explore' })
    expect((await owner.post(`/specs/${specId}/cancel`)).status).toBe(200)
    hold.release()
    await waitFor(async () => (await sandboxesOf(sql(), specId)).every((s) => s.status === 'ended'), { what: 'the sandbox to end' })
    // what a crash between the cancel and the sandbox's end used to leave: a row that holds a slot for good
    await sql()`update sandboxes set status = 'running', ended_at = null, end_reason = null where id = ${sandbox.id}`

    await stack.restart()
    const [row] = await sandboxesOf(sql(), specId)
    expect(row).toMatchObject({ id: sandbox.id, status: 'ended', end_reason: 'ended: no phase or task of its spec is waiting for it' })
  }, 120_000)
})
