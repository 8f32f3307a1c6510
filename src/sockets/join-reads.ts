import type { Sql } from '../db/connect.ts'
import { eventsAfter } from '../db/events.ts'
import { findSpecForUsers, type SpecWithAccess } from '../db/specs.ts'
import type { SpecEvent } from '../schemas/events.ts'

interface Batch<I, O> {
  inputs: Set<I>
  result: Promise<O>
}

/**
 * Runs `read` once for the calls with the same key that arrive in the same turn of the event loop, or while the previous
 * read of that key is in flight: they share the next read, which starts on the turn after (so that a crowd's joins
 * handled in one poll for I/O share the first read too, not only the second). Every call is answered by a read that
 * STARTED after it, so a read is never older than its caller (a join holds live events before it reads,
 * src/sockets/specs.ts).
 */
class Coalesced<I, O> {
  private running = new Map<string, Promise<unknown>>()
  private next = new Map<string, Batch<I, O>>()

  constructor(private readonly read: (key: string, inputs: I[]) => Promise<O>) {}

  run(key: string, input: I): Promise<O> {
    let batch = this.next.get(key)
    if (!batch) {
      const inputs = new Set<I>()
      const before = (this.running.get(key) ?? Promise.resolve()).then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      const result = before.then(() => {
        this.next.delete(key) // from now on, callers wait for the read after this one
        return this.read(key, [...inputs])
      })
      const settled = result.catch(() => {}).finally(() => {
        if (this.running.get(key) === settled) this.running.delete(key)
      })
      this.running.set(key, settled)
      batch = { inputs, result }
      this.next.set(key, batch)
    }
    batch.inputs.add(input)
    return batch.result
  }
}

/**
 * What a join reads, shared by the joins of one spec that arrive together: when a crowd opens a spec, one access query
 * for all of them (instead of one per viewer) and one replay read per `after_seq`.
 */
export class JoinReads {
  private access: Coalesced<string, Map<string, SpecWithAccess>>
  private replays: Coalesced<null, SpecEvent[]>

  constructor(sql: Sql) {
    this.access = new Coalesced((specId, users) => findSpecForUsers(sql, specId, users))
    this.replays = new Coalesced((key) => {
      const [specId, afterSeq] = JSON.parse(key) as [string, number]
      return eventsAfter(sql, specId, afterSeq)
    })
  }

  /** The spec and the user's access to it; null when the user may not see it. */
  async specFor(specId: string, userId: string): Promise<SpecWithAccess | null> {
    return (await this.access.run(specId, userId)).get(userId) ?? null
  }

  /** Every event after `afterSeq`, oldest first (up to the replay limit of `eventsAfter`). */
  eventsAfter(specId: string, afterSeq: number): Promise<SpecEvent[]> {
    return this.replays.run(JSON.stringify([specId, afterSeq]), null)
  }
}
