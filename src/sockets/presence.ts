import { logger } from '../log.ts'
import { specRoom } from './rooms.ts'
import type { SpecNamespace, Viewer } from './types.ts'

const log = logger('omoi:sockets')

/**
 * At most one `spec:presence` per spec in this interval. Announcing every join to the whole room costs n²/2 messages
 * when n viewers arrive (1,000 distinct people took 145 s to join); coalesced, a crowd arriving costs a few.
 */
export const PRESENCE_INTERVAL_MS = 250

/** One spec's announcements: waiting for its slot, or reading the list, plus what was sent last. */
interface Announcer {
  waiting: boolean
  running: boolean
  /** A change came while the list was being read: announce once more after this one. */
  again: boolean
  sentAt: number
  /** The user ids last announced (sorted); a list with the same people is not sent again. */
  sent: string | null
}

/**
 * Who is watching a spec: the distinct users with a socket in its room, on every node (`fetchSockets` goes through the
 * adapter). Announcements are coalesced per spec and read one after the other, each with a fresh list, so a slow list
 * never overwrites a newer one on this node. A second tab of someone already listed changes nothing and is not announced.
 */
export class PresenceBoard {
  private announcers = new Map<string, Announcer>()
  private timers = new Set<NodeJS.Timeout>()
  private closed = false

  constructor(private readonly nsp: SpecNamespace) {}

  async viewers(specId: string): Promise<Viewer[]> {
    const sockets = await this.nsp.in(specRoom(specId)).fetchSockets()
    const byUser = new Map<string, Viewer>()
    for (const s of sockets) {
      if (s.data.unlisted?.includes(specId)) continue
      byUser.set(s.data.user.id, { user_id: s.data.user.id, name: s.data.user.name })
    }
    return [...byUser.values()]
  }

  /** Someone joined or left the spec's room: sends `spec:presence` to it soon, unless the people in it are the same. */
  announce(specId: string): void {
    if (this.closed) return
    let announcer = this.announcers.get(specId)
    if (!announcer) {
      announcer = { waiting: false, running: false, again: false, sentAt: -Infinity, sent: null }
      this.announcers.set(specId, announcer)
    }
    if (announcer.running) announcer.again = true
    else if (!announcer.waiting) this.schedule(specId, announcer)
  }

  /** Stops announcing (the server is shutting down). */
  close(): void {
    this.closed = true
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
  }

  private schedule(specId: string, announcer: Announcer): void {
    announcer.waiting = true
    const timer = setTimeout(
      () => {
        this.timers.delete(timer)
        void this.send(specId, announcer)
      },
      Math.max(0, announcer.sentAt + PRESENCE_INTERVAL_MS - Date.now()),
    )
    this.timers.add(timer)
  }

  private async send(specId: string, announcer: Announcer): Promise<void> {
    announcer.waiting = false
    announcer.running = true
    announcer.sentAt = Date.now()
    try {
      const viewers = await this.viewers(specId)
      const people = viewers.map((v) => v.user_id).sort().join()
      if (people !== announcer.sent && !this.closed) {
        announcer.sent = people
        this.nsp.to(specRoom(specId)).emit('spec:presence', { spec_id: specId, viewers })
      }
    } catch (err) {
      log.warn('could not announce presence', { spec_id: specId, err })
    }
    announcer.running = false
    if (announcer.again && !this.closed) {
      announcer.again = false
      this.schedule(specId, announcer)
    } else if (announcer.sent === '') {
      this.announcers.delete(specId) // nobody left to tell
    }
  }
}
