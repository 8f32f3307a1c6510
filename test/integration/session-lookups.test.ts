import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ExtendedError, Socket } from 'socket.io'
import { createAuthService } from '../../src/auth/service.ts'
import { createSessionStore } from '../../src/auth/sessions.ts'
import type { Database, Sql } from '../../src/db/connect.ts'
import { insertUser } from '../../src/db/users.ts'
import { newId } from '../../src/ids.ts'
import { authenticate } from '../../src/sockets/handshake.ts'
import type { SocketData } from '../../src/sockets/types.ts'
import { freshDatabase } from '../support/db.ts'

/** A crowd opening a spec: the handshakes of one turn share one session lookup (src/db/turn-batch.ts). */

let database: Database
/** Session lookups the store sent to the database. */
let lookups = 0
let sql: Sql

beforeAll(async () => {
  database = await freshDatabase()
  sql = new Proxy(database.sql, {
    apply(target, thisArg, args: unknown[]) {
      const text = Array.isArray(args[0]) ? (args[0] as string[]).join('?') : ''
      if (text.includes('from sessions s join users u')) lookups++
      return Reflect.apply(target as unknown as (...a: unknown[]) => unknown, thisArg, args)
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
