/**
 * DataLoader-style batching: the keys asked for during one turn of the event loop are read together, with one query,
 * on the next turn (setImmediate, so that requests handled in the same poll for I/O — a crowd's handshakes — share it).
 * One read is in flight at a time: keys asked for meanwhile wait for it to end and share the next one, so a crowd
 * arriving faster than the database answers costs a query per round trip, not one per poll. A key asked for twice
 * in a batch is read once. Each batch is a fresh read, started after its keys were asked for: nothing is cached.
 */
export class TurnBatch<K, V> {
  private waiting = new Map<K, { resolve: (value: V | undefined) => void; reject: (err: unknown) => void }[]>()
  private reading = false

  /**
   * `read` gets distinct keys (at most `maxKeys`; more are split into several reads) and answers what it found by key;
   * a key it did not find is answered `undefined`. A failed read fails every caller of its batch.
   */
  constructor(
    private readonly read: (keys: K[]) => Promise<Map<K, V>>,
    private readonly maxKeys = 500,
  ) {}

  load(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0 && !this.reading) setImmediate(() => this.run())
      const callers = this.waiting.get(key)
      if (callers) callers.push({ resolve, reject })
      else this.waiting.set(key, [{ resolve, reject }])
    })
  }

  private run(): void {
    const batch = [...this.waiting]
    this.waiting.clear()
    this.reading = true
    const reads = []
    for (let i = 0; i < batch.length; i += this.maxKeys) {
      const part = batch.slice(i, i + this.maxKeys)
      reads.push(
        this.read(part.map(([key]) => key)).then(
          (found) => {
            for (const [key, callers] of part) for (const c of callers) c.resolve(found.get(key))
          },
          (err: unknown) => {
            for (const [, callers] of part) for (const c of callers) c.reject(err)
          },
        ),
      )
    }
    void Promise.all(reads).then(() => {
      this.reading = false
      if (this.waiting.size > 0) setImmediate(() => this.run())
    })
  }
}
