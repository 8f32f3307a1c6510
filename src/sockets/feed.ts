import { logger } from '../log.ts'
import type { SpecEvent } from '../schemas/events.ts'
import type { PresentedSpec } from '../schemas/present.ts'
import { keepUp } from './backpressure.ts'
import { liveBatchRoom, liveRoom } from './rooms.ts'
import { FlushTick } from './tick.ts'
import type { SpecNamespace, SpecSocket } from './types.ts'

const log = logger('omoi:sockets')

/**
 * Sockets that joined with `batch: true` get what arrived within one tick as one `spec:events` frame: a worker POST of
 * 25 events is one frame per viewer, not 25 (the frame count is what bounds fan-out latency, bench/README.md). A room
 * that was quiet for a tick is flushed on the next turn instead (tick.ts).
 */
export const BATCH_TICK_MS = 16
/** A tick is cut short once this many events wait; a longer array (a gap read from the log) is sent in frames this long. */
export const BATCH_MAX_EVENTS = 200

/** Where one audience stands in one spec's event stream. */
interface Position {
  /** The highest seq this audience was sent or already had; null until a socket's join is answered. */
  seq: number | null
  /** Live events held back while the join is answered or a gap is read from the log. */
  held: SpecEvent[]
  reading: boolean
}

/** One socket on its own: while its join is answered, and until it has caught up with the live room. */
export interface SocketCursor extends Position {
  readonly socket: SpecSocket
  /** Joined with `batch: true`: sent `spec:events` arrays. */
  readonly batch: boolean
  /** The newest spec state published while the join was being answered. */
  heldState: PresentedSpec | null
}

/** The spec's viewers on this node that have caught up: each had exactly the events up to `seq`. */
interface LiveCursor extends Position {
  seq: number
  readonly members: Map<string, SpecSocket>
  readonly batch: boolean
  /**
   * Room `spec:<id>:live` (or `:live:batch`) on this node only: other nodes deliver what is relayed to them through
   * their own feed.
   */
  readonly room: ReturnType<SpecNamespace['to']>
}

/** A socket catching up, or the spec's live room. */
type Cursor = SocketCursor | LiveCursor

/** One spec's viewers on this node. */
interface Stream {
  joining: Map<string, SocketCursor>
  live: LiveCursor | null
  liveBatch: LiveCursor | null
  /** Events waiting for the tick (only while a socket of the spec asked for batches). */
  pending: SpecEvent[]
  tick: FlushTick
  /** `updated_at` of the newest spec state this node's viewers were sent or answered with ('' before any). */
  stateAt: string
}

export type ReadEvents = (specId: string, afterSeq: number) => Promise<SpecEvent[]>

/**
 * Delivers each spec's live events to its viewers on this node, every event exactly once and in seq order per socket.
 * A joining socket is registered (`hold`) before the replay is read, so nothing published meanwhile is lost; once the
 * join is answered (`open`) the held events after the replay are sent and the rest dropped. A gap (events relayed from
 * another node can arrive out of order) is filled from the log, which has every event before it is published.
 *
 * A socket whose join was answered moves into the spec's live room as soon as it is level with it; the room gets each
 * event as one broadcast of this node, which Socket.IO encodes once for all its sockets (`socket.emit` would encode it
 * again per viewer). Only a socket being answered, or still catching up with the room, is sent to on its own.
 *
 * While any of the spec's sockets asked for batches, live events wait for the tick (BATCH_TICK_MS, or only for the next
 * turn when the room was quiet: tick.ts) and are then handed to every audience at once, so that every cursor sees the
 * same arrays and the rooms stay level; a spec state flushes what waits first, so it never overtakes the events before
 * it.
 */
export class SpecFeed {
  private streams = new Map<string, Stream>()
  /** Catch-up reads in flight, shared by the audiences missing the same events. */
  private reads = new Map<string, Promise<SpecEvent[]>>()

  constructor(private readonly read: ReadEvents) {}

  /** Starts holding the spec's live events for this socket (replacing a previous join of it). */
  hold(socket: SpecSocket, specId: string, batch = false): SocketCursor {
    let stream = this.streams.get(specId)
    if (!stream) {
      const tick = new FlushTick(() => this.flush(specId), BATCH_TICK_MS)
      this.streams.set(specId, (stream = { joining: new Map(), live: null, liveBatch: null, pending: [], tick, stateAt: '' }))
    }
    this.leaveLive(stream, specId, socket.id)
    const cursor: SocketCursor = { socket, batch, seq: null, held: [], heldState: null, reading: false }
    stream.joining.set(socket.id, cursor)
    return cursor
  }

  /**
   * The join was answered with everything up to `seq` and `spec`: sends the state if a newer one came meanwhile, then
   * the held events after `seq`, and from now on every live one. A replay cut short by its limit goes on as live events.
   */
  open(cursor: SocketCursor, specId: string, seq: number, spec: PresentedSpec): void {
    if (!this.isCurrent(cursor, specId)) return
    const stream = this.streams.get(specId)!
    if (spec.updated_at > stream.stateAt) stream.stateAt = spec.updated_at
    cursor.seq = seq
    const state = cursor.heldState
    cursor.heldState = null
    if (state && state.updated_at >= spec.updated_at) cursor.socket.emit('spec:state', state)
    this.push(cursor, specId, cursor.held.splice(0))
    if (cursor.seq < spec.last_seq && !cursor.reading) void this.fillGap(cursor, specId, spec.last_seq)
    this.promote(specId)
  }

  release(socketId: string, specId: string): void {
    const stream = this.streams.get(specId)
    if (!stream) return
    stream.joining.delete(socketId)
    this.leaveLive(stream, specId, socketId)
    if (!stream.live && !stream.liveBatch && stream.joining.size === 0) {
      stream.tick.cancel()
      this.streams.delete(specId)
    }
  }

  /** A socket went away: forget all its cursors. */
  releaseSocket(socketId: string): void {
    for (const specId of [...this.streams.keys()]) this.release(socketId, specId)
  }

  /** Events just committed (in seq order from this node's bus; possibly reordered when relayed from another node). */
  events(specId: string, events: SpecEvent[]): void {
    const stream = this.streams.get(specId)
    if (!stream) return
    if (!hasBatch(stream)) return this.deliver(specId, [...stream.pending.splice(0), ...events])
    stream.pending.push(...events)
    if (stream.pending.length >= BATCH_MAX_EVENTS) this.flush(specId)
    else stream.tick.request()
  }

  state(specId: string, spec: PresentedSpec): void {
    this.flush(specId)
    const stream = this.streams.get(specId)
    if (!stream) return
    if (spec.updated_at > stream.stateAt) stream.stateAt = spec.updated_at
    for (const live of [stream.live, stream.liveBatch]) if (live && this.keptUp(live, specId)) live.room.emit('spec:state', spec)
    for (const cursor of stream.joining.values()) {
      if (cursor.seq === null) cursor.heldState = spec
      else if (keepUp(cursor.socket)) cursor.socket.emit('spec:state', spec)
    }
  }

  /** The specs watched on this node. */
  watched(): string[] {
    return [...this.streams.keys()]
  }

  /**
   * The spec as stored now (`last_seq`, `updated_at`): an audience behind `last_seq` reads the rest from the log, and
   * once every audience is level, a state newer than any sent here is sent (never before the events it follows). For
   * relays this node never got: the cluster adapter's NOTIFYs are lost while its LISTEN connection is re-established,
   * and a spec's last events would otherwise wait for a next event that may never come (src/sockets/index.ts reads
   * the watched specs every CATCH_UP_MS).
   */
  resync(specId: string, spec: PresentedSpec): void {
    const stream = this.streams.get(specId)
    // events waiting for the tick are on their way: the next read sees whether anything else is missing
    if (!stream || stream.pending.length > 0) return
    let level = true
    for (const cursor of audiences(stream)) {
      if (cursor.seq !== null && cursor.seq >= spec.last_seq) continue
      level = false
      if (cursor.seq !== null && !cursor.reading) void this.fillGap(cursor, specId, spec.last_seq)
    }
    if (level && spec.updated_at > stream.stateAt) this.state(specId, spec)
  }

  /** Hands what waited for the tick to every audience of the spec. */
  private flush(specId: string): void {
    const stream = this.streams.get(specId)
    if (!stream) return
    if (stream.pending.length === 0) return stream.tick.cancel()
    stream.tick.flushed()
    this.deliver(specId, stream.pending.splice(0))
  }

  private deliver(specId: string, events: SpecEvent[]): void {
    const stream = this.streams.get(specId)
    if (!stream || events.length === 0) return
    if (stream.live) this.push(stream.live, specId, events)
    if (stream.liveBatch) this.push(stream.liveBatch, specId, events)
    for (const cursor of stream.joining.values()) this.push(cursor, specId, events)
    this.promote(specId)
  }

  private isCurrent(cursor: Cursor, specId: string): boolean {
    const stream = this.streams.get(specId)
    if (isLive(cursor)) return stream?.live === cursor || stream?.liveBatch === cursor
    return stream?.joining.get(cursor.socket.id) === cursor && cursor.socket.connected
  }

  /**
   * Whether the audience may be sent to now. Checked once per batch of events, not per event: for the live room, every
   * member that does not keep up is hung up on (backpressure.ts) and leaves the room; the others are sent to.
   */
  private keptUp(cursor: Cursor, specId: string): boolean {
    if (!isLive(cursor)) return keepUp(cursor.socket)
    const stream = this.streams.get(specId)!
    for (const [id, socket] of cursor.members) if (!keepUp(socket)) this.leaveLive(stream, specId, id)
    return this.isCurrent(cursor, specId)
  }

  private push(cursor: Cursor, specId: string, events: SpecEvent[]): void {
    if (cursor.seq !== null && !cursor.reading && !this.keptUp(cursor, specId)) return
    const next: SpecEvent[] = []
    for (const event of events) {
      if (cursor.seq === null || cursor.reading) {
        cursor.held.push(event)
      } else if (event.seq > cursor.seq + 1) {
        cursor.held.push(event)
        void this.fillGap(cursor, specId)
      } else if (event.seq === cursor.seq + 1) {
        next.push(event)
        cursor.seq = event.seq
      }
    }
    if (next.length > 0) send(cursor, next)
  }

  /**
   * Moves the sockets that are level with the live room into it (the first one opens it). Joining a room is
   * synchronous with the in-memory and cluster adapters, so the next broadcast reaches it.
   */
  private promote(specId: string): void {
    const stream = this.streams.get(specId)
    if (!stream) return
    for (const cursor of stream.joining.values()) {
      if (cursor.seq === null || cursor.reading || !cursor.socket.connected) continue
      const key = cursor.batch ? 'liveBatch' : 'live'
      const name = cursor.batch ? liveBatchRoom(specId) : liveRoom(specId)
      const live = (stream[key] ??= {
        seq: cursor.seq,
        held: [],
        reading: false,
        members: new Map(),
        batch: cursor.batch,
        room: cursor.socket.nsp.local.to(name),
      })
      if (live.seq !== cursor.seq) continue
      stream.joining.delete(cursor.socket.id)
      live.members.set(cursor.socket.id, cursor.socket)
      void cursor.socket.join(name)
    }
  }

  /** Takes the socket out of its live room (closing the room when it was the last one). */
  private leaveLive(stream: Stream, specId: string, socketId: string): void {
    for (const key of ['live', 'liveBatch'] as const) {
      const live = stream[key]
      const socket = live?.members.get(socketId)
      if (!live || !socket) continue
      live.members.delete(socketId)
      void socket.leave(live.batch ? liveBatchRoom(specId) : liveRoom(specId))
      if (live.members.size === 0) stream[key] = null
    }
  }

  /** Reads what the audience misses from the log (up to `upTo` at least, a read at a time) and sends it in order. */
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
      // the log lacks what a live event says exists: let the clients rejoin rather than skip or loop
      log.error('a gap in the event stream could not be filled', { spec_id: specId, after_seq: from })
      for (const socket of isLive(cursor) ? [...cursor.members.values()] : [cursor.socket]) socket.disconnect(true)
      return
    }
    cursor.reading = false
    const next = [...missing, ...cursor.held.splice(0)].sort((a, b) => a.seq - b.seq)
    this.push(cursor, specId, next)
    const short = cursor.seq !== null && cursor.seq < upTo
    if (short && !cursor.reading && this.isCurrent(cursor, specId)) void this.fillGap(cursor, specId, upTo)
    this.promote(specId)
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

const isLive = (cursor: Cursor): cursor is LiveCursor => 'members' in cursor

const audiences = (stream: Stream): Cursor[] => [
  ...(stream.live ? [stream.live] : []),
  ...(stream.liveBatch ? [stream.liveBatch] : []),
  ...stream.joining.values(),
]

const hasBatch = (stream: Stream): boolean => stream.liveBatch !== null || [...stream.joining.values()].some((c) => c.batch)

/** Events in seq order to an audience: an array per frame (≤ BATCH_MAX_EVENTS) if it asked for batches, else one each. */
function send(cursor: Cursor, events: SpecEvent[]): void {
  const to = isLive(cursor) ? cursor.room : cursor.socket
  if (cursor.batch) {
    for (let i = 0; i < events.length; i += BATCH_MAX_EVENTS) to.emit('spec:events', events.slice(i, i + BATCH_MAX_EVENTS))
  } else {
    for (const event of events) to.emit('spec:event', event)
  }
}
