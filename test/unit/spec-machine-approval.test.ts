import { describe, expect, it, vi } from 'vitest'
import { goodDesign, goodRequirements } from '../support/fixtures.ts'
import { ACCEPT, harness, reject } from './spec-machine-harness.test.ts'

const HOUR = 3_600_000

function manual() {
  const h = harness({ approval: 'manual' })
  const actor = h.start()
  actor.send({ type: 'LAUNCH', by: 'user_1' })
  return { h, actor }
}

describe('spec machine: manual approval', () => {
  it('explore never waits; requirements waits for approval with its output stored', () => {
    const { h, actor } = manual()
    h.submit('explore', ACCEPT)
    expect(actor.getSnapshot().value).toEqual({ active: { requirements: 'working' } })
    expect(h.events('spec.awaiting_approval')).toEqual([])

    h.submit('requirements', ACCEPT)
    const s = actor.getSnapshot()
    expect(s.value).toEqual({ active: { requirements: 'awaiting' } })
    expect(s.context.currentPhase).toBe('requirements')
    expect(s.context.phases.requirements).toMatchObject({ status: 'awaiting_approval', attempt: 1, eval_score: 0.9 })
    expect(s.context.outputs.requirements).toEqual(goodRequirements)
    expect(s.context.outputVersions.requirements).toBe(1)
    expect(h.eventTypes().slice(-2)).toEqual(['spec.phase_completed', 'spec.awaiting_approval'])
    expect(h.events('spec.awaiting_approval')[0]?.data).toEqual({ phase: 'requirements' })
    expect(h.live()).toEqual([]) // nothing runs while a person decides
  })

  it('APPROVE for the waiting phase moves on; for another phase, or while working, it is not accepted', () => {
    const { h, actor } = manual()
    expect(actor.getSnapshot().can({ type: 'APPROVE', phase: 'explore', by: 'user_1' })).toBe(false)
    h.submit('explore', ACCEPT)
    expect(actor.getSnapshot().can({ type: 'APPROVE', phase: 'requirements', by: 'user_1' })).toBe(false)
    h.submit('requirements', ACCEPT)

    for (const phase of ['explore', 'design', 'tasks', 'nonsense']) {
      expect(actor.getSnapshot().can({ type: 'APPROVE', phase, by: 'user_1' })).toBe(false)
      expect(actor.getSnapshot().can({ type: 'REVISE', phase, feedback: 'x', by: 'user_1' })).toBe(false)
    }
    actor.send({ type: 'APPROVE', phase: 'design', by: 'user_1' })
    expect(actor.getSnapshot().value).toEqual({ active: { requirements: 'awaiting' } })

    actor.send({ type: 'APPROVE', phase: 'requirements', by: 'user_2' })
    const s = actor.getSnapshot()
    expect(s.value).toEqual({ active: { design: 'working' } })
    expect(s.context.phases.requirements.status).toBe('completed')
    expect(h.events('spec.approved').map((l) => l.data)).toEqual([{ phase: 'requirements', by: 'user_2' }])
    expect(h.runnerOf({ phase: 'design' }).input.attempt).toBe(1)
  })

  it('REVISE runs the phase again as attempt 2 with the feedback for the agent', () => {
    const { h, actor } = manual()
    for (const phase of ['explore', 'requirements'] as const) h.submit(phase, ACCEPT)
    actor.send({ type: 'APPROVE', phase: 'requirements', by: 'user_1' })
    h.submit('design', reject('no risks'))
    h.submit('design', ACCEPT)
    expect(actor.getSnapshot().context.feedback.design).toEqual([])

    actor.send({ type: 'REVISE', phase: 'design', feedback: 'use a queue for reminders', by: 'user_2' })
    const s = actor.getSnapshot()
    expect(s.value).toEqual({ active: { design: 'working' } })
    expect(s.context.phases.design).toMatchObject({ status: 'running', attempt: 2, submissions: 0, submissionIds: [], eval_score: null })
    expect(s.context.feedback.design).toEqual(['Requested change: use a queue for reminders'])
    expect(h.events('spec.revision_requested').map((l) => l.data)).toEqual([
      { phase: 'design', by: 'user_2', feedback: 'use a queue for reminders' },
    ])
    expect(h.runnerOf({ phase: 'design' }).input).toMatchObject({ attempt: 2, generation: 0 })
    // an answer from the first attempt's sandbox comes too late to count
    actor.send({ type: 'SUBMISSION', phase: 'design', attempt: 1, resultId: 'late', verdict: ACCEPT, output: {} })
    expect(actor.getSnapshot().value).toEqual({ active: { design: 'working' } })

    h.submit('design', ACCEPT)
    expect(actor.getSnapshot().value).toEqual({ active: { design: 'awaiting' } })
    expect(actor.getSnapshot().context.outputVersions.design).toBe(2)
    expect(actor.getSnapshot().context.outputs.design).toEqual(goodDesign)
    actor.send({ type: 'APPROVE', phase: 'design', by: 'user_1' })
    h.submit('tasks', ACCEPT)
    expect(actor.getSnapshot().value).toEqual({ active: { tasks: 'awaiting' } })
    actor.send({ type: 'APPROVE', phase: 'tasks', by: 'user_1' })
    expect(actor.getSnapshot().value).toEqual({ active: 'sync' })
  })

  it('CANCEL while awaiting approval ends the spec', () => {
    const { h, actor } = manual()
    for (const phase of ['explore', 'requirements'] as const) h.submit(phase, ACCEPT)
    actor.send({ type: 'CANCEL', by: 'user_1' })
    expect(actor.getSnapshot().value).toBe('cancelled')
    expect(actor.getSnapshot().status).toBe('done')
    expect(h.events('spec.cancelled').map((l) => l.data)).toEqual([{ by: 'user_1' }])
    expect(actor.getSnapshot().can({ type: 'APPROVE', phase: 'requirements', by: 'user_1' })).toBe(false)
  })
})

describe('spec machine: pause, resume and budget', () => {
  it('pausing stops the runner; resuming returns to the same phase and attempt with the same runner input', () => {
    const h = harness()
    const actor = h.start()
    actor.send({ type: 'LAUNCH', by: 'user_1' })
    h.submit('explore', ACCEPT)
    const r = h.runnerOf({ phase: 'requirements' })
    r.send({ type: 'SANDBOX_STARTED', sandboxId: 'sbx_r', phase: 'requirements', attempt: 1, generation: 0 })
    r.send({ type: 'SANDBOX_LOST', reason: 'gone', phase: 'requirements', attempt: 1, generation: 0 })
    h.submit('requirements', reject())
    const before = actor.getSnapshot().context.phases.requirements

    actor.send({ type: 'PAUSE', by: 'user_1' })
    expect(actor.getSnapshot().value).toBe('paused')
    expect(h.live()).toEqual([])
    expect(h.events('spec.paused').map((l) => l.data)).toEqual([{ by: 'user_1' }])
    expect(actor.getSnapshot().can({ type: 'PAUSE', by: 'user_1' })).toBe(false)

    actor.send({ type: 'RESUME', by: 'user_2' })
    const s = actor.getSnapshot()
    expect(s.value).toEqual({ active: { requirements: 'working' } })
    expect(s.context.phases.requirements).toEqual({ ...before, deadline: expect.any(String) }) // the deadline: see below
    expect(h.events('spec.resumed').map((l) => l.data)).toEqual([{ by: 'user_2' }])
    const again = h.runnerOf({ phase: 'requirements' })
    expect(again).not.toBe(h.phaseRunners('requirements')[1])
    expect(again.input).toEqual({ ...h.phaseRunners('requirements')[1]!.input, deadline: s.context.phases.requirements.deadline })
    expect(again.input).toMatchObject({ attempt: 1, generation: 1 })

    // the runner re-attaches to the same sandbox: no second phase_started; submissions keep counting
    again.send({ type: 'SANDBOX_STARTED', sandboxId: 'sbx_r2', phase: 'requirements', attempt: 1, generation: 1 })
    again.send({ type: 'SANDBOX_STARTED', sandboxId: 'sbx_r2', phase: 'requirements', attempt: 1, generation: 1 })
    expect(h.events('spec.phase_started').map((l) => l.data.sandbox_id)).toEqual(['sbx_r', 'sbx_r2'])
    h.submit('requirements', reject())
    h.submit('requirements', reject())
    expect(actor.getSnapshot().value).toBe('failed')
  })

  it('pausing while awaiting approval and resuming waits for approval again, with the same attempt', () => {
    const h = harness({ approval: 'manual' })
    const actor = h.start()
    actor.send({ type: 'LAUNCH', by: 'user_1' })
    for (const phase of ['explore', 'requirements'] as const) h.submit(phase, ACCEPT)
    const before = actor.getSnapshot().context.phases.requirements

    actor.send({ type: 'PAUSE', by: 'user_1' })
    expect(actor.getSnapshot().can({ type: 'APPROVE', phase: 'requirements', by: 'user_1' })).toBe(false)
    actor.send({ type: 'RESUME', by: 'user_1' })
    const s = actor.getSnapshot()
    expect(s.value).toEqual({ active: { requirements: 'awaiting' } })
    expect(s.context.phases.requirements).toEqual(before)
    expect(s.context.phases.requirements.status).toBe('awaiting_approval')
    expect(h.live()).toEqual([])

    actor.send({ type: 'APPROVE', phase: 'requirements', by: 'user_1' })
    expect(actor.getSnapshot().value).toEqual({ active: { design: 'working' } })
    expect(actor.getSnapshot().context.phases.requirements.status).toBe('completed')
  })

  it('the time spent paused does not count against the deadline: a resumed attempt gets a full phase timeout', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const t0 = Date.parse('2025-01-01T10:00:00.000Z')
      vi.setSystemTime(t0)
      const h = harness()
      const actor = h.start()
      actor.send({ type: 'LAUNCH', by: 'user_1' })
      vi.setSystemTime(t0 + 10 * 60_000)
      actor.send({ type: 'BUDGET_EXCEEDED', cost_usd: 5.2, budget_usd: 5 })
      vi.setSystemTime(t0 + 24 * HOUR) // the owner raises the budget the next day
      actor.send({ type: 'RESUME', by: 'user_1' })
      const deadline = new Date(t0 + 25 * HOUR).toISOString()
      expect(actor.getSnapshot().context.phases.explore).toMatchObject({ attempt: 1, deadline })
      expect(h.runnerOf({ phase: 'explore' }).input).toMatchObject({ attempt: 1, generation: 0, deadline })
    } finally {
      vi.useRealTimers()
    }
  })

  it('CANCEL while paused ends the spec', () => {
    const h = harness()
    const actor = h.start()
    actor.send({ type: 'LAUNCH', by: 'user_1' })
    actor.send({ type: 'PAUSE', by: 'user_1' })
    actor.send({ type: 'CANCEL', by: 'user_1' })
    expect(actor.getSnapshot().value).toBe('cancelled')
    expect(h.eventTypes()).toEqual(['spec.execution_started', 'spec.paused', 'spec.cancelled'])
  })

  it('BUDGET_EXCEEDED pauses the spec and says why; RESUME carries on', () => {
    const h = harness()
    const actor = h.start()
    actor.send({ type: 'LAUNCH', by: 'user_1' })
    actor.send({ type: 'BUDGET_EXCEEDED', cost_usd: 5.2, budget_usd: 5 })
    expect(actor.getSnapshot().value).toBe('paused')
    expect(h.live()).toEqual([])
    expect(h.logs.slice(-2).map((l) => [l.event, l.data])).toEqual([
      ['spec.budget_exceeded', { cost_usd: 5.2, budget_usd: 5 }],
      ['spec.paused', { by: 'budget' }],
    ])
    actor.send({ type: 'RESUME', by: 'user_1' })
    expect(actor.getSnapshot().value).toEqual({ active: { explore: 'working' } })
    expect(h.runnerOf({ phase: 'explore' }).input.attempt).toBe(1)
  })
})
