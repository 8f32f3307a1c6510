import { describe, expect, it } from 'vitest'
import { isTransientDbError } from '../../src/db/transient.ts'
import { sandboxWanted } from '../../src/actors/reconcile.ts'
import { classifyWriteError, writeUntilStored } from '../../src/actors/write-retry.ts'
import type { SpecContext } from '../../src/actors/machine-types.ts'

const pgError = (code: string) => Object.assign(new Error(code), { code })

describe('transient database errors', () => {
  it.each(['57P01', '57P03', '53300', '40001', '08006', 'ECONNREFUSED', 'ECONNRESET', 'CONNECTION_CLOSED'])('%s is a wait', (code) => {
    expect(isTransientDbError(pgError(code))).toBe(true)
    expect(classifyWriteError(pgError(code))).toBe('retry')
  })

  it.each(['23505', '22P05', '54001', 'CONNECTION_ENDED'])('%s is permanent', (code) => {
    expect(isTransientDbError(pgError(code))).toBe(false)
    expect(classifyWriteError(pgError(code))).toBe('stop')
  })

  it('a write is retried through an outage until it lands, and given up at once when refused', async () => {
    let calls = 0
    const flaky = async () => {
      if (++calls < 3) throw pgError('57P01')
      return 'stored'
    }
    expect(await writeUntilStored({ spec_id: 's' }, flaky, new AbortController().signal)).toEqual({ stored: true, value: 'stored' })
    expect(calls).toBe(3)
    const refused = pgError('23514')
    expect(await writeUntilStored({ spec_id: 's' }, () => Promise.reject(refused), new AbortController().signal)).toEqual({ stored: false, error: refused })
  })
})

describe('which sandbox rows an actor still wants', () => {
  const ctx = {
    phases: { explore: { status: 'running', attempt: 2, generation: 1 }, requirements: { status: 'pending', attempt: 0, generation: 0 } },
    tasks: { 'TSK-001': { status: 'running', attempt: 1, generation: 0 }, 'TSK-002': { status: 'failed', attempt: 1, generation: 0 } },
  } as unknown as SpecContext
  it('keeps the sandbox of a running attempt and generation, and no other', () => {
    expect(sandboxWanted(ctx, { kind: 'phase', phase: 'explore', task_id: null, attempt: 2, generation: 1 })).toBe(true)
    expect(sandboxWanted(ctx, { kind: 'phase', phase: 'explore', task_id: null, attempt: 2, generation: 0 })).toBe(false)
    expect(sandboxWanted(ctx, { kind: 'phase', phase: 'requirements', task_id: null, attempt: 0, generation: 0 })).toBe(false)
    expect(sandboxWanted(ctx, { kind: 'task', phase: 'execute', task_id: 'TSK-001', attempt: 1, generation: 0 })).toBe(true)
    expect(sandboxWanted(ctx, { kind: 'task', phase: 'execute', task_id: 'TSK-002', attempt: 1, generation: 0 })).toBe(false)
  })
})
