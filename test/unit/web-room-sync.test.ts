import { describe, expect, it } from 'vitest'
import { applyPresence, fresherSpec, refetchFor, unseen } from '../../src/web/lib/room-sync.ts'
import type { Spec, SpecEvent } from '../../src/web/types.ts'

function ev(seq: number, type: string): SpecEvent {
  return { seq, id: `id-${seq}`, spec_id: 'spec_1', sandbox_id: null, type, data: {}, source: 'system', created_at: '2026-01-01T00:00:00.000Z' }
}
const ada = { user_id: 'usr_a', name: 'Ada' }
const bob = { user_id: 'usr_b', name: 'Bob' }

describe('refetchFor: what missed events imply, the same for live and replayed ones', () => {
  it('an approval missed while offline reloads the artifacts (the design the room asks to approve)', () => {
    expect(refetchFor([ev(5, 'agent.heartbeat'), ev(6, 'spec.awaiting_approval')])).toEqual({ artifacts: true, tickets: false })
  })
  it('task completions missed while offline reload the tickets', () => {
    expect(refetchFor([ev(9, 'spec.task_completed'), ev(10, 'spec.execution_completed')])).toEqual({ artifacts: false, tickets: true })
  })
  it('agent chatter reloads nothing', () => {
    expect(refetchFor([ev(1, 'agent.message'), ev(2, 'agent.tool_use')])).toEqual({ artifacts: false, tickets: false })
  })
})

describe('unseen', () => {
  it('keeps only the events the log lacks, each once', () => {
    const got = unseen(new Set([1, 2]), [ev(2, 'a'), ev(3, 'b'), ev(3, 'b'), ev(4, 'c')])
    expect(got.map((e) => e.seq)).toEqual([3, 4])
  })
})

describe('applyPresence', () => {
  it('a full list replaces the viewers (unbatched joins, and the join answer)', () => {
    expect(applyPresence([ada], { spec_id: 's', viewers: [bob] })).toEqual([bob])
  })
  it('a batched delta adds who joined and removes who left', () => {
    expect(applyPresence([ada], { spec_id: 's', joined: [bob], left: [], count: 2 })).toEqual([ada, bob])
    expect(applyPresence([ada, bob], { spec_id: 's', joined: [], left: [ada], count: 1 })).toEqual([bob])
  })
  it('someone who left and came back within one tick stays listed once', () => {
    expect(applyPresence([ada, bob], { spec_id: 's', joined: [ada], left: [ada], count: 2 })).toEqual([ada, bob])
  })
})

describe('fresherSpec', () => {
  const spec = (last_seq: number, status: Spec['status'], updated_at = '2026-01-01T00:00:00.000Z') =>
    ({ id: 's', last_seq, status, updated_at }) as Spec
  it('an older join answer does not undo a newer broadcast state', () => {
    const live = spec(12, 'completed')
    expect(fresherSpec(live, spec(10, 'executing'))).toBe(live)
  })
  it('a newer copy wins', () => {
    const next = spec(13, 'completed')
    expect(fresherSpec(spec(12, 'executing'), next)).toBe(next)
  })
})
