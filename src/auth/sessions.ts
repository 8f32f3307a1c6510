import { randomBytes } from 'node:crypto'
import type { Sql } from '../db/connect.ts'
import type { PublicUser } from '../db/users.ts'
import { TurnBatch } from '../db/turn-batch.ts'
import { hashToken } from '../ids.ts'
import { parseCookie, readBearer, sessionCookie } from './tokens.ts'

/**
 * Sessions as Lucia's guide recommends (lucia-auth.com, "Sessions"): the client holds a random token; the database
 * holds only its SHA-256, which is the session's id, so a copy of the table logs nobody in. A session lasts 30 days
 * and is extended to 30 days again when it is used in its second half (sliding expiry).
 */

export const SESSION_COOKIE = 'omoi_session'
const LIFETIME_MS = 30 * 24 * 3600_000

export interface SessionInfo {
  /** The SHA-256 of the token (hex): safe to show, useless to log in with. */
  id: string
  user_agent: string | null
  created_at: Date
  expires_at: Date
}

export interface SessionStore {
  create(userId: string, userAgent?: string): Promise<{ token: string; cookie: string }>
  /**
   * The user of a valid session token, or null (expired, unknown, revoked). Extends a session past half its life.
   * The tokens checked during one turn of the event loop, or while the previous lookup is in flight (a crowd's
   * handshakes), are looked up with one query (src/db/turn-batch.ts); nothing is cached, so a session revoked before
   * the lookup is refused.
   */
  validate(token: string): Promise<{ user: PublicUser; sessionId: string; refreshCookie: string | null } | null>
  /** The user's live sessions, newest first. */
  list(userId: string): Promise<SessionInfo[]>
  /** Revokes one session of this user; answers whether there was one. */
  revoke(userId: string, sessionId: string): Promise<boolean>
  /** Revokes every session of this user; answers their ids. */
  revokeAll(userId: string): Promise<string[]>
  blankCookie(): string
  readCookie(header: string | undefined): string | null
  readBearer(header: string | undefined): string | null
}

/** 20 random bytes in lower-case base32 (Lucia's token): 100 bits, URL- and cookie-safe. */
export function newSessionToken(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567'
  const bytes = randomBytes(20)
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  return out
}

interface SessionJoin {
  id: string
  expires_at: Date
  user_id: string
  email: string
  name: string
  role: PublicUser['role']
}

/**
 * Sessions in `sql`. `keySql` (default `sql`) runs the lookup behind `validate`, a read by key on every request and
 * handshake (`Database.keySql`, src/db/connect.ts).
 */
export function createSessionStore(sql: Sql, options: { secureCookies: boolean; keySql?: Sql }): SessionStore {
  const cookie = (token: string, maxAgeS: number) => sessionCookie(SESSION_COOKIE, token, { maxAgeS, secure: options.secureCookies })
  const keySql = options.keySql ?? sql
  const lookups = new TurnBatch<string, SessionJoin>(async (ids) => {
    const rows = await keySql<SessionJoin[]>`
      select s.id, s.expires_at, u.id as user_id, u.email, u.name, u.role
      from sessions s join users u on u.id = s.user_id where s.id = any(${ids}::text[])`
    return new Map(rows.map((r) => [r.id, r]))
  })
  return {
    async create(userId, userAgent) {
      const token = newSessionToken()
      const id = hashToken(token)
      await sql`
        insert into sessions (id, user_id, expires_at, user_agent)
        values (${id}, ${userId}, ${new Date(Date.now() + LIFETIME_MS)}, ${userAgent?.slice(0, 300) ?? null})`
      return { token, cookie: cookie(token, LIFETIME_MS / 1000) }
    },

    async validate(token) {
      const id = hashToken(token)
      const row = await lookups.load(id)
      if (!row) return null
      const now = Date.now()
      if (row.expires_at.getTime() <= now) {
        await sql`delete from sessions where id = ${id}`
        return null
      }
      let refreshCookie: string | null = null
      if (row.expires_at.getTime() - now < LIFETIME_MS / 2) {
        await sql`update sessions set expires_at = ${new Date(now + LIFETIME_MS)} where id = ${id}`
        refreshCookie = cookie(token, LIFETIME_MS / 1000)
      }
      return { user: { id: row.user_id, email: row.email, name: row.name, role: row.role }, sessionId: id, refreshCookie }
    },

    list: (userId) => sql<SessionInfo[]>`
      select id, user_agent, created_at, expires_at from sessions
      where user_id = ${userId} and expires_at > now() order by created_at desc, id`,

    async revoke(userId, sessionId) {
      const rows = await sql`delete from sessions where id = ${sessionId} and user_id = ${userId} returning id`
      return rows.length > 0
    },

    async revokeAll(userId) {
      const rows = await sql<{ id: string }[]>`delete from sessions where user_id = ${userId} returning id`
      return rows.map((r) => r.id)
    },

    blankCookie: () => cookie('', 0),
    readCookie: (header) => parseCookie(header, SESSION_COOKIE),
    readBearer,
  }
}
