import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { FlushTick } from '../../src/sockets/tick.ts'

describe('FlushTick (when a batch room is flushed)', () => {
  let flushes: number
  let tick: FlushTick
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] })
    flushes = 0
    tick = new FlushTick(() => {
      flushes++
      tick.flushed()
    }, 16)
  })
  afterEach(() => vi.useRealTimers())

  it('flushes a quiet room on the next turn, once for every request of the same turn', () => {
    tick.request()
    tick.request()
    expect(flushes).toBe(0)
    vi.advanceTimersByTime(0)
    expect(flushes).toBe(1)
  })

  it('holds what arrives within a tick of the last flush until that tick ends', () => {
    tick.request()
    vi.advanceTimersByTime(0)
    vi.advanceTimersByTime(5)
    tick.request()
    tick.request()
    vi.advanceTimersByTime(10)
    expect(flushes).toBe(1)
    vi.advanceTimersByTime(1)
    expect(flushes).toBe(2)
    // a whole tick later the room is quiet again
    vi.advanceTimersByTime(16)
    tick.request()
    vi.advanceTimersByTime(0)
    expect(flushes).toBe(3)
  })

  it('starts the tick at a flush made sooner, and forgets a request that was cancelled', () => {
    tick.request()
    tick.flushed() // a full batch or a spec state flushed first
    tick.request()
    vi.advanceTimersByTime(15)
    expect(flushes).toBe(0)
    tick.cancel()
    vi.advanceTimersByTime(100)
    expect(flushes).toBe(0)
  })
})
