import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { waitFor } from 'xstate'
import { ACCEPT, harness, reject, roundTrip, type SpecActor } from './spec-machine-harness.test.ts'

/**
 * Restart = restore (DESIGN §3): the host stores the persisted snapshot as JSON and, on boot, restores it. The restored
 * actor must carry on where it was, and the runners XState restarts must get the same inputs as before.
 */

const T0 = new Date('2025-03-01T08:00:00.000Z')

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(T0)
})
afterEach(() => vi.useRealTimers())

type H = ReturnType<typeof harness>

/** Persists, stops the old actor (its runners stop) and restores a new one an hour later. */
function restart(h: H, actor: SpecActor): SpecActor {
  const persisted = actor.getPersistedSnapshot()
  const stored = roundTrip(actor)
  expect(stored).toEqual(persisted) // plain JSON: nothing lost on the way through the database
  actor.stop()
  expect(h.live()).toEqual([])
  vi.setSystemTime(new Date(T0.getTime() + 3_600_000))
  return h.start(stored)
}

describe('spec machine: restore', () => {
  it('mid-phase: same state, attempt, counts and deadline; the runner restarts with the same input', () => {
    const h = harness()
    const actor = h.start()
    actor.send({ type: 'LAUNCH', by: 'user_1' })
    h.submit('explore', ACCEPT)
    h.runnerOf({ phase: 'requirements' }).send({ type: 'SANDBOX_LOST', reason: 'gone', phase: 'requirements', attempt: 1, generation: 0 })
    h.runnerOf({ phase: 'requirements' }).send({ type: 'SANDBOX_STARTED', sandboxId: 'sbx_r1', phase: 'requirements', attempt: 1, generation: 1 })
    const firstId = h.submit('requirements', reject('thin'))
    const before = actor.getSnapshot()
    const inputBefore = h.runnerOf({ phase: 'requirements' }).input
    const logCount = h.logs.length

    const restored = restart(h, actor)
    const s = restored.getSnapshot()
    expect(s.value).toEqual({ active: { requirements: 'working' } })
    expect(s.context).toEqual(before.context)
    expect(s.context.phases.requirements).toMatchObject({ attempt: 1, generation: 1, submissions: 1, deadline: '2025-03-01T09:00:00.000Z' })
    expect(h.runnerOf({ phase: 'requirements' }).input).toEqual(inputBefore)
    expect(h.logs).toHaveLength(logCount) // restoring is not an event

    // the runner re-attaches to its sandbox: no new phase_started; the retried callback is still a duplicate
    h.runnerOf({ phase: 'requirements' }).send({ type: 'SANDBOX_STARTED', sandboxId: 'sbx_r1', phase: 'requirements', attempt: 1, generation: 1 })
    h.submit('requirements', reject('thin'), firstId)
    expect(h.logs).toHaveLength(logCount)
    h.submit('requirements', reject('thin'))
    h.submit('requirements', reject('thin'))
    expect(restored.getSnapshot().value).toBe('failed')
  })

  it('mid-execute: running tasks keep their attempts and deadlines, and their runners restart with the same inputs', async () => {
    const h = harness()
    const actor = await h.toExecute()
    h.submitTask('TSK-001', ACCEPT)
    h.runnerOf({ task: 'TSK-003' }).send({ type: 'SANDBOX_LOST', reason: 'gone', task: 'TSK-003', attempt: 1, generation: 0 })
    h.submitTask('TSK-002', reject())
    const before = actor.getSnapshot().context
    const inputs = h.live().map((r) => r.input)
    expect(inputs.map((i) => [i.kind === 'task' && i.task, i.generation])).toEqual([
      ['TSK-002', 0],
      ['TSK-003', 1],
    ])

    const restored = restart(h, actor)
    expect(restored.getSnapshot().value).toEqual({ active: { execute: 'running' } })
    expect(restored.getSnapshot().context).toEqual(before)
    expect(h.live().map((r) => r.input)).toEqual(inputs)

    h.submitTask('TSK-002', reject())
    h.submitTask('TSK-002', reject())
    expect(restored.getSnapshot().context.tasks['TSK-002']).toMatchObject({ status: 'running', attempt: 2 }) // 3 rejections in all
    for (const task of ['TSK-002', 'TSK-003', 'TSK-004']) h.submitTask(task, ACCEPT)
    expect((await waitFor(restored, (x) => x.status === 'done')).value).toBe('completed')
    expect(h.events('spec.execution_completed')).toHaveLength(1)
  })

  it('while awaiting approval: still waiting, nothing started, APPROVE goes on', () => {
    const h = harness({ approval: 'manual' })
    const actor = h.start()
    actor.send({ type: 'LAUNCH', by: 'user_1' })
    for (const phase of ['explore', 'requirements'] as const) h.submit(phase, ACCEPT)
    const restored = restart(h, actor)
    expect(restored.getSnapshot().value).toEqual({ active: { requirements: 'awaiting' } })
    expect(h.live()).toEqual([])
    restored.send({ type: 'APPROVE', phase: 'requirements', by: 'user_1' })
    expect(restored.getSnapshot().value).toEqual({ active: { design: 'working' } })
  })

  it('while paused: RESUME returns to the phase the spec was paused in', () => {
    const h = harness()
    const actor = h.start()
    actor.send({ type: 'LAUNCH', by: 'user_1' })
    h.submit('explore', ACCEPT)
    h.submit('requirements', ACCEPT)
    actor.send({ type: 'PAUSE', by: 'user_1' })
    const restored = restart(h, actor)
    expect(restored.getSnapshot().value).toBe('paused')
    expect(h.live()).toEqual([])
    restored.send({ type: 'RESUME', by: 'user_1' })
    expect(restored.getSnapshot().value).toEqual({ active: { design: 'working' } })
    // same attempt; the hour spent paused is not held against it
    expect(h.runnerOf({ phase: 'design' }).input).toMatchObject({ attempt: 1, generation: 0, deadline: '2025-03-01T10:00:00.000Z' })
  })

  it('while failed: RETRY starts the failed phase again', () => {
    const h = harness()
    const actor = h.start()
    actor.send({ type: 'LAUNCH', by: 'user_1' })
    h.runnerOf({ phase: 'explore' }).send({ type: 'AGENT_FAILED', phase: 'explore', attempt: 1, error: 'boom' })
    const restored = restart(h, actor)
    expect(restored.getSnapshot().value).toBe('failed')
    restored.send({ type: 'RETRY', by: 'user_1' })
    expect(restored.getSnapshot().value).toEqual({ active: { explore: 'working' } })
    expect(h.runnerOf({ phase: 'explore' }).input).toMatchObject({ attempt: 2, deadline: '2025-03-01T10:00:00.000Z' })
  })

  it('during SYNC: the writer runs again (it is idempotent) and execute starts', async () => {
    const h = harness()
    const actor = h.start()
    actor.send({ type: 'LAUNCH', by: 'user_1' })
    for (const phase of ['explore', 'requirements', 'design', 'tasks'] as const) h.submit(phase, ACCEPT)
    expect(actor.getSnapshot().value).toEqual({ active: 'sync' })
    const restored = restart(h, actor)
    await waitFor(restored, (s) => s.matches({ active: { execute: 'running' } }))
    expect(h.syncCalls).toHaveLength(2) // once before the restart, once after
    expect(h.liveTasks()).toEqual(['TSK-001'])
    expect(h.events('spec.tasks_queued')).toHaveLength(1)
  })
})
