import { describe, expect, it } from 'vitest'
import { PHASES, approvalPhase, buildSteps } from '../../src/web/lib/phases.ts'
import { SPEC_PHASES } from '../../src/schemas/phase-outputs.ts'
import type { PhaseRecord, Spec, SpecEvent } from '../../src/web/types.ts'

type SpecLike = Pick<Spec, 'status' | 'current_phase' | 'phases'>

const record = (phase: PhaseRecord['phase'], status: string, attempts: number, eval_score: number | null = null): PhaseRecord => ({
  phase,
  status,
  attempts,
  eval_score,
  started_at: '2025-01-01T00:00:00Z',
  ended_at: null,
})

let seq = 0
const ev = (type: string, data: Record<string, unknown>): SpecEvent => ({
  seq: ++seq,
  id: `e${seq}`,
  spec_id: 'spec_1',
  sandbox_id: null,
  type,
  data,
  source: 'system',
  created_at: '2025-01-01T00:00:00Z',
})

const states = (spec: SpecLike, events: SpecEvent[] = []) => Object.fromEntries(buildSteps(spec, events).map((s) => [s.phase, s.state]))

describe('buildSteps', () => {
  it('has one step per phase, in the contract order', () => {
    expect(PHASES).toEqual(SPEC_PHASES)
    expect(buildSteps({ status: 'draft', current_phase: 'explore', phases: [] }).map((s) => s.phase)).toEqual([...SPEC_PHASES])
  })

  it('marks earlier phases done, the current one running and later ones pending', () => {
    expect(states({ status: 'executing', current_phase: 'design', phases: [] })).toEqual({
      explore: 'done',
      requirements: 'done',
      design: 'current',
      tasks: 'pending',
      sync: 'pending',
      execute: 'pending',
      done: 'pending',
    })
  })

  it('shows why the current phase is stopped', () => {
    expect(states({ status: 'awaiting_approval', current_phase: 'requirements', phases: [] }).requirements).toBe('awaiting')
    expect(states({ status: 'paused', current_phase: 'tasks', phases: [] }).tasks).toBe('paused')
    expect(states({ status: 'failed', current_phase: 'design', phases: [] }).design).toBe('failed')
    expect(states({ status: 'cancelled', current_phase: 'explore', phases: [] }).explore).toBe('cancelled')
  })

  it('marks everything done once the spec completed', () => {
    const steps = buildSteps({ status: 'completed', current_phase: 'done', phases: [] })
    expect(steps.every((s) => s.state === 'done')).toBe(true)
    expect(steps.find((s) => s.current)?.phase).toBe('done')
  })

  it('takes attempts and evaluator scores from the phase records', () => {
    const steps = buildSteps({
      status: 'executing',
      current_phase: 'requirements',
      phases: [record('explore', 'completed', 2, 0.83), record('requirements', 'running', 1)],
    })
    expect(steps[0]).toMatchObject({ phase: 'explore', attempts: 2, evalScore: 0.83 })
    expect(steps[1]).toMatchObject({ phase: 'requirements', attempts: 1, evalScore: null, current: true })
  })

  it('falls back to the event log for attempts and scores', () => {
    const events = [
      ev('spec.phase_started', { phase: 'explore', attempt: 1 }),
      ev('spec.phase_started', { phase: 'explore', attempt: 2 }),
      ev('spec.phase_completed', { phase: 'explore', attempt: 2, eval_score: 0.9 }),
    ]
    const [explore] = buildSteps({ status: 'executing', current_phase: 'requirements', phases: [] }, events)
    expect(explore).toMatchObject({ attempts: 2, evalScore: 0.9 })
  })

  it('lists rejected attempts and failures under their phase', () => {
    const events = [
      ev('spec.phase_retry', { phase: 'design', attempt: 1, feedback: 'No API section.' }),
      ev('spec.phase_failed', { phase: 'design', error: 'Three submissions rejected.' }),
    ]
    const design = buildSteps({ status: 'failed', current_phase: 'design', phases: [] }, events).find((s) => s.phase === 'design')!
    expect(design.failures).toEqual(['Attempt 1 rejected: No API section.', 'Failed: Three submissions rejected.'])
  })
})

describe('approvalPhase', () => {
  it('is null unless the spec awaits approval', () => {
    expect(approvalPhase({ status: 'executing', current_phase: 'design', phases: [] })).toBeNull()
  })

  it('prefers the phase record marked as awaiting approval', () => {
    const spec: SpecLike = { status: 'awaiting_approval', current_phase: 'design', phases: [record('requirements', 'awaiting_approval', 1)] }
    expect(approvalPhase(spec)).toBe('requirements')
  })

  it('then the latest awaiting-approval event, then the current phase', () => {
    const spec: SpecLike = { status: 'awaiting_approval', current_phase: 'tasks', phases: [] }
    expect(approvalPhase(spec, [ev('spec.awaiting_approval', { phase: 'design' })])).toBe('design')
    expect(approvalPhase(spec, [])).toBe('tasks')
  })
})
