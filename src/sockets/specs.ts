import type { SpecCommands } from '../actors/commands.ts'
import type { AuthService } from '../auth/service.ts'
import { notFound } from '../errors.ts'
import { SpecCommandSchema, SpecJoinSchema, SpecLeaveSchema } from '../schemas/api.ts'
import { parseInput } from '../schemas/parse.ts'
import { request } from './ack.ts'
import type { SpecFeed } from './feed.ts'
import { authenticate } from './handshake.ts'
import type { JoinReads } from './join-reads.ts'
import type { PresenceBoard } from './presence.ts'
import type { AccessRevocations, JoinTicket } from './revoke.ts'
import { deltasRoom, specOfRoom, specRoom } from './rooms.ts'
import type { AnswerOf, ClientToServerEvents, SocketError, SpecNamespace, SpecSocket } from './types.ts'

export interface SpecsDeps {
  /** What a join reads (join-reads.ts). */
  reads: Pick<JoinReads, 'join'>
  auth: AuthService
  commands: SpecCommands
  feed: SpecFeed
  presence: PresenceBoard
  revocations: AccessRevocations
  allowedOrigins: string[]
}

type Events = ClientToServerEvents

/**
 * Namespace `/` (CONTRACT §6): watching specs (`spec:join` / `spec:leave`, presence) and steering them
 * (`spec:command`, through the same function as REST).
 */
export function registerSpecs(nsp: SpecNamespace, deps: SpecsDeps): void {
  const { commands, feed, presence, reads, revocations } = deps
  nsp.use(authenticate(deps.auth, { allowedOrigins: deps.allowedOrigins }))

  /**
   * Answers a `spec:join`. The ticket is checked after every wait: a member removed meanwhile (revoke.ts) is refused
   * before the answer, or, once it is answered, was taken out of the rooms by the revocation itself.
   */
  async function join(
    socket: SpecSocket,
    specId: string,
    afterSeq: number,
    listed: boolean | undefined,
    batch: boolean | undefined,
    ticket: JoinTicket,
    reply: (answer: AnswerOf<Events['spec:join']>) => void,
  ): Promise<void> {
    const user = socket.data.user
    // Hold live events before reading the replay: whatever is committed from now on is either in it or held.
    const cursor = feed.hold(socket, specId, batch)
    // read after the hold, shared with the joins of the same spec arriving together (join-reads.ts)
    const { spec: shown, events } = await reads.join(specId, user.id, afterSeq)
    const refuse = () => {
      const watching = socket.rooms.has(specRoom(specId)) // until now, or for the moment since this join entered it
      revocations.leave(socket, specId)
      if (watching) presence.announce(specId)
      return notFound('Spec')
    }
    if (!shown || ticket.revoked) throw refuse()
    if (!socket.connected) return // gone meanwhile: joining now would leave a ghost in the room
    socket.data.unlisted = listed ? socket.data.unlisted.filter((id) => id !== specId) : [...new Set([...socket.data.unlisted, specId])]
    await socket.join(specRoom(specId))
    if (ticket.revoked) throw refuse()
    if (batch) {
      // Entering the deltas room, reading the list deltas are computed against, and answering: one turn (presence.ts).
      // The adapters used here add a socket to a room synchronously; the promise is for others.
      const entering = socket.join(deltasRoom(specId))
      reply({ ok: true, spec: shown, events, viewers: presence.toldList(specId, listed ? { user_id: user.id, name: user.name } : null) })
      await entering
    } else {
      if (socket.rooms.has(deltasRoom(specId))) await socket.leave(deltasRoom(specId))
      const viewers = await presence.viewers(specId)
      if (ticket.revoked) throw refuse()
      reply({ ok: true, spec: shown, events, viewers })
    }
    // answered, then revoked: the revocation took the socket out of the rooms and dropped its cursor
    if (ticket.revoked) return
    // A client asking for no replay (after_seq past the end) gets every event after what existed at its join.
    feed.open(cursor, specId, Math.max(events.at(-1)?.seq ?? 0, Math.min(afterSeq, shown.last_seq)), shown)
    presence.announce(specId)
  }

  nsp.on('connection', (socket: SpecSocket) => {
    const user = socket.data.user

    socket.on(
      'spec:join',
      request<Events['spec:join']>('spec:join', async (payload, reply) => {
        const { spec_id: specId, after_seq: afterSeq = 0, presence: listed, batch } = parseInput(SpecJoinSchema, payload, 'payload')
        // taken before the access is read: a removal from now on is seen by this join (revoke.ts)
        const ticket = revocations.begin(specId, user.id)
        try {
          await join(socket, specId, afterSeq, listed, batch, ticket, reply)
        } finally {
          revocations.end(ticket)
        }
      }),
    )

    socket.on(
      'spec:leave',
      request<Events['spec:leave']>('spec:leave', async (payload, reply) => {
        const { spec_id: specId } = parseInput(SpecLeaveSchema, payload, 'payload')
        const wasIn = socket.rooms.has(specRoom(specId))
        revocations.leave(socket, specId)
        reply({ ok: true })
        if (wasIn) presence.announce(specId)
      }),
    )

    socket.on(
      'spec:command',
      request<Events['spec:command']>('spec:command', async (payload, reply) => {
        const { spec_id: specId, idempotency_key: key, ...input } = parseInput(SpecCommandSchema, payload, 'payload')
        const { code, body, replayed } = await commands.command(user, specId, input, key === undefined ? undefined : { key, named: 'idempotency_key' })
        // a keyed command answers its refusal (it is the answer its retries get too) instead of throwing it
        const answer = code >= 400 ? { ok: false as const, error: body.error as SocketError } : { ok: true as const, ...body }
        reply(replayed ? { ...answer, replayed } : answer)
      }),
    )

    socket.on('disconnecting', () => {
      const specs = [...socket.rooms].map(specOfRoom).filter((id): id is string => id !== null)
      socket.once('disconnect', () => {
        feed.releaseSocket(socket.id)
        for (const specId of specs) presence.announce(specId)
      })
    })
  })
}
