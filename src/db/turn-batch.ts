/**
 * A read in flight longer than this no longer holds the next batch back: a query stuck on a dead connection must not
 * stall every later lookup (each HTTP request and handshake checks its session through a TurnBatch, each join of a spec
 * waits for its shared read, src/sockets/join-reads.ts).
 */
export const STALLED_READ_MS = 1_000

/** A batched read that started: settles (never rejects) when it ended. */
export interface InFlight {
  settled: Promise<unknown>
  /** performance.now() at its start. */
  startedAt: number
}

/** `read` as a read in flight from now on. */
export function startFlight(read: Promise<unknown>): InFlight {
  return { settled: read.then(() => {}, () => {}), startedAt: performance.now() }
}

/**
 * When the next batched read may start: on the turn after `inFlight` settled (the next turn when nothing is in flight,
 * so that requests handled in the same poll for I/O still share it), or once it has run for STALLED_READ_MS.
 */
export function nextSlot(inFlight: InFlight | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!inFlight) return void setImmediate(resolve)
    const go = () => {
      clearTimeout(stalled)
      setImmediate(resolve)
    }
    const stalled = setTimeout(go, Math.max(0, inFlight.startedAt + STALLED_READ_MS - performance.now()))
    void inFlight.settled.then(go)
  })
}

interface Caller<V> {
  resolve: (value: V | undefined) => void
  reject: (err: unknown) => void
}

/**
 * DataLoader-style batching: the keys asked for together are read with one query. One read is in flight at a time:
 * keys asked for meanwhile wait for it (`nextSlot`) and share the next one, so a crowd arriving faster than the
 * database answers costs a query per round trip, not one per poll for I/O. A key asked for twice in a batch is read
 * once. Each batch is a fresh read, started after its keys were asked for: nothing is cached.
 */
export class TurnBatch<K, V> {
  private waiting = new Map<K, Caller<V>[]>()
  private scheduled = false
  /** The newest read (all its parts), until it settles. */
  private inFlight: InFlight | undefined

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
      if (this.scheduled) return
      this.scheduled = true
      void nextSlot(this.inFlight).then(() => this.run())
    })
  }

  private run(): void {
    this.scheduled = false
    const batch = [...this.waiting]
    this.waiting.clear()
    const parts: Promise<void>[] = []
    for (let i = 0; i < batch.length; i += this.maxKeys) {
      const part = batch.slice(i, i + this.maxKeys)
      parts.push(
        new Promise<Map<K, V>>((resolve) => resolve(this.read(part.map(([key]) => key)))).then(
          (found) => {
            for (const [key, callers] of part) for (const c of callers) c.resolve(found.get(key))
          },
          (err: unknown) => {
            for (const [, callers] of part) for (const c of callers) c.reject(err)
          },
        ),
      )
    }
    const flight = startFlight(Promise.all(parts))
    this.inFlight = flight
    void flight.settled.then(() => {
      if (this.inFlight === flight) this.inFlight = undefined
    })
  }
}
