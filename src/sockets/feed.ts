import { logger } from '../log.ts'
import type { SpecEvent } from '../schemas/events.ts'
import type { PresentedSpec } from '../schemas/present.ts'
import { keepUp } from './backpressure.ts'
import type { SpecSocket } from './types.ts'

const log = logger('omoi:sockets')

/** Where one socket stands in one spec's event stream. */
export interface Cursor {
  readonly socket: SpecSocket
  /** The highest seq this socket was sent or already had; null until its join is answered. */
  seq: number | null
  /** Live events held back while the join is answered or a gap is read from the log. */
  held: SpecEvent[]
  /** The newest spec state published while the join was being answered. */
  heldState: PresentedSpec | null
  reading: boolean
}

export type ReadEvents = (specId: string, afterSeq: number) => Promise<SpecEvent[]>

/**
 * Delivers each spec's live events to its viewers on this node, every event exactly once and in seq order per socket.
 * A joining socket is registered (`hold`) before the replay is read, so nothing published meanwhile is lost; once the
 * join is answered (`open`) the held events after the replay are sent and the rest dropped. A gap (events relayed from
 * another node can arrive out of order) is filled from the log, which has every event before it is published.
 */
export class SpecFeed {
  private cursors = new Map<string, Map<string, Cursor>>()
  /** Catch-up reads in flight, shared by the sockets missing the same events. */
  private reads = new Map<string, Promise<SpecEvent[]>>()

  constructor(private readonly read: ReadEvents) {}

  /** Starts holding the spec's live events for this socket (replacing a previous join of it). */
  hold(socket: SpecSocket, specId: string): Cursor {
    const cursor: Cursor = { socket, seq: null, held: [], heldState: null, reading: false }
    let viewers = this.cursors.get(specId)
    if (!viewers) this.cursors.set(specId, (viewers = new Map()))
    viewers.set(socket.id, cursor)
    return cursor
  }

  /**
   * The join was answered with everything up to `seq` and `spec`: sends the state if a newer one came meanwhile, then
   * the held events after `seq`, and from now on every live one. A replay cut short by its limit goes on as live events.
   */
  open(cursor: Cursor, specId: string, seq: number, spec: PresentedSpec): void {
    if (!this.isCurrent(cursor, specId)) return
    cursor.seq = seq
    const state = cursor.heldState
    cursor.heldState = null
    if (state && state.updated_at >= spec.updated_at) cursor.socket.emit('spec:state', state)
    this.push(cursor, specId, cursor.held.splice(0))
    if (cursor.seq < spec.last_seq && !cursor.reading) void this.fillGap(cursor, specId, spec.last_seq)
  }

  release(socketId: string, specId: string): void {
    const viewers = this.cursors.get(specId)
    viewers?.delete(socketId)
    if (viewers?.size === 0) this.cursors.delete(specId)
  }

  /** A socket went away: forget all its cursors. */
  releaseSocket(socketId: string): void {
    for (const specId of [...this.cursors.keys()]) this.release(socketId, specId)
  }

  /** Events just committed (in seq order from this node's bus; possibly reordered when relayed from another node). */
  events(specId: string, events: SpecEvent[]): void {
    for (const cursor of this.cursors.get(specId)?.values() ?? []) this.push(cursor, specId, events)
  }

  state(specId: string, spec: PresentedSpec): void {
    for (const cursor of this.cursors.get(specId)?.values() ?? []) {
      if (cursor.seq === null) cursor.heldState = spec
      else if (keepUp(cursor.socket)) cursor.socket.emit('spec:state', spec)
    }
  }

  private isCurrent(cursor: Cursor, specId: string): boolean {
    return this.cursors.get(specId)?.get(cursor.socket.id) === cursor && cursor.socket.connected
  }

  private push(cursor: Cursor, specId: string, events: SpecEvent[]): void {
    if (cursor.seq !== null && !cursor.reading && !keepUp(cursor.socket)) return
    for (const event of events) {
      if (cursor.seq === null || cursor.reading) {
        cursor.held.push(event)
      } else if (event.seq > cursor.seq + 1) {
        cursor.held.push(event)
        void this.fillGap(cursor, specId)
      } else if (event.seq === cursor.seq + 1) {
        cursor.socket.emit('spec:event', event)
        cursor.seq = event.seq
      }
    }
  }

  /** Reads what the socket misses from the log (up to `upTo` at least, a read at a time) and sends it in order. */
  private async fillGap(cursor: Cursor, specId: string, upTo = 0): Promise<void> {
    cursor.reading = true
    const from = cursor.seq!
    let missing: SpecEvent[]
    try {
      missing = await this.readShared(specId, from)
    } catch (err) {
      missing = []
      log.warn('could not read missed events', { spec_id: specId, err })
    }
    if (!this.isCurrent(cursor, specId)) return
    if (missing.length === 0) {
      // the log lacks what a live event says exists: let the client rejoin rather than skip or loop
      log.error('a gap in the event stream could not be filled', { spec_id: specId, after_seq: from })
      cursor.socket.disconnect(true)
      return
    }
    cursor.reading = false
    const next = [...missing, ...cursor.held.splice(0)].sort((a, b) => a.seq - b.seq)
    this.push(cursor, specId, next)
    const short = cursor.seq !== null && cursor.seq < upTo
    if (short && !cursor.reading && this.isCurrent(cursor, specId)) void this.fillGap(cursor, specId, upTo)
  }

  private readShared(specId: string, afterSeq: number): Promise<SpecEvent[]> {
    const key = `${specId}:${afterSeq}`
    let pending = this.reads.get(key)
    if (!pending) {
      pending = this.read(specId, afterSeq).finally(() => this.reads.delete(key))
      this.reads.set(key, pending)
    }
    return pending
  }
}
