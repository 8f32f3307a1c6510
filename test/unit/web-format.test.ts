import { describe, expect, it } from 'vitest'
import { eventTone, formatCost, formatTokens, summarizeEvent } from '../../src/web/lib/format.ts'

describe('formatCost / formatTokens', () => {
  it('shows dollars with cents, and small amounts without rounding them to zero', () => {
    expect(formatCost(1.5)).toBe('$1.50')
    expect(formatCost(0.0042)).toBe('$0.0042')
    expect(formatCost(null)).toBe('$0.00')
  })

  it('shows tokens as one number or split by direction', () => {
    expect(formatTokens(12345)).toBe('12,345 tokens')
    expect(formatTokens({ input_tokens: 1000, output_tokens: 234 })).toBe('1,234 tokens (1,000 in · 234 out)')
    expect(formatTokens(null)).toBe('0 tokens')
  })
})

describe('summarizeEvent', () => {
  it('says what happened in a phase', () => {
    expect(summarizeEvent({ type: 'spec.phase_completed', data: { phase: 'design', eval_score: 0.8123, duration_ms: 65_000 } })).toBe(
      'Phase design accepted, score 0.81 in 1m 5s',
    )
    expect(summarizeEvent({ type: 'spec.phase_retry', data: { phase: 'design', attempt: 2, feedback: 'Missing risks.' } })).toBe(
      'Phase design attempt 2 rejected: Missing risks.',
    )
  })

  it('names who steered', () => {
    expect(summarizeEvent({ type: 'spec.paused', data: { by: { id: 'u1', name: 'Ada' } } })).toBe('Paused by Ada')
    expect(summarizeEvent({ type: 'spec.approved', data: { phase: 'tasks', by: 'u1' } })).toBe('tasks approved by u1')
  })

  it('shows tool calls and their results', () => {
    expect(summarizeEvent({ type: 'agent.tool_use', data: { tool: 'read_file', input: { path: 'src/a.ts' } } })).toBe('read_file {"path":"src/a.ts"}')
    expect(summarizeEvent({ type: 'agent.tool_result', data: { tool: 'run_command', ok: false, summary: 'exit 1' } })).toBe('run_command failed: exit 1')
  })

  it('counts queued tickets and tasks whether sent as numbers or lists', () => {
    expect(summarizeEvent({ type: 'spec.tasks_queued', data: { tickets: 2, tasks: ['a', 'b', 'c'] } })).toBe('Queued 2 tickets and 3 tasks')
  })

  it('previews events it does not know', () => {
    expect(summarizeEvent({ type: 'spec.something_new', data: { a: 1 } })).toBe('{"a":1}')
  })
})

describe('eventTone', () => {
  it('colours failures, waits and successes', () => {
    expect(eventTone({ type: 'spec.phase_failed', data: {} })).toBe('error')
    expect(eventTone({ type: 'agent.tool_result', data: { ok: false } })).toBe('error')
    expect(eventTone({ type: 'spec.awaiting_approval', data: {} })).toBe('warn')
    expect(eventTone({ type: 'spec.phase_completed', data: {} })).toBe('ok')
    expect(eventTone({ type: 'agent.heartbeat', data: {} })).toBe('muted')
  })
})
