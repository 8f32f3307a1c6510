import { logger } from '../log.ts'
import { deltasRoom, specRoom } from './rooms.ts'
import type { SpecNamespace, Viewer } from './types.ts'

const log = logger('omoi:sockets')

/**
 * At most one `spec:presence` per spec and socket in this interval (the presence tick). Announcing every join to the
 * whole room costs n²/2 messages when n viewers arrive (1,000 distinct people took 145 s to join); coalesced, a crowd
 * arriving costs a few per viewer.
 */
export const PRESENCE_INTERVAL_MS = 250
/**
 * A big room's tick is longer: one more PRESENCE_INTERVAL_MS per this many of the spec's sockets on the node (1 s at
 * 1,000), so that telling a room costs this node at most about 1,000 messages a second whatever its size.
 */
export const PRESENCE_SOCKETS_PER_TICK = 250

/**
 * A crowd is arriving (or leaving) when the spec's room changed twice within CROWD_GAP_MS. Its announcement then waits
 * until the room has been still for CROWD_GAP_MS, at most CROWD_WAIT_MS past its slot: a delta for m newcomers to n
 * sockets is n × m entries (~33 MB when 600 of 1,000 people are new), and sent in the middle of the crowd it takes
 * the time that answering the next joins needs. Joins are answered first; everyone is told once the crowd is in.
 */
export const CROWD_GAP_MS = 100
export const CROWD_WAIT_MS = 2_000

/** The presence tick of a room with `sockets` sockets on this node (ms). */
export const presenceInterval = (sockets: number): number => PRESENCE_INTERVAL_MS * Math.max(1, Math.ceil(sockets / PRESENCE_SOCKETS_PER_TICK))

/** One spec's announcements on this node: waiting for its slot, or reading the list, plus what was told last. */
interface Announcer {
  waiting: boolean
  running: boolean
  /** A change came while the list was being read: announce once more after this one. */
  again: boolean
  sentAt: number
  /** The last two changes of the room (Date.now()): a crowd while they are less than CROWD_GAP_MS apart. */
  changedAt: [number, number]
  /** When the announcement waiting for a crowd to pass was due (null: none is waiting). */
  dueAt: number | null
  /** The people this node's sockets were last told about, by user id: what the next delta is computed against. */
  told: Map<string, Viewer>
  /** `told` as a list, built once per announcement: every join with `batch: true` answers with it. */
  toldList: Viewer[]
}

/**
 * Who is watching a spec: the distinct users with a socket in its room, on every node (`fetchSockets` goes through the
 * adapter). Each node tells its own sockets (a change on another node is relayed to it), coalesced per spec and tick,
 * each with a fresh list, and only when the set of people changed (a second tab of someone listed changes nothing).
 * Sockets that joined with `batch: true` (room `spec:<id>:deltas`) are sent what changed; the others the whole list.
 */
export class PresenceBoard {
  private announcers = new Map<string, Announcer>()
  private timers = new Set<NodeJS.Timeout>()
  private closed = false
  private sweeper: NodeJS.Timeout | undefined

  /** `relay` tells the other nodes of a change on this one (clustered); they call `announce(specId, false)`. */
  constructor(
    private readonly nsp: SpecNamespace,
    private readonly relay?: (specId: string) => void,
  ) {}

  async viewers(specId: string): Promise<Viewer[]> {
    // a node that died a moment ago may time the cluster-wide read out: this node's own viewers are still an answer
    const sockets = await this.nsp
      .in(specRoom(specId))
      .fetchSockets()
      .catch((err: unknown) => {
        log.warn('presence read this node only', { spec_id: specId, err })
        return this.nsp.local.in(specRoom(specId)).fetchSockets()
      })
    const byUser = new Map<string, Viewer>()
    for (const s of sockets) {
      if (s.data.unlisted?.includes(specId)) continue
      byUser.set(s.data.user.id, { user_id: s.data.user.id, name: s.data.user.name })
    }
    return [...byUser.values()]
  }

  /**
   * The list to answer a join with `batch: true`: the people this node last told its sockets about, plus the joiner
   * when listed. Read in the same turn as the socket enters `spec:<id>:deltas` and is answered, so the next delta it
   * gets is computed against exactly this list (applied as a set, the joiner's own arrival changes nothing).
   */
  toldList(specId: string, joiner: Viewer | null): Viewer[] {
    const announcer = this.announcers.get(specId)
    const list = announcer?.toldList ?? []
    return joiner && !announcer?.told.has(joiner.user_id) ? [...list, joiner] : list
  }

  /** Someone joined or left the spec's room (on this node unless `local` is false): its sockets are told soon. */
  announce(specId: string, local = true): void {
    if (this.closed) return
    if (local) this.relay?.(specId)
    let announcer = this.announcers.get(specId)
    if (!announcer) {
      announcer = { waiting: false, running: false, again: false, sentAt: -Infinity, changedAt: [-Infinity, -Infinity], dueAt: null, told: new Map(), toldList: [] }
      this.announcers.set(specId, announcer)
    }
    announcer.changedAt = [announcer.changedAt[1], Date.now()]
    if (announcer.running) announcer.again = true
    else if (!announcer.waiting) this.schedule(specId, announcer)
  }

  /**
   * Clustered: re-reads every list this node has told its sockets about, every `intervalMs`, so the viewers of a node
   * that died (no leave was ever announced) drop out once the adapter stops counting that node.
   */
  sweep(intervalMs: number): void {
    const timer = setInterval(() => {
      for (const [specId, announcer] of this.announcers) if (announcer.told.size > 0) this.announce(specId, false)
    }, intervalMs)
    timer.unref()
    this.sweeper = timer
  }

  /** Stops announcing (the server is shutting down). */
  close(): void {
    clearInterval(this.sweeper)
    this.closed = true
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
  }

  private schedule(specId: string, announcer: Announcer): void {
    announcer.waiting = true
    this.after(Math.max(0, announcer.sentAt + presenceInterval(this.nsp.adapter.rooms.get(specRoom(specId))?.size ?? 0) - Date.now()), () =>
      this.due(specId, announcer),
    )
  }

  /** The announcement's slot came: sent now, unless a crowd is still arriving (CROWD_GAP_MS). */
  private due(specId: string, announcer: Announcer): void {
    const now = Date.now()
    const [before, last] = announcer.changedAt
    announcer.dueAt ??= now
    const crowdPasses = last + CROWD_GAP_MS - now
    if (last - before < CROWD_GAP_MS && crowdPasses > 0 && now - announcer.dueAt < CROWD_WAIT_MS) {
      return this.after(Math.min(crowdPasses, announcer.dueAt + CROWD_WAIT_MS - now), () => this.due(specId, announcer))
    }
    announcer.dueAt = null
    void this.send(specId, announcer)
  }

  private after(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      run()
    }, ms)
    this.timers.add(timer)
  }

  private async send(specId: string, announcer: Announcer): Promise<void> {
    announcer.waiting = false
    announcer.running = true
    announcer.sentAt = Date.now()
    try {
      const viewers = await this.viewers(specId)
      const now = new Map(viewers.map((v) => [v.user_id, v]))
      const joined = viewers.filter((v) => !announcer.told.has(v.user_id))
      const left = [...announcer.told.values()].filter((v) => !now.has(v.user_id))
      if ((joined.length > 0 || left.length > 0) && !this.closed) {
        announcer.told = now
        announcer.toldList = viewers
        announcer.sentAt = Date.now() // the interval is between messages, however long the list took to read
        // this node's sockets only: every node tells its own (relayed changes), against what it told them last
        const local = this.nsp.local
        local.to(specRoom(specId)).except(deltasRoom(specId)).emit('spec:presence', { spec_id: specId, viewers })
        local.to(deltasRoom(specId)).emit('spec:presence', { spec_id: specId, joined, left, count: now.size })
      }
    } catch (err) {
      log.warn('could not announce presence', { spec_id: specId, err })
    }
    announcer.running = false
    if (announcer.again && !this.closed) {
      announcer.again = false
      this.schedule(specId, announcer)
    } else if (announcer.told.size === 0) {
      this.announcers.delete(specId) // nobody left to tell
    }
  }
}
