import { Lucia, TimeSpan } from 'lucia'
import { PostgresJsAdapter } from '@lucia-auth/adapter-postgresql'
import type { Sql } from '../db/connect.ts'
import type { PublicUser } from '../db/users.ts'

/**
 * Sessions, kept behind this module so lucia v3 (no longer maintained upstream) can be replaced
 * by a few dozen lines without touching http or sockets.
 */

export const SESSION_COOKIE = 'omoi_session'

export interface SessionStore {
  create(userId: string): Promise<{ token: string; cookie: string }>
  /** The user of a valid session token, or null (expired, unknown, invalidated). */
  validate(token: string): Promise<{ user: PublicUser; sessionId: string; refreshCookie: string | null } | null>
  invalidate(token: string): Promise<void>
  blankCookie(): string
  readCookie(header: string | undefined): string | null
  readBearer(header: string | undefined): string | null
}

export function createSessionStore(sql: Sql, options: { secureCookies: boolean }): SessionStore {
  const lucia = new Lucia(new PostgresJsAdapter(sql as never, { user: 'users', session: 'sessions' }), {
    sessionExpiresIn: new TimeSpan(30, 'd'),
    sessionCookie: { name: SESSION_COOKIE, expires: true, attributes: { secure: options.secureCookies, sameSite: 'lax' } },
    getUserAttributes: (a) => a as unknown as Omit<PublicUser, 'id'>,
  })
  return {
    async create(userId) {
      const session = await lucia.createSession(userId, {})
      return { token: session.id, cookie: lucia.createSessionCookie(session.id).serialize() }
    },
    async validate(token) {
      const { session, user } = await lucia.validateSession(token)
      if (!session || !user) return null
      const attrs = user as unknown as PublicUser
      return {
        user: { id: user.id, email: attrs.email, name: attrs.name, role: attrs.role },
        sessionId: session.id,
        refreshCookie: session.fresh ? lucia.createSessionCookie(session.id).serialize() : null,
      }
    },
    invalidate: (token) => lucia.invalidateSession(token),
    blankCookie: () => lucia.createBlankSessionCookie().serialize(),
    readCookie: (header) => (header ? lucia.readSessionCookie(header) : null),
    readBearer: (header) => (header ? lucia.readBearerToken(header) : null),
  }
}
