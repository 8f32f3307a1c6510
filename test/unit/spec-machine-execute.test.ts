import { waitFor } from 'xstate'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { goodRequirements, goodTasks } from '../support/fixtures.ts'
import { ACCEPT, DIAMOND, harness, type HarnessOptions } from './spec-machine-harness.test.ts'

describe('spec machine: SYNC', () => {
  it('accepted tasks go through SYNC: the writer runs once, tasks are queued, execute starts', async () => {
    const h = harness()
    const actor = h.start()
    actor.send({ type: 'LAUNCH', by: 'user_1' })
    for (const phase of ['explore', 'requirements', 'design', 'tasks'] as const) h.submit(phase, ACCEPT)
    expect(actor.getSnapshot().value).toEqual({ active: 'sync' })
    expect(actor.getSnapshot().context.currentPhase).toBe('sync')
    await waitFor(actor, (s) => s.matches({ active: { execute: 'running' } }))

    const s = actor.getSnapshot()
    expect(h.syncCalls).toEqual([{ specId: 'spec_x', requirements: goodRequirements, tasks: goodTasks }])
    expect(h.events('spec.tasks_queued').map((l) => l.data)).toEqual([{ tickets: 2, tasks: 4 }])
    expect(s.context.currentPhase).toBe('execute')
    expect(s.context.phases.sync.status).toBe('completed')
    expect(s.context.phases.execute).toMatchObject({ status: 'running', attempt: 1 })
    expect(Object.keys(s.context.tasks)).toEqual(['TSK-001', 'TSK-002', 'TSK-003', 'TSK-004'])
    expect(s.context.tasks['TSK-004']).toMatchObject({ ticket: 'TKT-002', depends_on: ['TSK-002', 'TSK-003'], status: 'pending' })
    expect(h.liveTasks()).toEqual(['TSK-001'])
    expect(h.runnerOf({ task: 'TSK-001' }).input).toEqual({
      kind: 'task',
      task: 'TSK-001',
      specId: 'spec_x',
      attempt: 1,
      generation: 0,
      deadline: s.context.tasks['TSK-001']!.deadline,
      silenceMs: 60_000,
      baseBranch: 'omoi/x/spec',
      fixup: 0,
    })
  })

  it('a SYNC failure fails the spec; RETRY runs SYNC again', async () => {
    const opts: HarnessOptions = { sync: new Error('requirement REQ-003 is not covered') }
    const h = harness(opts)
    const actor = h.start()
    actor.send({ type: 'LAUNCH', by: 'user_1' })
    for (const phase of ['explore', 'requirements', 'design', 'tasks'] as const) h.submit(phase, ACCEPT)
    await waitFor(actor, (s) => s.value === 'failed')
    expect(actor.getSnapshot().context.failure).toEqual({ phase: 'sync', error: 'requirement REQ-003 is not covered' })
    expect(h.events('spec.phase_failed').map((l) => l.data)).toEqual([{ phase: 'sync', error: 'requirement REQ-003 is not covered' }])
    expect(h.events('spec.execution_failed').map((l) => l.data)).toEqual([{ phase: 'sync', error: 'requirement REQ-003 is not covered' }])

    opts.sync = DIAMOND
    actor.send({ type: 'RETRY', by: 'user_1' })
    await waitFor(actor, (s) => s.matches({ active: { execute: 'running' } }))
    expect(h.syncCalls).toHaveLength(2)
    expect(actor.getSnapshot().context.phases.sync).toMatchObject({ status: 'completed', attempt: 2 })
    expect(h.liveTasks()).toEqual(['TSK-001'])
  })

  it('pausing during SYNC drops its result; RESUME runs it again', async () => {
    const h = harness()
    const actor = h.start()
    actor.send({ type: 'LAUNCH', by: 'user_1' })
    for (const phase of ['explore', 'requirements', 'design', 'tasks'] as const) h.submit(phase, ACCEPT)
    actor.send({ type: 'PAUSE', by: 'user_1' })
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(actor.getSnapshot().value).toBe('paused')
    expect(h.events('spec.tasks_queued')).toEqual([])
    actor.send({ type: 'RESUME', by: 'user_1' })
    await waitFor(actor, (s) => s.matches({ active: { execute: 'running' } }))
    expect(h.syncCalls).toHaveLength(2)
    expect(h.events('spec.tasks_queued')).toHaveLength(1)
  })
})

describe('spec machine: executing the diamond', () => {
  it('starts 001, then 002 and 003 together, then 004, and completes when all are done', async () => {
    const h = harness()
    const actor = await h.toExecute()
    const order: string[][] = [h.liveTasks()]

    h.runnerOf({ task: 'TSK-001' }).send({ type: 'SANDBOX_STARTED', sandboxId: 'sbx_1', task: 'TSK-001', attempt: 1, generation: 0 })
    h.runnerOf({ task: 'TSK-001' }).send({ type: 'SANDBOX_STARTED', sandboxId: 'sbx_1', task: 'TSK-001', attempt: 1, generation: 0 })
    expect(h.events('spec.task_started').map((l) => [l.data, l.sandboxId])).toEqual([
      [{ task_id: 'TSK-001', sandbox_id: 'sbx_1', attempt: 1 }, 'sbx_1'],
    ])

    h.submitTask('TSK-001', ACCEPT)
    order.push(h.liveTasks())
    h.submitTask('TSK-002', ACCEPT)
    order.push(h.liveTasks())
    h.submitTask('TSK-003', ACCEPT, { summary: 'no branch reported' })
    order.push(h.liveTasks())
    expect(order).toEqual([['TSK-001'], ['TSK-002', 'TSK-003'], ['TSK-003'], ['TSK-004']])
    // each task starts from the spec branch, where its dependencies were merged; every accepted task was merged, in order
    expect(h.taskRunners().map((r) => r.input.baseBranch)).toEqual(['omoi/x/spec', 'omoi/x/spec', 'omoi/x/spec', 'omoi/x/spec'])
    expect(h.merges.map((m) => m.task)).toEqual(['TSK-001', 'TSK-002', 'TSK-003'])
    expect(actor.getSnapshot().value).toEqual({ active: { execute: 'running' } })

    h.submitTask('TSK-004', ACCEPT)
    const s = await waitFor(actor, (x) => x.status === 'done')
    expect(s.value).toBe('completed')
    expect(s.status).toBe('done')
    expect(s.context.currentPhase).toBe('done')
    expect(s.context.phases.execute.status).toBe('completed')
    expect(Object.values(s.context.tasks).map((t) => t.status)).toEqual(['completed', 'completed', 'completed', 'completed'])
    expect(h.events('spec.task_completed').map((l) => [l.data.task_id, l.data.branch])).toEqual([
      ['TSK-001', 'omoi/spec_x/TSK-001'],
      ['TSK-002', 'omoi/spec_x/TSK-002'],
      ['TSK-003', null],
      ['TSK-004', 'omoi/spec_x/TSK-004'],
    ])
    expect(h.events('spec.task_completed')[0]?.sandboxId).toBe('sbx_1')
    expect(h.events('spec.execution_completed').map((l) => l.data)).toEqual([{ tasks: 4 }])
    expect(h.eventTypes().at(-1)).toBe('spec.execution_completed')
    expect(h.live()).toEqual([])
    expect(h.taskRunners()).toHaveLength(4)
  })

  it('with concurrency 1 never runs two tasks at once and queues the ready ones', async () => {
    const h = harness({ concurrency: 1 })
    const actor = await h.toExecute()
    const seen: string[][] = []
    for (let i = 0; i < 4; i++) {
      expect(h.liveTasks()).toHaveLength(1)
      const [task] = h.liveTasks()
      seen.push([task!])
      if (task === 'TSK-002') expect(actor.getSnapshot().context.tasks['TSK-003']?.status).toBe('queued')
      h.submitTask(task!, ACCEPT)
    }
    expect(seen.flat()).toEqual(['TSK-001', 'TSK-002', 'TSK-003', 'TSK-004'])
    expect((await waitFor(actor, (x) => x.status === 'done')).value).toBe('completed')
  })

  it('quick mode goes straight to execute with its one task', async () => {
    const h = harness({ kind: 'quick' })
    const actor = h.start()
    actor.send({ type: 'LAUNCH', by: 'user_1', quickTasks: [{ key: 'TSK-001', ticket: 'TKT-001', title: 'Fix the typo' }] })
    const s = await waitFor(actor, (x) => x.matches({ active: { execute: 'running' } }))
    expect(s.value).toEqual({ active: { execute: 'running' } })
    expect(s.context.currentPhase).toBe('execute')
    expect(s.context.tasks['TSK-001']).toMatchObject({ title: 'Fix the typo', depends_on: [], status: 'running', attempt: 1 })
    expect(h.events('spec.execution_started').map((l) => l.data)).toEqual([{ by: 'user_1', mode: 'quick' }])
    expect(h.runners.map((r) => r.input.kind)).toEqual(['task'])
    expect(h.syncCalls).toEqual([])

    h.submitTask('TSK-001', ACCEPT)
    expect((await waitFor(actor, (x) => x.status === 'done')).value).toBe('completed')
    expect(actor.getSnapshot().context.currentPhase).toBe('done')
  })

  it('pausing stops every task runner; resuming restarts the running ones with fresh deadlines', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    onTestFinished(() => void vi.useRealTimers())
    const h = harness()
    const actor = await h.toExecute()
    h.submitTask('TSK-001', ACCEPT)
    const inputs = h.live().map((r) => r.input)
    actor.send({ type: 'PAUSE', by: 'user_1' })
    expect(actor.getSnapshot().value).toBe('paused')
    expect(h.live()).toEqual([])
    // a late event from a stopped runner does nothing while paused
    actor.send({ type: 'TASK_SUBMISSION', task: 'TSK-002', attempt: 1, resultId: 'late', verdict: ACCEPT, output: {} })
    expect(actor.getSnapshot().context.tasks['TSK-002']?.status).toBe('running')

    vi.setSystemTime(Date.now() + 2 * 3_600_000) // paused longer than a task may take
    actor.send({ type: 'RESUME', by: 'user_1' })
    expect(actor.getSnapshot().value).toEqual({ active: { execute: 'running' } })
    const deadline = new Date(Date.now() + 3_600_000).toISOString()
    expect(h.live().map((r) => r.input)).toEqual(inputs.map((i) => ({ ...i, deadline })))
    expect(actor.getSnapshot().context.tasks['TSK-002']?.attempt).toBe(1)
    h.submitTask('TSK-002', ACCEPT)
    h.submitTask('TSK-003', ACCEPT)
    h.submitTask('TSK-004', ACCEPT)
    expect((await waitFor(actor, (x) => x.status === 'done')).value).toBe('completed')
  })

  it('CANCEL during execute stops every task runner', async () => {
    const h = harness()
    const actor = await h.toExecute()
    h.submitTask('TSK-001', ACCEPT)
    actor.send({ type: 'CANCEL', by: 'user_1' })
    expect(actor.getSnapshot().value).toBe('cancelled')
    expect(h.live()).toEqual([])
    expect(h.events('spec.cancelled').map((l) => l.data)).toEqual([{ by: 'user_1' }])
  })
})
