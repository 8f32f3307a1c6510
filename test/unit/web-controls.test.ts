import { describe, expect, it } from 'vitest'
import { availableControls, canEditSpec } from '../../src/web/lib/controls.ts'

describe('availableControls', () => {
  it('offers approve and request-changes only while a phase awaits approval', () => {
    expect(availableControls('awaiting_approval', true)).toEqual(expect.arrayContaining(['approve', 'revise', 'cancel']))
    for (const status of ['executing', 'paused', 'failed', 'completed', 'cancelled', 'draft'] as const) {
      expect(availableControls(status, true)).not.toContain('approve')
      expect(availableControls(status, true)).not.toContain('revise')
    }
  })

  it('pauses a running spec and resumes a paused one', () => {
    expect(availableControls('executing', true)).toEqual(['pause', 'cancel', 'message'])
    expect(availableControls('paused', true)).toEqual(['resume', 'cancel'])
  })

  it('offers retry only for a failed spec, and nothing for finished ones', () => {
    expect(availableControls('failed', true)).toEqual(['retry'])
    expect(availableControls('completed', true)).toEqual([])
    expect(availableControls('cancelled', true)).toEqual([])
  })

  it('offers nothing to someone who may only watch', () => {
    expect(availableControls('executing', false)).toEqual([])
    expect(availableControls('awaiting_approval', false)).toEqual([])
  })
})

describe('canEditSpec', () => {
  const me = { id: 'u1' }

  it('trusts the server’s can_edit when present', () => {
    expect(canEditSpec({ user_id: 'u2', can_edit: true }, me)).toBe(true)
    expect(canEditSpec({ user_id: 'u1', can_edit: false }, me)).toBe(false)
  })

  it('falls back to ownership', () => {
    expect(canEditSpec({ user_id: 'u1' }, me)).toBe(true)
    expect(canEditSpec({ user_id: 'u2' }, me)).toBe(false)
    expect(canEditSpec({ user_id: 'u1' }, null)).toBe(false)
  })
})
