import { describe, expect, it } from 'vitest'
import { failureOf } from '../../src/web/lib/failures.ts'
import { namesFrom, sandboxLabels, stoppedAgentErrors } from '../../src/web/lib/labels.ts'
import { summarizeEvent } from '../../src/web/lib/format.ts'
import { availableControls } from '../../src/web/lib/controls.ts'
import { countVisible } from '../../src/web/lib/events.ts'
import type { SpecEvent } from '../../src/web/types.ts'

let seq = 0
function ev(type: string, data: Record<string, unknown> = {}, sandbox_id: string | null = null): SpecEvent {
  seq++
  return { seq, id: `e${seq}`, spec_id: 's', sandbox_id, type, data, source: type.startsWith('agent.') ? 'agent' : 'system', created_at: '2026-01-01T00:00:00.000Z' }
}

describe('failureOf: a failed phase, readable', () => {
  it('three rejections show as three submissions, each with its feedback and the rejected output', () => {
    seq = 0
    const events = [
      ev('spec.phase_started', { phase: 'requirements', attempt: 1, sandbox_id: 'sbx_1' }),
      ev('agent.tool_use', { tool: 'submit_requirements', input: { requirements: ['first'] } }, 'sbx_1'),
      ev('spec.phase_retry', { phase: 'requirements', attempt: 1, submission: 1, eval_score: 0.4, feedback: 'no criteria' }),
      ev('agent.tool_use', { tool: 'submit_requirements', input: { requirements: ['second'] } }, 'sbx_1'),
      ev('spec.phase_retry', { phase: 'requirements', attempt: 1, submission: 2, eval_score: 0.5, feedback: 'vague' }),
      ev('agent.tool_use', { tool: 'submit_requirements', input: { requirements: ['third'] } }, 'sbx_1'),
      ev('spec.phase_failed', { phase: 'requirements', attempt: 1, error: 'rejected 3 times; last feedback: still vague' }),
      ev('spec.execution_failed', { phase: 'requirements', error: 'rejected 3 times; last feedback: still vague' }),
    ]
    const f = failureOf('failed', events)!
    expect(f.phase).toBe('requirements')
    expect(f.reason).toBe('rejected 3 times; last feedback: still vague')
    expect(f.rejections.map((r) => [r.n, r.score, r.feedback, r.output])).toEqual([
      [1, 0.4, 'no criteria', { requirements: ['first'] }],
      [2, 0.5, 'vague', { requirements: ['second'] }],
      [3, null, 'still vague', { requirements: ['third'] }],
    ])
  })

  it('is null unless the spec failed, and forgets what came before a retry', () => {
    seq = 0
    const events = [ev('spec.phase_failed', { phase: 'design', error: 'old' }), ev('spec.retried', { phase: 'design' }), ev('spec.task_failed', { task_id: 'TSK-002', error: 'tests fail' })]
    expect(failureOf('executing', events)).toBeNull()
    expect(failureOf('failed', events)).toEqual({ phase: null, task: 'TSK-002', reason: 'tests fail', rejections: [] })
  })
})

describe('timeline labels and names', () => {
  it('labels each sandbox by its task or phase', () => {
    seq = 0
    const labels = sandboxLabels([ev('spec.task_started', { task_id: 'TSK-001', sandbox_id: 'a' }), ev('spec.phase_started', { phase: 'design', sandbox_id: 'b' })])
    expect([...labels]).toEqual([
      ['a', 'TSK-001'],
      ['b', 'design'],
    ])
  })

  it('an agent error after a pause is the echo of the stop, not an API key problem', () => {
    seq = 0
    const events = [ev('agent.error', { error: 'boom' }), ev('spec.paused', { by: 'usr_1' }), ev('agent.error', { error: 'the model API rejected the API key (401)' }), ev('spec.resumed'), ev('agent.error')]
    const stopped = stoppedAgentErrors(events)
    expect([...stopped]).toEqual([3])
    expect(summarizeEvent(events[2]!, { stopped: true })).not.toMatch(/API key/)
  })

  it('names people instead of showing their ids', () => {
    seq = 0
    const names = namesFrom([{ user_id: 'usr_ada', name: 'Ada' }], [ev('user.message', { by: 'usr_bob', by_name: 'Bob', text: 'hi' })])
    expect(summarizeEvent(ev('spec.approved', { phase: 'design', by: 'usr_ada' }), { names })).toBe('design approved by Ada')
    expect(summarizeEvent(ev('spec.paused', { by: 'usr_bob' }), { names })).toBe('Paused by Bob')
    expect(summarizeEvent(ev('spec.paused', { by: 'usr_unknown' }), { names })).toBe('Paused by someone')
  })

  it('says what the agent waits for', () => {
    expect(summarizeEvent(ev('agent.waiting', { reason: 'rate_limited', attempt: 2, retry_in_ms: 30_000 }))).toBe(
      'Waiting for the model: rate limited, retry in 30 s (attempt 2)',
    )
  })

  it('offers "Message the agent" only while an agent is at work', () => {
    expect(availableControls('executing', true)).toContain('message')
    expect(availableControls('awaiting_approval', true)).not.toContain('message')
  })

  it('counts timeline events without heartbeats', () => {
    seq = 0
    expect(countVisible([ev('agent.heartbeat'), ev('agent.started'), ev('agent.heartbeat')])).toBe(1)
  })
})
