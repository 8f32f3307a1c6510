import { waitFor } from 'xstate'
import { describe, expect, it } from 'vitest'
import { ACCEPT, harness, reject, type SpecActor } from './spec-machine-harness.test.ts'

type H = ReturnType<typeof harness>

/** Runs TSK-001 to completion so TSK-002 and TSK-003 run, then makes TSK-002 fail all three of its attempts. */
async function failTask2(h: H): Promise<SpecActor> {
  const actor = await h.toExecute()
  h.submitTask('TSK-001', ACCEPT)
  for (let i = 0; i < 3; i++) h.submitTask('TSK-002', reject(`attempt 1 try ${i + 1}`))
  h.runnerOf({ task: 'TSK-002' }).send({ type: 'TASK_AGENT_FAILED', task: 'TSK-002', attempt: 2, error: 'model gave up' })
  h.runnerOf({ task: 'TSK-002' }).send({ type: 'DEADLINE', task: 'TSK-002', attempt: 3, generation: 0 })
  return actor
}

describe('spec machine: a failing task', () => {
  it('three rejections end an attempt, which is retried with a new runner', async () => {
    const h = harness()
    const actor = await h.toExecute()
    h.submitTask('TSK-001', ACCEPT)
    h.runnerOf({ task: 'TSK-002' }).send({ type: 'SANDBOX_STARTED', sandboxId: 'sbx_2', task: 'TSK-002', attempt: 1, generation: 0 })
    h.submitTask('TSK-002', reject('tests fail'))
    h.submitTask('TSK-002', reject('tests fail'))
    expect(actor.getSnapshot().context.tasks['TSK-002']).toMatchObject({ status: 'running', attempt: 1, submissions: 2 })
    expect(h.events('spec.phase_retry').map((l) => l.data)).toEqual([
      { phase: 'execute', task_id: 'TSK-002', attempt: 1, feedback: 'tests fail' },
      { phase: 'execute', task_id: 'TSK-002', attempt: 1, feedback: 'tests fail' },
    ])
    h.submitTask('TSK-002', reject('tests still fail'))

    expect(h.events('spec.task_failed').map((l) => [l.data, l.sandboxId])).toEqual([
      [{ task_id: 'TSK-002', error: 'rejected 3 times: tests still fail', attempt: 1, will_retry: true }, 'sbx_2'],
    ])
    expect(h.taskRunners('TSK-002').map((r) => [r.input.attempt, r.stopped])).toEqual([
      [1, true],
      [2, false],
    ])
    expect(actor.getSnapshot().context.tasks['TSK-002']).toMatchObject({ status: 'running', attempt: 2, submissions: 0, generation: 0 })
    expect(h.liveTasks()).toEqual(['TSK-002', 'TSK-003'])
    expect(actor.getSnapshot().value).toEqual({ active: { execute: 'running' } })
  })

  it('a lost task sandbox is replaced twice; the third loss ends the attempt; stale reports are ignored', async () => {
    const h = harness()
    const actor = await h.toExecute()
    const lose = (generation: number) =>
      h.runnerOf({ task: 'TSK-001' }).send({ type: 'SANDBOX_LOST', reason: 'silent', task: 'TSK-001', attempt: 1, generation })
    lose(0)
    actor.send({ type: 'SANDBOX_LOST', reason: 'late', task: 'TSK-001', attempt: 1, generation: 0 })
    lose(1)
    expect(h.events('spec.sandbox_replaced').map((l) => l.data)).toEqual([
      { task_id: 'TSK-001', attempt: 1, generation: 1, reason: 'silent' },
      { task_id: 'TSK-001', attempt: 1, generation: 2, reason: 'silent' },
    ])
    expect(h.taskRunners('TSK-001').map((r) => [r.input.attempt, r.input.generation, r.stopped])).toEqual([
      [1, 0, true],
      [1, 1, true],
      [1, 2, false],
    ])
    lose(2)
    expect(h.events('spec.task_failed')[0]?.data).toMatchObject({ task_id: 'TSK-001', attempt: 1, will_retry: true, error: expect.stringMatching(/lost 3 times/) })
    expect(h.runnerOf({ task: 'TSK-001' }).input).toMatchObject({ attempt: 2, generation: 0 })

    h.runnerOf({ task: 'TSK-001' }).send({ type: 'SANDBOX_ERROR', error: 'no image', task: 'TSK-001', attempt: 2, generation: 0 })
    expect(h.events('spec.task_failed')[1]?.data).toMatchObject({ attempt: 2, error: 'the sandbox could not start: no image' })
    actor.send({ type: 'TASK_AGENT_FAILED', task: 'TSK-001', attempt: 2, error: 'stale' })
    actor.send({ type: 'DEADLINE', task: 'TSK-001', attempt: 3, generation: 1 })
    actor.send({ type: 'TASK_SUBMISSION', task: 'TSK-002', attempt: 1, resultId: 'r', verdict: ACCEPT, output: {} })
    expect(h.events('spec.task_failed')).toHaveLength(2)
    expect(actor.getSnapshot().context.tasks['TSK-001']).toMatchObject({ status: 'running', attempt: 3 })
    expect(actor.getSnapshot().context.tasks['TSK-002']?.status).toBe('pending')
  })

  it('after three attempts the task fails, its dependents are blocked, and the spec fails once nothing else runs', async () => {
    const h = harness()
    const actor = await failTask2(h)
    expect(h.events('spec.task_failed').map((l) => [l.data.attempt, l.data.will_retry])).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ])
    const tasks = actor.getSnapshot().context.tasks
    expect(tasks['TSK-002']).toMatchObject({ status: 'failed', attempt: 3, error: 'the task did not finish before its deadline' })
    expect(tasks['TSK-004']).toMatchObject({ status: 'blocked', error: 'blocked: TSK-002 failed' })
    expect(h.events('spec.task_blocked').map((l) => l.data)).toEqual([{ task_id: 'TSK-004', blocked_by: 'TSK-002' }])
    // TSK-003 still runs: the spec has not failed yet
    expect(actor.getSnapshot().value).toEqual({ active: { execute: 'running' } })
    expect(h.liveTasks()).toEqual(['TSK-003'])
    expect(h.events('spec.execution_failed')).toEqual([])

    h.submitTask('TSK-003', ACCEPT)
    const s = actor.getSnapshot()
    expect(s.value).toBe('failed')
    expect(s.context.phases.execute.status).toBe('failed')
    expect(s.context.failure?.phase).toBe('execute')
    expect(h.events('spec.execution_failed').map((l) => l.data)).toEqual([
      { phase: 'execute', error: 'TSK-002 failed after its retries; blocked: TSK-004. Retry the task or cancel the spec.' },
    ])
    expect(h.live()).toEqual([])
  })

  it('RETRY {task} restarts the task as a new attempt with three more tries, unblocks its dependents, and the spec completes', async () => {
    const h = harness()
    const actor = await failTask2(h)
    h.submitTask('TSK-003', ACCEPT)
    expect(actor.getSnapshot().can({ type: 'RETRY', by: 'user_1', task: 'TSK-003' })).toBe(false)
    expect(actor.getSnapshot().can({ type: 'RETRY', by: 'user_1', task: 'TSK-009' })).toBe(false)
    expect(actor.getSnapshot().can({ type: 'RETRY', by: 'user_1', task: 'TSK-002' })).toBe(true)

    actor.send({ type: 'RETRY', by: 'user_1', task: 'TSK-002' })
    let s = actor.getSnapshot()
    expect(s.value).toEqual({ active: { execute: 'running' } })
    expect(s.context.failure).toBeNull()
    expect(s.context.phases.execute.status).toBe('running')
    expect(s.context.tasks['TSK-004']).toMatchObject({ status: 'pending', error: null })
    expect(h.events('spec.retried').map((l) => l.data)).toEqual([{ phase: 'execute', task_id: 'TSK-002', by: 'user_1' }])
    expect(h.liveTasks()).toEqual(['TSK-002'])

    // the retry is a new attempt: the sandboxes of attempts 1-3 can neither be re-attached nor answer for it
    const retried = h.runnerOf({ task: 'TSK-002' })
    expect(retried.input.attempt).toBe(4)
    actor.send({ type: 'TASK_SUBMISSION', task: 'TSK-002', attempt: 1, resultId: 'late_from_attempt_1', verdict: ACCEPT, output: {} })
    expect(actor.getSnapshot().context.tasks['TSK-002']?.status).toBe('running')

    // and it has its full share of retries again
    retried.send({ type: 'TASK_AGENT_FAILED', task: 'TSK-002', attempt: 4, error: 'flaky' })
    expect(h.events('spec.task_failed').at(-1)?.data).toMatchObject({ attempt: 4, will_retry: true })
    h.runnerOf({ task: 'TSK-002' }).send({ type: 'TASK_AGENT_FAILED', task: 'TSK-002', attempt: 5, error: 'flaky' })
    expect(h.events('spec.task_failed').at(-1)?.data).toMatchObject({ attempt: 5, will_retry: true })
    expect(h.runnerOf({ task: 'TSK-002' }).input.attempt).toBe(6)

    h.submitTask('TSK-002', ACCEPT)
    expect(h.liveTasks()).toEqual(['TSK-004'])
    h.submitTask('TSK-004', ACCEPT)
    s = await waitFor(actor, (x) => x.status === 'done')
    expect(s.value).toBe('completed')
    expect(h.events('spec.execution_completed')).toHaveLength(1)
  })

  it('RETRY without a task retries every failed task', async () => {
    const h = harness()
    const actor = await h.toExecute()
    for (let attempt = 1; attempt <= 3; attempt++) {
      h.runnerOf({ task: 'TSK-001' }).send({ type: 'TASK_AGENT_FAILED', task: 'TSK-001', attempt, error: 'no' })
    }
    const s = actor.getSnapshot()
    expect(s.value).toBe('failed')
    expect(Object.values(s.context.tasks).map((t) => t.status)).toEqual(['failed', 'blocked', 'blocked', 'blocked'])
    expect(h.events('spec.task_blocked').map((l) => l.data.task_id)).toEqual(['TSK-002', 'TSK-003', 'TSK-004'])

    actor.send({ type: 'RETRY', by: 'user_1' })
    expect(actor.getSnapshot().value).toEqual({ active: { execute: 'running' } })
    expect(h.liveTasks()).toEqual(['TSK-001'])
    expect(Object.values(actor.getSnapshot().context.tasks).map((t) => t.status)).toEqual(['running', 'pending', 'pending', 'pending'])
    for (const task of ['TSK-001', 'TSK-002', 'TSK-003', 'TSK-004']) h.submitTask(task, ACCEPT)
    expect((await waitFor(actor, (x) => x.status === 'done')).value).toBe('completed')
  })
})
