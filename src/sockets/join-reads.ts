import type { Sql } from '../db/connect.ts'
import { eventsAfter, REPLAY_LIMIT } from '../db/events.ts'
import { readSpecAccess, type SpecAccessRead, type SpecAccess } from '../db/specs.ts'
import { nextSlot, startFlight, type InFlight } from '../db/turn-batch.ts'
import type { SpecEvent } from '../schemas/events.ts'
import { presentSpec, type PresentedSpec } from '../schemas/present.ts'

interface Batch<I, O> {
  inputs: Set<I>
  result: Promise<O>
}

/**
 * Runs `read` once for the calls with the same key that arrive in the same turn of the event loop, or while the previous
 * read of that key is in flight (for at most STALLED_READ_MS): they share the next read, which starts on the turn
 * after (`nextSlot`, so that a crowd's joins handled in one poll for I/O share the first read too, not only the
 * second). Every call is answered by a read that STARTED after it, so a read is never older than its caller (a join
 * holds live events before it reads, src/sockets/specs.ts).
 */
class Coalesced<I, O> {
  private running = new Map<string, InFlight>()
  private next = new Map<string, Batch<I, O>>()

  constructor(private readonly read: (key: string, inputs: I[]) => Promise<O>) {}

  run(key: string, input: I): Promise<O> {
    let batch = this.next.get(key)
    if (!batch) {
      const inputs = new Set<I>()
      const result = nextSlot(this.running.get(key)).then(() => {
        this.next.delete(key) // from now on, callers wait for the read after this one
        const read = this.read(key, [...inputs])
        const flight = startFlight(read)
        this.running.set(key, flight)
        void flight.settled.then(() => {
          if (this.running.get(key) === flight) this.running.delete(key)
        })
        return read
      })
      batch = { inputs, result }
      this.next.set(key, batch)
    }
    batch.inputs.add(input)
    return batch.result
  }
}

/** One join's share of a read: who asks, and after which seq they want the log. */
interface Joiner {
  userId: string
  afterSeq: number
}

/**
 * What a join reads, shared by the joins of one spec that arrive together: when a crowd opens a spec, ONE statement for
 * all of them (the spec and each one's access, src/db/specs.ts `readSpecAccess`, on `keySql`), then, when the spec
 * has events after the smallest `after_seq`, one read of the log up to the spec's `last_seq` (on `sql`: the event log
 * grows too fast for a cached plan, src/db/connect.ts). A log read in a later snapshot than the spec's misses nothing
 * and repeats nothing: events up to `last_seq` were committed before the spec row was read, and whatever is committed
 * after the join's hold reaches the socket as a live event (src/sockets/specs.ts).
 */
export class JoinReads {
  private reads: Coalesced<Joiner, SharedRead>

  /** `keySql`: the client for reads by key (`Database.keySql`); `sql` the one for the log. */
  constructor(sql: Sql, keySql: Sql = sql) {
    this.reads = new Coalesced(async (specId, joiners) => {
      const afterSeq = Math.min(...joiners.map((j) => j.afterSeq))
      const read = await readSpecAccess(keySql, specId, [...new Set(joiners.map((j) => j.userId))])
      const replays = read.spec !== null && read.access.size > 0 && read.spec.last_seq > afterSeq
      const events = replays ? await eventsAfter(sql, specId, afterSeq, REPLAY_LIMIT, read.spec!.last_seq) : []
      return { ...read, events, afterSeq, shown: new Map() }
    })
  }

  /**
   * The spec as the user may see it (CONTRACT §4, with their access; null when they may not see it) and every event
   * after `afterSeq`, oldest first, up to the replay limit (a replay cut short goes on as live events,
   * src/sockets/feed.ts). The joins sharing a read share its objects: callers must not change them.
   */
  async join(specId: string, userId: string, afterSeq: number): Promise<{ spec: PresentedSpec | null; events: SpecEvent[] }> {
    const read = await this.reads.run(specId, { userId, afterSeq })
    const access = read.access.get(userId)
    if (!read.spec || !access) return { spec: null, events: [] }
    let shown = read.shown.get(access)
    if (!shown) read.shown.set(access, (shown = presentSpec(read.spec, access)))
    return { spec: shown, events: afterSeq === read.afterSeq ? read.events : read.events.filter((e) => e.seq > afterSeq) }
  }
}

/** A read shared by a crowd's joins: the spec is presented once per access level. */
interface SharedRead extends SpecAccessRead {
  /** The log after `afterSeq` up to the spec's `last_seq`, oldest first, at most REPLAY_LIMIT events. */
  events: SpecEvent[]
  afterSeq: number
  shown: Map<SpecAccess, PresentedSpec>
}
