import { describe, expect, it } from 'vitest'
import { eventLine, paint, progressLine, Timeline } from '../../src/cli/timeline.ts'

const ev = (seq: number, type = 'spec.phase_started') => ({ seq, type, data: { phase: 'explore', attempt: 1 } })

describe('Timeline', () => {
  it('shows the join answer before live events that arrived first, each once, in seq order', () => {
    const t = new Timeline()
    t.joining()
    expect(t.live(ev(4))).toEqual([])
    expect(t.joinAnswered([ev(1), ev(2), ev(3)]).map((e) => e.seq)).toEqual([1, 2, 3, 4])
    expect(t.live(ev(4))).toEqual([])
    expect(t.live(ev(5)).map((e) => e.seq)).toEqual([5])
  })

  it('after a reconnect replays only what was missed', () => {
    const t = new Timeline()
    t.joining()
    t.joinAnswered([ev(1), ev(2)])
    t.joining() // disconnected; rejoins with after_seq = t.lastSeq
    expect(t.lastSeq).toBe(2)
    expect(t.live(ev(5))).toEqual([])
    expect(t.joinAnswered([ev(3), ev(4), ev(5)]).map((e) => e.seq)).toEqual([3, 4, 5])
  })
})

describe('how a spec reads in a terminal', () => {
  const plain = paint(false)
  it('phase lines with scores, and nothing for heartbeats', () => {
    expect(eventLine({ seq: 7, type: 'spec.phase_retry', data: { phase: 'design', eval_score: 0.5, feedback: 'no risks' }, created_at: '2026-01-01T10:11:12.000Z' }, plain)).toBe(
      '10:11:12 #7  design rejected score 0.50: no risks',
    )
    expect(eventLine({ seq: 8, type: 'agent.heartbeat', data: {} }, plain)).toBeNull()
  })

  it('colours only when asked', () => {
    expect(eventLine(ev(1, 'spec.execution_completed'), paint(true))).toContain('\u001b[32m')
    expect(eventLine(ev(1, 'spec.execution_completed'), plain)).not.toContain('\u001b[')
  })

  it('the progress line', () => {
    const spec = {
      id: 'spec_1',
      status: 'executing',
      current_phase: 'design',
      phases: [
        { phase: 'explore', status: 'completed' },
        { phase: 'requirements', status: 'completed' },
        { phase: 'design', status: 'running' },
        { phase: 'tasks', status: 'pending' },
      ],
    }
    expect(progressLine(spec, plain)).toBe('explore ✓ → requirements ✓ → design ● → tasks  [executing]')
  })
})
