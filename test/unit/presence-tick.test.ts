import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { CROWD_GAP_MS, CROWD_WAIT_MS, PresenceBoard, PRESENCE_INTERVAL_MS, presenceInterval } from '../../src/sockets/presence.ts'
import { specRoom } from '../../src/sockets/rooms.ts'
import type { SpecNamespace } from '../../src/sockets/types.ts'

/** A namespace of `size` sockets of distinct people in one spec's room: what PresenceBoard reads and where it emits. */
function room(specId: string, size: number) {
  const sockets = Array.from({ length: size }, (_, i) => ({ id: `s${i}`, data: { user: { id: `usr_${i}`, name: `P${i}` }, unlisted: [] } }))
  const sent: number[] = []
  const emit = () => sent.push(Date.now())
  const nsp = {
    adapter: { rooms: new Map([[specRoom(specId), new Set(sockets.map((s) => s.id))]]) },
    in: () => ({ fetchSockets: async () => sockets }),
    local: { to: () => ({ emit: () => {}, except: () => ({ emit }) }) },
  } as unknown as SpecNamespace
  return { nsp, sockets, sent }
}

describe('the presence tick', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] }))
  afterEach(() => vi.useRealTimers())

  it('is PRESENCE_INTERVAL_MS up to 250 sockets, one more per 250 beyond', () => {
    expect([0, 1, 250, 251, 1000, 5000].map(presenceInterval)).toEqual([250, 250, 250, 500, 1000, 5000].map((ms) => (ms / 250) * PRESENCE_INTERVAL_MS))
  })

  it('spaces the announcements to a room of 1,000 sockets a second apart', async () => {
    const { nsp, sockets, sent } = room('spec_big', 1000)
    const board = new PresenceBoard(nsp)
    board.announce('spec_big')
    await vi.advanceTimersByTimeAsync(0)
    expect(sent).toHaveLength(1)
    sockets.pop() // someone leaves
    board.announce('spec_big')
    await vi.advanceTimersByTimeAsync(999)
    expect(sent).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(sent).toHaveLength(2)
    board.close()
  })

  /** Someone new joins every `everyMs` for `forMs` (each join announced, as the join handler does). */
  async function crowd(board: PresenceBoard, sockets: ReturnType<typeof room>['sockets'], everyMs: number, forMs: number) {
    for (let t = 0; t < forMs; t += everyMs) {
      await vi.advanceTimersByTimeAsync(everyMs)
      const i = sockets.length
      sockets.push({ id: `s${i}`, data: { user: { id: `usr_${i}`, name: `P${i}` }, unlisted: [] } })
      board.announce('spec_crowd')
    }
  }

  it('tells a crowd once it is in, not while it arrives', async () => {
    vi.setSystemTime(0)
    const { nsp, sockets, sent } = room('spec_crowd', 100)
    const board = new PresenceBoard(nsp)
    board.announce('spec_crowd') // one change on its own: told at once
    await vi.advanceTimersByTimeAsync(0)
    expect(sent).toEqual([0])
    await crowd(board, sockets, CROWD_GAP_MS / 2, 1_000) // the tick (250 ms) comes twice meanwhile
    expect(sent).toEqual([0])
    await vi.advanceTimersByTimeAsync(CROWD_GAP_MS)
    expect(sent).toEqual([0, 1_000 + CROWD_GAP_MS])
    board.close()
  })

  it('tells a crowd that never pauses CROWD_WAIT_MS after the tick at the latest', async () => {
    vi.setSystemTime(0)
    const { nsp, sockets, sent } = room('spec_crowd', 100)
    const board = new PresenceBoard(nsp)
    board.announce('spec_crowd')
    await vi.advanceTimersByTimeAsync(0)
    await crowd(board, sockets, CROWD_GAP_MS / 2, 3 * CROWD_WAIT_MS)
    // the room has 100 sockets: a slot comes a tick (250 ms) after the last message, and the crowd waits past it
    const slot = PRESENCE_INTERVAL_MS + CROWD_WAIT_MS
    expect(sent).toEqual([0, slot, 2 * slot])
    board.close()
  })
})
