import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ExtendedError, Socket } from 'socket.io'
import { createAuthService } from '../../src/auth/service.ts'
import { createSessionStore } from '../../src/auth/sessions.ts'
import type { Database, Sql } from '../../src/db/connect.ts'
import { appendEvents, eventsAfter } from '../../src/db/events.ts'
import { insertProject } from '../../src/db/projects.ts'
import { insertSpec } from '../../src/db/specs.ts'
import { insertUser, type UserRow } from '../../src/db/users.ts'
import { newId, newUuid } from '../../src/ids.ts'
import { authenticate } from '../../src/sockets/handshake.ts'
import { JoinReads } from '../../src/sockets/join-reads.ts'
import { STALLED_READ_MS } from '../../src/db/turn-batch.ts'
import type { SocketData } from '../../src/sockets/types.ts'
import { freshDatabase } from '../support/db.ts'

/**
 * A crowd opening a spec: the handshakes of one turn, or of the turns while a lookup is in flight, share one session
 * lookup (src/db/turn-batch.ts), and the joins of one turn share one read of the spec, everyone's access and the log
 * (src/sockets/join-reads.ts).
 */

let database: Database
/** Session lookups the store sent to the database. */
let lookups = 0
/** Reads of joins (readJoin). */
let joinReads = 0
/** While set, session lookups wait for it before they reach the database (a slow round trip). */
let lookupGate: Promise<void> | null = null
/** While set, join reads wait for it before they reach the database. */
let joinGate: Promise<void> | null = null
/** While set, reads of the log wait for it before they reach the database; `logReached` is told when one does. */
let logGate: Promise<void> | null = null
let logReached = () => {}
let sql: Sql

beforeAll(async () => {
  database = await freshDatabase()
  sql = new Proxy(database.sql, {
    apply(target, thisArg, args: unknown[]) {
      const text = Array.isArray(args[0]) ? (args[0] as string[]).join('?') : ''
      const query = () => Reflect.apply(target as unknown as (...a: unknown[]) => unknown, thisArg, args)
      if (text.includes('as join_access')) {
        joinReads++
        return joinGate ? joinGate.then(query) : query()
      }
      if (text.includes('from sandbox_events where spec_id') && logGate) {
        logReached()
        return logGate.then(query)
      }
      if (!text.includes('from sessions s join users u')) return query()
      lookups++
      return lookupGate ? lookupGate.then(query) : query()
    },
  }) as Sql
})
afterAll(async () => {
  await database?.close()
})

async function users(count: number) {
  const sessions = createSessionStore(sql, { secureCookies: false })
  const people = []
  for (let i = 0; i < count; i++) {
    const user = (await insertUser(sql, { id: newId('usr'), email: `crowd-${newId('x').toLowerCase()}@example.com`, name: `Crowd ${i}`, role: 'user', password_hash: 'x' }))!
    people.push({ user, token: (await sessions.create(user.id)).token })
  }
  return { sessions, people }
}

/** What the handshake middleware leaves on a socket: the user it let in, or the refusal. */
type Handshook = { user: string | undefined; refused: string | undefined }

function handshake(middleware: ReturnType<typeof authenticate>, token: string): Promise<Handshook> {
  const socket = { handshake: { headers: {}, auth: { token } }, data: {} } as unknown as Socket<any, any, any, SocketData>
  return new Promise((resolve) => {
    void middleware(socket, (err?: ExtendedError) => resolve({ user: socket.data.user?.id, refused: err?.message }))
  })
}

describe('session lookups', () => {
  it('looks up the sessions of handshakes arriving in one turn with one query, each answered its own user', async () => {
    const { sessions, people } = await users(30)
    const middleware = authenticate(createAuthService(sql, sessions, new Set()), { allowedOrigins: [] })
    lookups = 0
    const results = await Promise.all([...people.map((p) => handshake(middleware, p.token)), handshake(middleware, 'not-a-session')])
    expect(lookups).toBe(1)
    expect(results.slice(0, -1).map((r) => r.user)).toEqual(people.map((p) => p.user.id))
    expect(results.at(-1)).toEqual({ user: undefined, refused: 'unauthenticated' })
  })

  it('handshakes arriving while a lookup is in flight, one per turn, share the next lookup', async () => {
    const { sessions, people } = await users(11)
    const [first, ...crowd] = people as [(typeof people)[number], ...typeof people]
    const middleware = authenticate(createAuthService(sql, sessions, new Set()), { allowedOrigins: [] })
    let open = () => {}
    lookupGate = new Promise<void>((resolve) => (open = resolve))
    lookups = 0
    const firstIn = handshake(middleware, first.token)
    await new Promise((resolve) => setImmediate(resolve)) // its lookup has started and waits at the gate
    expect(lookups).toBe(1)
    const crowdIn: Promise<Handshook>[] = []
    for (const p of crowd) {
      crowdIn.push(handshake(middleware, p.token))
      await new Promise((resolve) => setImmediate(resolve))
    }
    lookupGate = null
    open()
    expect((await firstIn).user).toBe(first.user.id)
    expect((await Promise.all(crowdIn)).map((r) => r.user)).toEqual(crowd.map((p) => p.user.id))
    expect(lookups).toBe(2)
  })

  it('keeps nothing between turns: a session revoked after one handshake refuses the next at once', async () => {
    const { sessions, people } = await users(1)
    const [{ user, token }] = people as [(typeof people)[number]]
    const middleware = authenticate(createAuthService(sql, sessions, new Set()), { allowedOrigins: [] })
    expect((await handshake(middleware, token)).user).toBe(user.id)
    const [session] = await sessions.list(user.id)
    expect(await sessions.revoke(user.id, session!.id)).toBe(true)
    expect(await handshake(middleware, token)).toEqual({ user: undefined, refused: 'unauthenticated' })
  })
})

describe('join reads', () => {
  it('answers the joins of one spec handled in one poll for I/O with one read, each with its own access and replay', async () => {
    const { people } = await users(12)
    const [owner, ...viewers] = people.map((p) => p.user)
    const project = await insertProject(sql, { id: newId('prj'), owner_id: owner!.id, name: 'Crowd', repo_url: null, default_branch: 'main', check_command: null })
    const spec = await insertSpec(sql, { id: newId('spec'), project_id: project.id, user_id: owner!.id, title: 'Crowd', description: 'watched', approval: 'auto', budget_usd: null, kind: 'spec' })
    const members = viewers.slice(0, 10)
    await sql`insert into project_members ${sql(members.map((u) => ({ project_id: project.id, user_id: u.id, role: 'viewer' })), 'project_id', 'user_id', 'role')}`
    const { written } = await appendEvents(sql, spec.id, [1, 2, 3].map((n) => ({ id: newUuid(), type: 'agent.message', data: { n }, source: 'agent' as const })))
    const reads = new JoinReads(sql)
    joinReads = 0
    // each join handled in a callback of its own, as a crowd's packets read in one poll for I/O are; the owner
    // rejoins after the first event it had
    const inOwnCallback = (u: { id: string }, afterSeq: number) =>
      new Promise<Awaited<ReturnType<JoinReads['join']>>>((resolve) => setImmediate(() => resolve(reads.join(spec.id, u.id, afterSeq))))
    const answers = await Promise.all([inOwnCallback(owner!, 1), ...viewers.map((v) => inOwnCallback(v, 0))])
    expect(joinReads).toBe(1)
    expect(answers.map((a) => a.spec?.access ?? null)).toEqual(['owner', ...members.map(() => 'viewer'), null])
    expect(answers[0]!.spec?.id).toBe(spec.id)
    // the replay is the log as the event reads give it, cut at each one's after_seq; nothing for the outsider
    expect(answers[0]!.events).toEqual(written.slice(1))
    expect(answers[1]!.events).toEqual(written)
    expect(await eventsAfter(sql, spec.id, 0)).toEqual(written)
    expect(answers.at(-1)!.events).toEqual([])
  })

  it(`does not let a read stuck in flight hold the spec's next joins for more than ${STALLED_READ_MS} ms`, async () => {
    const { people } = await users(2)
    const [owner, later] = people.map((p) => p.user) as [UserRow, UserRow]
    const project = await insertProject(sql, { id: newId('prj'), owner_id: owner.id, name: 'Stuck', repo_url: null, default_branch: 'main', check_command: null })
    const spec = await insertSpec(sql, { id: newId('spec'), project_id: project.id, user_id: owner.id, title: 'Stuck', description: 'd', approval: 'auto', budget_usd: null, kind: 'spec' })
    const reads = new JoinReads(sql)
    let open = () => {}
    joinGate = new Promise<void>((resolve) => (open = resolve))
    joinReads = 0
    const stuck = reads.join(spec.id, owner.id, 0)
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setImmediate(resolve)) // its read has started and waits at the gate
    expect(joinReads).toBe(1)
    joinGate = null
    const started = performance.now()
    expect((await reads.join(spec.id, later.id, 0)).spec).toBeNull() // not a member: answered by a read of its own
    expect(performance.now() - started).toBeGreaterThanOrEqual(STALLED_READ_MS - 5)
    expect(joinReads).toBe(2)
    open()
    expect((await stuck).spec?.access).toBe('owner')
  })

  it("replays the log up to the spec's last_seq as read: events committed after it are left to the live feed, not doubled", async () => {
    const { people } = await users(1)
    const [owner] = people.map((p) => p.user) as [UserRow]
    const project = await insertProject(sql, { id: newId('prj'), owner_id: owner.id, name: 'Racing', repo_url: null, default_branch: 'main', check_command: null })
    const spec = await insertSpec(sql, { id: newId('spec'), project_id: project.id, user_id: owner.id, title: 'Racing', description: 'd', approval: 'auto', budget_usd: null, kind: 'spec' })
    const event = (n: number) => ({ id: newUuid(), type: 'agent.message', data: { n }, source: 'agent' as const })
    const { written } = await appendEvents(sql, spec.id, [1, 2, 3].map(event))
    const reads = new JoinReads(sql)
    let open = () => {}
    logGate = new Promise<void>((resolve) => (open = resolve))
    const reached = new Promise<void>((resolve) => (logReached = resolve))
    const joined = reads.join(spec.id, owner.id, 0)
    await reached // the spec (last_seq 3) is read; its log read waits
    logGate = null
    await appendEvents(sql, spec.id, [4, 5].map(event))
    open()
    const { spec: shown, events } = await joined
    expect(shown?.last_seq).toBe(3)
    expect(events).toEqual(written)
  })
})
