import { describe, expect, it } from 'vitest'
import { takesAgentEvents } from '../../src/actors/agent-events.ts'
import { initialContext, updatePhase } from '../../src/actors/phase-logic.ts'
import type { SpecContext } from '../../src/actors/machine-types.ts'

const settings = { silenceMs: 60_000, phaseTimeoutMs: 600_000, taskConcurrency: 2 }
const withExplore = (status: 'running' | 'completed'): SpecContext => {
  const ctx = initialContext({ specId: 'spec_1', approval: 'auto', kind: 'spec', settings })
  return { ...ctx, phases: updatePhase(ctx, 'explore', { status, sandboxId: 'sbx_1' }) }
}
const explore = (status: 'running' | 'ended') => ({ status, kind: 'phase' as const, phase: 'explore', task_id: null })

describe('which agent events a spec takes', () => {
  it('takes a running sandbox’s events while the spec executes', () => {
    expect(takesAgentEvents('executing', withExplore('running'), explore('running'))).toBe(true)
  })
  it('takes nothing more once the spec is paused or cancelled, even from a sandbox not yet ended', () => {
    for (const status of ['paused', 'cancelled'] as const) {
      expect(takesAgentEvents(status, withExplore('running'), explore('running'))).toBe(false)
      expect(takesAgentEvents(status, withExplore('completed'), explore('ended'))).toBe(false)
    }
  })
  it('takes an ended sandbox’s last words when its work concluded, not when its phase runs on without it', () => {
    expect(takesAgentEvents('executing', withExplore('completed'), explore('ended'))).toBe(true)
    // resumed or replaced: the phase runs again in another sandbox
    expect(takesAgentEvents('executing', withExplore('running'), explore('ended'))).toBe(false)
  })
})
