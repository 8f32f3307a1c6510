import type { SpecCommands } from '../actors/commands.ts'
import type { AuthService } from '../auth/service.ts'
import type { Sql } from '../db/connect.ts'
import { notFound } from '../errors.ts'
import { SpecCommandSchema, SpecJoinSchema, SpecLeaveSchema } from '../schemas/api.ts'
import { parseInput } from '../schemas/parse.ts'
import { request } from './ack.ts'
import type { SpecFeed } from './feed.ts'
import { authenticate } from './handshake.ts'
import { JoinReads } from './join-reads.ts'
import type { PresenceBoard } from './presence.ts'
import { deltasRoom, specOfRoom, specRoom } from './rooms.ts'
import type { ClientToServerEvents, SocketError, SpecNamespace, SpecSocket } from './types.ts'

export interface SpecsDeps {
  sql: Sql
  keySql: Sql
  auth: AuthService
  commands: SpecCommands
  feed: SpecFeed
  presence: PresenceBoard
  allowedOrigins: string[]
}

type Events = ClientToServerEvents

/**
 * Namespace `/` (CONTRACT §6): watching specs (`spec:join` / `spec:leave`, presence) and steering them
 * (`spec:command`, through the same function as REST).
 */
export function registerSpecs(nsp: SpecNamespace, deps: SpecsDeps): void {
  const { commands, feed, presence } = deps
  const reads = new JoinReads(deps.sql, deps.keySql)
  nsp.use(authenticate(deps.auth, { allowedOrigins: deps.allowedOrigins }))

  nsp.on('connection', (socket: SpecSocket) => {
    const user = socket.data.user

    socket.on(
      'spec:join',
      request<Events['spec:join']>('spec:join', async (payload, reply) => {
        const { spec_id: specId, after_seq: afterSeq = 0, presence: listed, batch } = parseInput(SpecJoinSchema, payload, 'payload')
        // Hold live events before reading the replay: whatever is committed from now on is either in it or held.
        const cursor = feed.hold(socket, specId, batch)
        // read after the hold, shared with the joins of the same spec arriving together (join-reads.ts)
        const { spec: shown, events } = await reads.join(specId, user.id, afterSeq)
        if (!shown) {
          feed.release(socket.id, specId)
          if (socket.rooms.has(specRoom(specId))) {
            // watching until now (its access was taken away)
            await socket.leave(specRoom(specId))
            await socket.leave(deltasRoom(specId))
            presence.announce(specId)
          }
          throw notFound('Spec')
        }
        if (!socket.connected) return // gone meanwhile: joining now would leave a ghost in the room
        socket.data.unlisted = listed ? socket.data.unlisted.filter((id) => id !== specId) : [...new Set([...socket.data.unlisted, specId])]
        await socket.join(specRoom(specId))
        if (batch) {
          // Entering the deltas room, reading the list deltas are computed against, and answering: one turn (presence.ts).
          // The adapters used here add a socket to a room synchronously; the promise is for others.
          const entering = socket.join(deltasRoom(specId))
          reply({ ok: true, spec: shown, events, viewers: presence.toldList(specId, listed ? { user_id: user.id, name: user.name } : null) })
          await entering
        } else {
          if (socket.rooms.has(deltasRoom(specId))) await socket.leave(deltasRoom(specId))
          reply({ ok: true, spec: shown, events, viewers: await presence.viewers(specId) })
        }
        // A client asking for no replay (after_seq past the end) gets every event after what existed at its join.
        feed.open(cursor, specId, Math.max(events.at(-1)?.seq ?? 0, Math.min(afterSeq, shown.last_seq)), shown)
        presence.announce(specId)
      }),
    )

    socket.on(
      'spec:leave',
      request<Events['spec:leave']>('spec:leave', async (payload, reply) => {
        const { spec_id: specId } = parseInput(SpecLeaveSchema, payload, 'payload')
        const wasIn = socket.rooms.has(specRoom(specId))
        feed.release(socket.id, specId)
        await socket.leave(specRoom(specId))
        await socket.leave(deltasRoom(specId))
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
