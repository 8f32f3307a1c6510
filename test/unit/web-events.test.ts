import { describe, expect, it } from 'vitest'
import {
  countNewerThan,
  eventTypes,
  filterEvents,
  groupEvents,
  hasGap,
  lastContiguousSeq,
  mergeEvents,
} from '../../src/web/lib/events.ts'
import type { SpecEvent } from '../../src/web/types.ts'

function ev(seq: number, type = 'spec.phase_started', data: Record<string, unknown> = {}): SpecEvent {
  return {
    seq,
    id: `id-${seq}`,
    spec_id: 'spec_1',
    sandbox_id: null,
    type,
    data,
    source: type.startsWith('agent.') ? 'agent' : type.startsWith('user.') ? 'user' : 'system',
    created_at: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString(),
  }
}
const seqs = (events: readonly SpecEvent[]) => events.map((e) => e.seq)

describe('mergeEvents', () => {
  it('appends new events after the ones it has', () => {
    expect(seqs(mergeEvents([ev(1), ev(2)], [ev(3), ev(4)]))).toEqual([1, 2, 3, 4])
  })

  it('keeps each seq once when a rejoin replays events it already has', () => {
    const merged = mergeEvents([ev(1), ev(2), ev(3)], [ev(2), ev(3), ev(4)])
    expect(seqs(merged)).toEqual([1, 2, 3, 4])
  })

  it('puts out-of-order arrivals in seq order', () => {
    expect(seqs(mergeEvents([ev(1), ev(4)], [ev(3), ev(2)]))).toEqual([1, 2, 3, 4])
  })

  it('returns the same array when nothing is new, so watchers are not woken', () => {
    const log = [ev(1), ev(2)]
    expect(mergeEvents(log, [ev(2), ev(1)])).toBe(log)
    expect(mergeEvents(log, [])).toBe(log)
  })

  it('keeps the first copy of a seq it has seen', () => {
    const merged = mergeEvents([ev(1, 'agent.message', { text: 'first' })], [ev(1, 'agent.message', { text: 'again' })])
    expect(merged[0]!.data.text).toBe('first')
  })
})

describe('lastContiguousSeq / hasGap', () => {
  it('is null for an empty log', () => {
    expect(lastContiguousSeq([])).toBeNull()
    expect(hasGap([])).toBe(false)
  })

  it('is the last seq of a log without holes', () => {
    expect(lastContiguousSeq([ev(1), ev(2), ev(3)])).toBe(3)
    expect(hasGap([ev(1), ev(2), ev(3)])).toBe(false)
  })

  it('stops before a hole, so a rejoin asks for what is missing', () => {
    const log = [ev(1), ev(2), ev(5), ev(6)]
    expect(lastContiguousSeq(log)).toBe(2)
    expect(hasGap(log)).toBe(true)
  })
})

describe('filterEvents', () => {
  const log = [ev(1, 'spec.phase_started'), ev(2, 'agent.heartbeat'), ev(3, 'agent.message', { text: 'hi' }), ev(4, 'user.message')]

  it('hides heartbeats unless asked for', () => {
    expect(seqs(filterEvents(log, { filter: 'all', showHeartbeats: false }))).toEqual([1, 3, 4])
    expect(seqs(filterEvents(log, { filter: 'all', showHeartbeats: true }))).toEqual([1, 2, 3, 4])
  })

  it('filters by source', () => {
    expect(seqs(filterEvents(log, { filter: 'source:agent', showHeartbeats: false }))).toEqual([3])
    expect(seqs(filterEvents(log, { filter: 'source:user', showHeartbeats: false }))).toEqual([4])
  })

  it('filters by exact type, heartbeats included when that is the type asked for', () => {
    expect(seqs(filterEvents(log, { filter: 'type:agent.heartbeat', showHeartbeats: false }))).toEqual([2])
  })

  it('lists the distinct types for the filter', () => {
    expect(eventTypes([...log, ev(5, 'agent.message')])).toEqual(['agent.heartbeat', 'agent.message', 'spec.phase_started', 'user.message'])
  })
})

describe('groupEvents', () => {
  it('shows the newest first', () => {
    const items = groupEvents([ev(1), ev(2, 'agent.message'), ev(3, 'spec.phase_completed')])
    expect(items.map((i) => (i.kind === 'event' ? i.event.seq : -1))).toEqual([3, 2, 1])
  })

  it('folds consecutive tool calls and results into one row', () => {
    const items = groupEvents([
      ev(1, 'agent.started'),
      ev(2, 'agent.tool_use', { tool: 'read_file' }),
      ev(3, 'agent.tool_result', { tool: 'read_file', ok: true }),
      ev(4, 'agent.tool_use', { tool: 'write_file' }),
      ev(5, 'agent.tool_result', { tool: 'write_file', ok: true }),
      ev(6, 'agent.message', { text: 'done' }),
      ev(7, 'agent.tool_use', { tool: 'run_command' }),
    ])
    expect(items.map((i) => i.kind)).toEqual(['event', 'event', 'tools', 'event'])
    const group = items[2]!
    expect(group.kind === 'tools' && seqs(group.events)).toEqual([2, 3, 4, 5])
    // a lone tool call stays an ordinary row
    expect(items[0]!.kind === 'event' && items[0]!.event.seq).toBe(7)
  })

  it('keeps a group row stable while its run grows', () => {
    const before = groupEvents([ev(1, 'agent.tool_use'), ev(2, 'agent.tool_result')])
    const after = groupEvents([ev(1, 'agent.tool_use'), ev(2, 'agent.tool_result'), ev(3, 'agent.tool_use')])
    expect(before[0]!.key).toBe(after[0]!.key)
  })
})

describe('countNewerThan', () => {
  it('counts events that arrived after what the user last saw', () => {
    const log = [ev(1), ev(2), ev(3), ev(4)]
    expect(countNewerThan(log, 2)).toBe(2)
    expect(countNewerThan(log, 4)).toBe(0)
    expect(countNewerThan(log, null)).toBe(0)
  })
})
