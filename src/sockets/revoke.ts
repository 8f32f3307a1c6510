import { logger } from '../log.ts'
import type { SpecFeed } from './feed.ts'
import type { PresenceBoard } from './presence.ts'
import { deltasRoom, liveBatchRoom, liveRoom, specRoom } from './rooms.ts'
import type { SpecNamespace, SpecSocket } from './types.ts'

const log = logger('omoi:sockets')

/** Sent to a socket that was made to leave a spec's room because its user lost access (not in ServerToClientEvents). */
export const ACCESS_REVOKED = 'spec:access_revoked'

/** One `spec:join` between its read of the joiner's access and its answer: `revoked` once that access was taken away. */
export interface JoinTicket {
  readonly specId: string
  readonly userId: string
  revoked: boolean
}

/**
 * This node's part of taking a member's access away (every node runs it: src/sockets/index.ts relays it). Two kinds of
 * socket of that user are affected:
 * - those in the spec's room: they leave it (and its live and deltas rooms), their feed cursor is dropped, so a socket
 *   still catching up is neither sent to nor promoted into the live room, and they are told `spec:access_revoked
 *   {spec_id}`;
 * - those whose join read the access before it was removed and has not answered yet: the join sees `ticket.revoked`
 *   and answers `not_found` instead of entering the room (src/sockets/specs.ts). Without that, a removal landing between
 *   the join's read and its entering the room left the socket in the room for good.
 * A later `spec:join` reads the access again and is refused.
 */
export class AccessRevocations {
  private joining = new Map<string, Set<JoinTicket>>()

  constructor(
    private readonly nsp: SpecNamespace,
    private readonly feed: SpecFeed,
    private readonly presence: PresenceBoard,
  ) {}

  /** A join is about to read `userId`'s access to `specId`; `end` the ticket once it has answered. */
  begin(specId: string, userId: string): JoinTicket {
    const ticket: JoinTicket = { specId, userId, revoked: false }
    const key = joinKey(specId, userId)
    const tickets = this.joining.get(key) ?? new Set()
    tickets.add(ticket)
    this.joining.set(key, tickets)
    return ticket
  }

  end(ticket: JoinTicket): void {
    const key = joinKey(ticket.specId, ticket.userId)
    const tickets = this.joining.get(key)
    tickets?.delete(ticket)
    if (tickets?.size === 0) this.joining.delete(key)
  }

  /** Takes `userId`'s sockets on this node out of the rooms of `specIds`, and marks their joins in progress revoked. */
  revoke(specIds: readonly string[], userId: string): void {
    for (const specId of specIds) {
      for (const ticket of this.joining.get(joinKey(specId, userId)) ?? []) ticket.revoked = true
      const ids = this.nsp.adapter.rooms.get(specRoom(specId)) ?? new Set<string>()
      const sockets = [...ids].map((id) => this.nsp.sockets.get(id)).filter((s): s is SpecSocket => s?.data.user?.id === userId)
      for (const socket of sockets) {
        this.leave(socket, specId)
        ;(socket as unknown as { emit(event: string, payload: unknown): void }).emit(ACCESS_REVOKED, { spec_id: specId })
        log.info('access revoked: socket left the spec room', { spec_id: specId, user_id: userId })
      }
      if (sockets.length > 0) this.presence.announce(specId)
    }
  }

  /**
   * The socket stops watching the spec (a revocation, a refused join, `spec:leave`): its feed cursor is dropped and it
   * leaves every room of the spec. The adapters used here take a socket out of a room synchronously.
   */
  leave(socket: SpecSocket, specId: string): void {
    this.feed.release(socket.id, specId)
    for (const room of [specRoom(specId), liveRoom(specId), liveBatchRoom(specId), deltasRoom(specId)]) void socket.leave(room)
  }
}

const joinKey = (specId: string, userId: string) => `${specId}\n${userId}`
