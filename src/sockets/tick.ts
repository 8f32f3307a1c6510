/**
 * When one spec's waiting events are handed to its batch viewers: at most once per tick, but without waiting for a tick
 * that nothing has filled. Events reaching a quiet room (nothing handed over for a whole tick) are flushed on the next
 * turn of the event loop, so that what is published in the same turn (a group commit's callers) still goes out as one
 * frame; events arriving within a tick of the last flush wait for that tick's end, so a busy room still gets at most one
 * frame per tick. A worker posting a batch every 250 ms thus never waits for the timer.
 */
export class FlushTick {
  private timer: NodeJS.Timeout | null = null
  private immediate: NodeJS.Immediate | null = null
  /** performance.now() of the last flush that handed events over. */
  private last = -Infinity

  /** `flush` hands over what waits and calls `flushed()` when it handed anything over; `tickMs` is the tick. */
  constructor(
    private readonly flush: () => void,
    private readonly tickMs: number,
  ) {}

  /** Events are waiting: a flush is scheduled, unless one already is. */
  request(): void {
    if (this.timer || this.immediate) return
    const wait = this.last + this.tickMs - performance.now()
    if (wait <= 0) this.immediate = setImmediate(this.run)
    else this.timer = setTimeout(this.run, wait)
  }

  /** Events were handed over now (by the scheduled flush or sooner): the next tick starts here. */
  flushed(): void {
    this.cancel()
    this.last = performance.now()
  }

  /** Nothing waits any more (or nobody is left to flush to). */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer)
    if (this.immediate) clearImmediate(this.immediate)
    this.timer = this.immediate = null
  }

  private run = (): void => {
    this.timer = this.immediate = null
    this.flush()
  }
}
