import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { goodExploration } from '../support/fixtures.ts'
import { ACCEPT, harness, reject } from './spec-machine-harness.test.ts'

const T0 = new Date('2025-01-01T10:00:00.000Z')
const at = (ms: number) => new Date(T0.getTime() + ms).toISOString()

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(T0)
})
afterEach(() => vi.useRealTimers())

function launched() {
  const h = harness()
  const actor = h.start()
  actor.send({ type: 'LAUNCH', by: 'user_1' })
  return { h, actor }
}

describe('spec machine: launching and a phase attempt', () => {
  it('launch starts explore with a runner for attempt 1, generation 0 and a deadline one phase timeout away', () => {
    const { h, actor } = launched()
    const s = actor.getSnapshot()
    expect(s.value).toEqual({ active: { explore: 'working' } })
    expect(s.context.currentPhase).toBe('explore')
    expect(s.context.phases.explore).toMatchObject({ status: 'running', attempt: 1, submissions: 0, generation: 0, started_at: at(0), deadline: at(3_600_000) })
    expect(h.runners.map((r) => r.input)).toEqual([
      { kind: 'phase', phase: 'explore', specId: 'spec_x', attempt: 1, generation: 0, deadline: at(3_600_000), silenceMs: 60_000 },
    ])
    expect(h.events('spec.execution_started').map((l) => l.data)).toEqual([{ by: 'user_1' }])
  })

  it('tells spec.phase_started once per sandbox, and ignores a start from another attempt or generation', () => {
    const { h, actor } = launched()
    const r = h.runnerOf({ phase: 'explore' })
    r.send({ type: 'SANDBOX_STARTED', sandboxId: 'sbx_1', phase: 'explore', attempt: 1, generation: 0 })
    r.send({ type: 'SANDBOX_STARTED', sandboxId: 'sbx_1', phase: 'explore', attempt: 1, generation: 0 })
    r.send({ type: 'SANDBOX_STARTED', sandboxId: 'sbx_old', phase: 'explore', attempt: 0, generation: 0 })
    r.send({ type: 'SANDBOX_STARTED', sandboxId: 'sbx_next', phase: 'explore', attempt: 1, generation: 1 })
    r.send({ type: 'SANDBOX_STARTED', sandboxId: 'sbx_req', phase: 'requirements', attempt: 1, generation: 0 })
    const started = h.events('spec.phase_started')
    expect(started).toHaveLength(1)
    expect(started[0]).toMatchObject({ data: { phase: 'explore', attempt: 1, sandbox_id: 'sbx_1' }, sandboxId: 'sbx_1' })
    expect(actor.getSnapshot().context.phases.explore.sandboxId).toBe('sbx_1')
  })

  it('a rejected submission is a retry with the feedback; a duplicate result id and a stale attempt are not counted', () => {
    const { h, actor } = launched()
    const id = h.submit('explore', reject('no key files'))
    expect(actor.getSnapshot().context.phases.explore).toMatchObject({ status: 'running', submissions: 1, eval_score: 0.4 })
    expect(h.events('spec.phase_retry').map((l) => l.data)).toEqual([
      { phase: 'explore', attempt: 1, submission: 1, eval_score: 0.4, feedback: 'no key files' },
    ])
    expect(actor.getSnapshot().context.feedback.explore).toEqual(['Evaluator: no key files'])

    h.submit('explore', reject('no key files'), id) // the worker retried its callback
    actor.send({ type: 'SUBMISSION', phase: 'explore', attempt: 2, resultId: 'res_future', verdict: reject(), output: {} })
    actor.send({ type: 'SUBMISSION', phase: 'explore', attempt: 0, resultId: 'res_past', verdict: ACCEPT, output: {} })
    actor.send({ type: 'SUBMISSION', phase: 'requirements', attempt: 1, resultId: 'res_other', verdict: ACCEPT, output: {} })
    expect(actor.getSnapshot().value).toEqual({ active: { explore: 'working' } })
    expect(actor.getSnapshot().context.phases.explore.submissions).toBe(1)
    expect(h.events('spec.phase_retry')).toHaveLength(1)

    h.submit('explore', reject('still no key files'))
    expect(actor.getSnapshot().context.phases.explore.submissions).toBe(2)
    expect(h.events('spec.phase_retry').map((l) => l.data.feedback)).toEqual(['no key files', 'still no key files'])
    expect(h.live()).toHaveLength(1) // the same sandbox keeps going: the feedback goes back as the tool result
  })

  it('the third rejection fails the phase and the spec, and stops its runner', () => {
    const { h, actor } = launched()
    for (const f of ['one', 'two', 'three']) h.submit('explore', reject(f))
    const s = actor.getSnapshot()
    expect(s.value).toBe('failed')
    expect(s.context.phases.explore).toMatchObject({ status: 'failed', submissions: 3, ended_at: at(0) })
    expect(s.context.failure).toEqual({ phase: 'explore', error: expect.stringContaining('three') })
    expect(h.events('spec.phase_failed').map((l) => l.data)).toEqual([{ phase: 'explore', attempt: 1, error: s.context.failure!.error }])
    // the last rejection is a failure, not a retry
    expect(h.events('spec.phase_retry')).toHaveLength(2)
    expect(h.events('spec.execution_failed').map((l) => l.data)).toEqual([{ phase: 'explore', error: s.context.failure!.error }])
    expect(h.live()).toEqual([])
  })

  it('an accepted submission in auto mode stores the output and moves on to the next phase', () => {
    const { h, actor } = launched()
    h.submit('explore', reject('thin'))
    vi.setSystemTime(new Date(T0.getTime() + 42_000))
    h.submit('explore', ACCEPT)
    const s = actor.getSnapshot()
    expect(s.value).toEqual({ active: { requirements: 'working' } })
    expect(s.context.currentPhase).toBe('requirements')
    expect(s.context.outputs.explore).toEqual(goodExploration)
    expect(s.context.outputVersions).toEqual({ explore: 1 })
    expect(s.context.feedback.explore).toEqual([])
    expect(s.context.phases.explore).toMatchObject({ status: 'completed', attempt: 1, submissions: 2, eval_score: 0.9, ended_at: at(42_000) })
    expect(h.events('spec.phase_completed').map((l) => l.data)).toEqual([{ phase: 'explore', attempt: 1, eval_score: 0.9, duration_ms: 42_000 }])
    expect(h.phaseRunners('explore').every((r) => r.stopped)).toBe(true)
    expect(h.runnerOf({ phase: 'requirements' }).input).toMatchObject({ attempt: 1, generation: 0, deadline: at(42_000 + 3_600_000) })
    expect(s.context.phases.requirements).toMatchObject({ status: 'running', attempt: 1, started_at: at(42_000) })
  })

  it('runs the four agent phases in order in auto mode, each with one runner', () => {
    const h = harness()
    const actor = h.start()
    actor.send({ type: 'LAUNCH', by: 'user_1' })
    for (const phase of ['explore', 'requirements', 'design'] as const) h.submit(phase, ACCEPT)
    expect(actor.getSnapshot().value).toEqual({ active: { tasks: 'working' } })
    expect(h.runners.map((r) => (r.input.kind === 'phase' ? r.input.phase : r.input.task))).toEqual(['explore', 'requirements', 'design', 'tasks'])
    expect(h.events('spec.awaiting_approval')).toEqual([])
    expect(actor.getSnapshot().context.outputVersions).toEqual({ explore: 1, requirements: 1, design: 1 })
  })
})

describe('spec machine: lost sandboxes, deadlines and errors', () => {
  it('replaces a lost sandbox twice with a new runner of the next generation, the third loss fails the phase', () => {
    const { h, actor } = launched()
    h.runnerOf({ phase: 'explore' }).send({ type: 'SANDBOX_STARTED', sandboxId: 'sbx_a', phase: 'explore', attempt: 1, generation: 0 })
    h.runnerOf({ phase: 'explore' }).send({ type: 'SANDBOX_LOST', reason: 'silent for 60 s', phase: 'explore', attempt: 1, generation: 0 })
    expect(actor.getSnapshot().value).toEqual({ active: { explore: 'working' } })
    expect(actor.getSnapshot().context.phases.explore).toMatchObject({ attempt: 1, generation: 1, sandboxId: null })
    expect(h.events('spec.sandbox_replaced')[0]).toMatchObject({
      data: { phase: 'explore', attempt: 1, generation: 1, reason: 'silent for 60 s' },
      sandboxId: 'sbx_a',
    })
    expect(h.phaseRunners('explore').map((r) => [r.input.generation, r.stopped])).toEqual([
      [0, true],
      [1, false],
    ])

    // a late loss report about the replaced generation changes nothing
    actor.send({ type: 'SANDBOX_LOST', reason: 'late', phase: 'explore', attempt: 1, generation: 0 })
    expect(actor.getSnapshot().context.phases.explore.generation).toBe(1)

    h.runnerOf({ phase: 'explore' }).send({ type: 'SANDBOX_LOST', reason: 'exited', phase: 'explore', attempt: 1, generation: 1 })
    expect(h.runnerOf({ phase: 'explore' }).input).toMatchObject({ attempt: 1, generation: 2 })
    expect(h.events('spec.sandbox_replaced').map((l) => l.data.generation)).toEqual([1, 2])

    h.runnerOf({ phase: 'explore' }).send({ type: 'SANDBOX_LOST', reason: 'exited again', phase: 'explore', attempt: 1, generation: 2 })
    expect(actor.getSnapshot().value).toBe('failed')
    expect(h.events('spec.phase_failed')[0]?.data.error).toMatch(/lost 3 times \(exited again\)/)
    expect(h.events('spec.execution_failed')).toHaveLength(1)
    expect(h.live()).toEqual([])
  })

  it.each([
    ['DEADLINE', { type: 'DEADLINE', phase: 'explore', attempt: 1, generation: 0 }, /deadline \(2025-01-01T11:00:00.000Z\)/],
    ['SANDBOX_ERROR', { type: 'SANDBOX_ERROR', error: 'image not found', phase: 'explore', attempt: 1, generation: 0 }, /could not start: image not found/],
    ['AGENT_FAILED', { type: 'AGENT_FAILED', error: 'model refused', phase: 'explore', attempt: 1 }, /^model refused$/],
  ] as const)('%s fails the phase with the reason in the events', (_name, event, error) => {
    const { h, actor } = launched()
    h.runnerOf({ phase: 'explore' }).send(event)
    const s = actor.getSnapshot()
    expect(s.value).toBe('failed')
    expect(s.context.failure?.error).toMatch(error)
    expect(s.context.phases.explore.status).toBe('failed')
    expect(h.events('spec.phase_failed')[0]?.data).toMatchObject({ phase: 'explore', error: expect.stringMatching(error) })
    expect(h.events('spec.execution_failed')[0]?.data).toEqual({ phase: 'explore', error: s.context.failure!.error })
    expect(h.live()).toEqual([])
  })

  it('ignores problems reported about another attempt or generation', () => {
    const { h, actor } = launched()
    actor.send({ type: 'DEADLINE', phase: 'explore', attempt: 1, generation: 1 })
    actor.send({ type: 'SANDBOX_ERROR', error: 'x', phase: 'explore', attempt: 2, generation: 0 })
    actor.send({ type: 'AGENT_FAILED', error: 'x', phase: 'explore', attempt: 0 })
    actor.send({ type: 'AGENT_FAILED', error: 'x', phase: 'design', attempt: 1 })
    expect(actor.getSnapshot().value).toEqual({ active: { explore: 'working' } })
    expect(h.logs.map((l) => l.event)).toEqual(['spec.execution_started'])
  })
})

describe('spec machine: retry after a failure', () => {
  it('retries the failed phase as a new attempt with a new runner', () => {
    const { h, actor } = launched()
    h.submit('explore', ACCEPT)
    h.runnerOf({ phase: 'requirements' }).send({ type: 'AGENT_FAILED', error: 'boom', phase: 'requirements', attempt: 1 })
    expect(actor.getSnapshot().value).toBe('failed')
    vi.setSystemTime(new Date(T0.getTime() + 5_000))

    expect(actor.getSnapshot().can({ type: 'RETRY', by: 'user_1' })).toBe(true)
    actor.send({ type: 'RETRY', by: 'user_1' })
    const s = actor.getSnapshot()
    expect(s.value).toEqual({ active: { requirements: 'working' } })
    expect(s.context.failure).toBeNull()
    expect(s.context.phases.requirements).toMatchObject({ status: 'running', attempt: 2, submissions: 0, generation: 0, deadline: at(5_000 + 3_600_000) })
    expect(s.context.phases.explore.status).toBe('completed')
    expect(h.runnerOf({ phase: 'requirements' }).input).toMatchObject({ attempt: 2, generation: 0 })
    expect(h.events('spec.retried')[0]?.data).toMatchObject({ phase: 'requirements', by: 'user_1' })
    // the next agent is told why the last attempt failed
    expect(s.context.feedback.requirements).toEqual(['Previous attempt failed: boom'])

    // the retried attempt counts its submissions afresh
    h.submit('requirements', reject())
    expect(actor.getSnapshot().context.phases.requirements.submissions).toBe(1)
  })

  it('refuses a retry when nothing failed, and a task retry when a phase failed', () => {
    const { h, actor } = launched()
    expect(actor.getSnapshot().can({ type: 'RETRY', by: 'user_1' })).toBe(false)
    h.runnerOf({ phase: 'explore' }).send({ type: 'AGENT_FAILED', error: 'boom', phase: 'explore', attempt: 1 })
    expect(actor.getSnapshot().can({ type: 'RETRY', by: 'user_1', task: 'TSK-001' })).toBe(false)
    expect(actor.getSnapshot().can({ type: 'PAUSE', by: 'user_1' })).toBe(false)
    actor.send({ type: 'CANCEL', by: 'user_1' })
    expect(actor.getSnapshot().value).toBe('cancelled')
    expect(actor.getSnapshot().can({ type: 'RETRY', by: 'user_1' })).toBe(false)
  })
})
