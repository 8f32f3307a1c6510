import { createServer, type Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Server } from 'socket.io'
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { SpecCommands } from '../../src/actors/commands.ts'
import type { AuthService } from '../../src/auth/service.ts'
import type { SpecEvent } from '../../src/schemas/events.ts'
import type { PresentedSpec } from '../../src/schemas/present.ts'
import { SpecFeed } from '../../src/sockets/feed.ts'
import type { JoinReads } from '../../src/sockets/join-reads.ts'
import { PresenceBoard } from '../../src/sockets/presence.ts'
import { AccessRevocations } from '../../src/sockets/revoke.ts'
import { specRoom } from '../../src/sockets/rooms.ts'
import { registerSpecs } from '../../src/sockets/specs.ts'
import type { SpecServer } from '../../src/sockets/types.ts'

/**
 * A member removed from the project while a join of theirs is under way: the join read their access before the removal
 * committed, the removal's revocation ran before the join entered the room or while the socket was catching up. One
 * node, a real Socket.IO server and client; what the join reads and the log are held by the test.
 */

const SPEC = 'spec_1'
const MEMBER = { id: 'usr_member', name: 'Member', email: 'm@example.com', role: 'member' as const, created_at: '2026-01-01T00:00:00.000Z' }

/** Reads the server asked for, handed to the test in order: `next` waits for the next one. */
class Asked<T> {
  private items: T[] = []
  private waiting: ((item: T) => void)[] = []

  push(item: T): void {
    const waiter = this.waiting.shift()
    if (waiter) waiter(item)
    else this.items.push(item)
  }

  next(): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift()!)
    return new Promise((resolve) => this.waiting.push(resolve))
  }
}

/** A promise the test settles. */
function deferred<T>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

const spec = (lastSeq: number) => ({ id: SPEC, last_seq: lastSeq, updated_at: '2026-01-01T00:00:00.000Z' }) as unknown as PresentedSpec
const event = (seq: number): SpecEvent => ({
  seq,
  id: `evt_${seq}`,
  spec_id: SPEC,
  sandbox_id: null,
  type: 'agent.message',
  data: { text: `event ${seq}` },
  source: 'agent',
  created_at: '2026-01-01T00:00:00.000Z',
})

let http: HttpServer
let io: SpecServer
let client: ClientSocket
let feed: SpecFeed
let revocations: AccessRevocations
/** Each join's read, waiting for the test to answer it. */
let joinReads: Asked<{ resolve: (answer: Awaited<ReturnType<JoinReads['join']>>) => void }>
/** Each read of the log by the feed (a socket catching up), waiting for the test to answer it. */
let logReads: Asked<{ afterSeq: number; resolve: (events: SpecEvent[]) => void }>
/** Every event the client was sent. */
let received: number[]

beforeEach(async () => {
  joinReads = new Asked()
  logReads = new Asked()
  received = []
  http = createServer()
  io = new Server(http)
  const nsp = io.of('/')
  feed = new SpecFeed((_specId, afterSeq) => {
    const read = deferred<SpecEvent[]>()
    logReads.push({ afterSeq, resolve: read.resolve })
    return read.promise
  })
  const presence = new PresenceBoard(nsp)
  revocations = new AccessRevocations(nsp, feed, presence)
  const reads: Pick<JoinReads, 'join'> = {
    join: () => {
      const read = deferred<Awaited<ReturnType<JoinReads['join']>>>()
      joinReads.push({ resolve: read.resolve })
      return read.promise
    },
  }
  const auth = { identify: async () => ({ user: MEMBER, sessionId: 'session', via: 'bearer' }) } as unknown as AuthService
  registerSpecs(nsp, { reads, auth, commands: {} as SpecCommands, feed, presence, revocations, allowedOrigins: [] })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  client = connectClient(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, { auth: { token: 't' }, transports: ['websocket'] })
  client.on('spec:event', (e: SpecEvent) => received.push(e.seq))
  client.on('spec:events', (events: SpecEvent[]) => received.push(...events.map((e) => e.seq)))
  await new Promise<void>((resolve) => client.once('connect', () => resolve()))
})

afterEach(async () => {
  client.disconnect()
  await new Promise<void>((resolve) => io.close(() => resolve()))
})


/** Whatever the server sent before this round trip has arrived (Socket.IO keeps one connection's order). */
const roundTrip = () => client.timeout(5_000).emitWithAck('spec:leave', { spec_id: 'spec_other' })

describe('a member removed while their join is under way', () => {
  it('is refused when the removal lands between the join reading their access and entering the room, and is sent nothing', async () => {
    const answer = client.timeout(5_000).emitWithAck('spec:join', { spec_id: SPEC, batch: true })
    const read = await joinReads.next()
    revocations.revoke([SPEC], MEMBER.id) // the removal committed after the read's snapshot
    read.resolve({ spec: spec(0), events: [] })
    expect(await answer).toMatchObject({ ok: false, error: { code: 'not_found' } })
    expect(io.of('/').adapter.rooms.get(specRoom(SPEC))).toBeUndefined()
    feed.events(SPEC, [event(1)])
    await roundTrip()
    expect(received).toEqual([])
  })

  it('stops a socket that is still catching up: the rest of its replay is not sent, and it never reaches the live room', async () => {
    const answer = client.timeout(5_000).emitWithAck('spec:join', { spec_id: SPEC })
    ;(await joinReads.next()).resolve({ spec: spec(3), events: [] }) // a replay cut short: the feed reads the rest
    expect(await answer).toMatchObject({ ok: true })
    const gap = await logReads.next()
    revocations.revoke([SPEC], MEMBER.id)
    gap.resolve([event(1), event(2), event(3)])
    feed.events(SPEC, [event(4)])
    await roundTrip()
    expect(received).toEqual([])
    expect(io.of('/').adapter.rooms.get(specRoom(SPEC))).toBeUndefined()
  })

  it('is still admitted when nobody removed it (the same join, no revocation)', async () => {
    const answer = client.timeout(5_000).emitWithAck('spec:join', { spec_id: SPEC, batch: true })
    ;(await joinReads.next()).resolve({ spec: spec(0), events: [] })
    expect(await answer).toMatchObject({ ok: true })
    feed.events(SPEC, [event(1)])
    await expect.poll(() => received).toEqual([1])
  })
})
