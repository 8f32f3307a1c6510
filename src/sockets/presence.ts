import { logger } from '../log.ts'
import type { SpecNamespace, Viewer } from './types.ts'

const log = logger('omoi:sockets')

export const specRoom = (specId: string) => `spec:${specId}`
export const specOfRoom = (room: string): string | null => (room.startsWith('spec:') ? room.slice(5) : null)

/**
 * Who is watching a spec: the distinct users with a socket in its room, on every node (`fetchSockets` goes through the
 * adapter). Announcements of one spec are sent one after the other, each with a fresh list, so a slow list never
 * overwrites a newer one on this node.
 */
export class PresenceBoard {
  private chains = new Map<string, Promise<void>>()

  constructor(private readonly nsp: SpecNamespace) {}

  async viewers(specId: string): Promise<Viewer[]> {
    const sockets = await this.nsp.in(specRoom(specId)).fetchSockets()
    const byUser = new Map<string, Viewer>()
    for (const s of sockets) byUser.set(s.data.user.id, { user_id: s.data.user.id, name: s.data.user.name })
    return [...byUser.values()]
  }

  /** Sends `spec:presence` to the spec's room. */
  announce(specId: string): void {
    const next = (this.chains.get(specId) ?? Promise.resolve())
      .then(async () => {
        const viewers = await this.viewers(specId)
        this.nsp.to(specRoom(specId)).emit('spec:presence', { spec_id: specId, viewers })
      })
      .catch((err: unknown) => log.warn('could not announce presence', { spec_id: specId, err }))
    this.chains.set(specId, next)
    void next.then(() => {
      if (this.chains.get(specId) === next) this.chains.delete(specId)
    })
  }
}
