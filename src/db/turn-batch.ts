/**
 * A read in flight longer than this no longer holds the next batch back: a query stuck on a dead connection must not
 * stall every later lookup (each HTTP request and handshake checks its session through one of these).
 */
export const STALLED_READ_MS = 1_000

interface Caller<V> {
  resolve: (value: V | undefined) => void
  reject: (err: unknown) => void
}

/**
 * DataLoader-style batching: the keys asked for during one turn of the event loop are read together, with one query,
 * on the next turn (setImmediate, so that requests handled in the same poll for I/O — a crowd's handshakes — share it).
 * One read is in flight at a time: keys asked for meanwhile wait for it to end (at most STALLED_READ_MS after it
 * started) and share the next one, so a crowd arriving faster than the database answers costs a query per round trip,
 * not one per poll. A key asked for twice in a batch is read once. Each batch is a fresh read, started after its keys
 * were asked for: nothing is cached.
 */
export class TurnBatch<K, V> {
  private waiting = new Map<K, Caller<V>[]>()
  /** Reads in flight, and when the newest one started (performance.now()). */
  private reading = 0
  private startedAt = 0
  /** The next batch's start, once scheduled: on the next turn, or when the read in flight counts as stalled. */
  private next: { cancel(): void } | null = null

  /**
   * `read` gets distinct keys (at most `maxKeys`; more are split into several reads) and answers what it found by key;
   * a key it did not find is answered `undefined`. A failed read (rejected or thrown) fails every caller of its batch.
   */
  constructor(
    private readonly read: (keys: K[]) => Promise<Map<K, V>>,
    private readonly maxKeys = 500,
  ) {}

  load(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const callers = this.waiting.get(key)
      if (callers) callers.push({ resolve, reject })
      else this.waiting.set(key, [{ resolve, reject }])
      this.schedule()
    })
  }

  private schedule(): void {
    if (this.next) return
    if (this.reading === 0) {
      const turn = setImmediate(() => this.run())
      this.next = { cancel: () => clearImmediate(turn) }
    } else {
      const stalled = setTimeout(() => this.run(), Math.max(0, this.startedAt + STALLED_READ_MS - performance.now()))
      this.next = { cancel: () => clearTimeout(stalled) }
    }
  }

  private run(): void {
    this.cancelNext()
    if (this.waiting.size === 0) return
    const batch = [...this.waiting]
    this.waiting.clear()
    this.startedAt = performance.now()
    for (let i = 0; i < batch.length; i += this.maxKeys) {
      const part = batch.slice(i, i + this.maxKeys)
      this.reading++
      new Promise<Map<K, V>>((resolve) => resolve(this.read(part.map(([key]) => key))))
        .then(
          (found) => {
            for (const [key, callers] of part) for (const c of callers) c.resolve(found.get(key))
          },
          (err: unknown) => {
            for (const [, callers] of part) for (const c of callers) c.reject(err)
          },
        )
        .finally(() => {
          this.reading--
          if (this.reading > 0 || this.waiting.size === 0) return
          this.cancelNext() // waiting for a stalled read's deadline: the next turn will do
          this.schedule()
        })
    }
  }

  private cancelNext(): void {
    this.next?.cancel()
    this.next = null
  }
}
