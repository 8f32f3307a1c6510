import { AppError } from '../errors.ts'
import { newId } from '../ids.ts'
import type { Sql } from '../db/connect.ts'
import { findUserByEmail, insertUser, publicUser, setRole, type PublicUser } from '../db/users.ts'
import { hashPassword, verifyPassword } from './password.ts'
import { Backoff, TokenBucket } from './rate-limit.ts'
import type { SessionInfo, SessionStore } from './sessions.ts'

export interface Identity {
  user: PublicUser
  /** The session's id: the SHA-256 of its token. */
  sessionId: string
  via: 'cookie' | 'bearer'
  /** A renewed session cookie to send back, when the session was extended. */
  refreshCookie: string | null
}

/** Where a login or signup comes from: the client's address (rate limits) and its User-Agent (the session list). */
export interface Caller {
  address: string
  userAgent?: string
}

export interface AuthService {
  /** Errors: 429 `rate_limited` (too many signups from this address or for this email), 409 `conflict` (email taken). */
  signup(input: { email: string; password: string; name: string }, caller: Caller): Promise<{ user: PublicUser; token: string; cookie: string }>
  /** Errors: 429 `rate_limited` (see README: per address, per email, and back-off per address and email), 401. */
  login(input: { email: string; password: string }, caller: Caller): Promise<{ user: PublicUser; token: string; cookie: string }>
  /** Ends the caller's session; answers the blank cookie to send back. */
  logout(identity: Identity): Promise<string>
  /** The caller's live sessions, `current` marking the one this request came with. */
  listSessions(identity: Identity): Promise<(SessionInfo & { current: boolean })[]>
  /** Revokes one of the caller's sessions; false when the caller has no such session. */
  revokeSession(identity: Identity, sessionId: string): Promise<boolean>
  /** Revokes every session of the caller (this one included). */
  revokeAllSessions(identity: Identity): Promise<void>
  /** Who sent this request: the Bearer token wins over the cookie. */
  identify(headers: { cookie?: string; authorization?: string }): Promise<Identity | null>
  /** Called with the id of every session that ends by logout or revocation (its live connections are cut). */
  onLogout(listener: (sessionId: string) => void): () => void
  sessions: SessionStore
}

const BAD_CREDENTIALS = 'The email or password is wrong.'
// A fixed hash so an unknown email costs the same time as a wrong password.
const DUMMY_HASH = hashPassword('not-a-real-password')

/** 429 saying how long to wait, in the message and (HTTP) as Retry-After. */
const tooMany = (what: string, seconds: number) =>
  new AppError('rate_limited', `Too many ${what}: try again in ${seconds} second${seconds === 1 ? '' : 's'}.`, undefined, seconds)

export function createAuthService(sql: Sql, sessions: SessionStore, adminEmails: Set<string>): AuthService {
  const limits = {
    loginPerAddress: new TokenBucket(30, 2_000),
    loginPerEmail: new TokenBucket(100, 3_000),
    loginFailures: new Backoff({ free: 5, baseMs: 1_000, maxMs: 60_000, forgetMs: 15 * 60_000 }),
    signupPerAddress: new TokenBucket(25, 6_000),
    signupPerEmail: new TokenBucket(5, 60_000),
  }
  const logoutListeners = new Set<(sessionId: string) => void>()
  const ended = (ids: string[]) => ids.forEach((id) => logoutListeners.forEach((listener) => listener(id)))
  const roleFor = (email: string): PublicUser['role'] => (adminEmails.has(email) ? 'admin' : 'user')

  return {
    sessions,
    async signup({ email, password, name }, caller) {
      const wait = limits.signupPerAddress.take(caller.address) || limits.signupPerEmail.take(email)
      if (wait > 0) throw tooMany('signups', wait)
      const role = roleFor(email)
      const user = await insertUser(sql, { id: newId('usr'), email, name, role, password_hash: await hashPassword(password) })
      if (!user) throw new AppError('conflict', 'An account with this email already exists: log in instead.', { email: ['is already registered'] })
      const { token, cookie } = await sessions.create(user.id, caller.userAgent)
      return { user: publicUser(user), token, cookie }
    },

    async login({ email, password }, caller) {
      const key = `${caller.address}|${email}`
      const wait = limits.loginFailures.wait(key) || limits.loginPerAddress.take(caller.address) || limits.loginPerEmail.take(email)
      if (wait > 0) throw tooMany('login attempts', wait)
      const user = await findUserByEmail(sql, email)
      const ok = user ? await verifyPassword(user.password_hash, password) : (await verifyPassword(await DUMMY_HASH, password), false)
      if (!user || !ok) {
        limits.loginFailures.fail(key)
        throw new AppError('unauthenticated', BAD_CREDENTIALS)
      }
      limits.loginFailures.succeed(key)
      const role = roleFor(email)
      await setRole(sql, user.id, role)
      const { token, cookie } = await sessions.create(user.id, caller.userAgent)
      return { user: { ...publicUser(user), role }, token, cookie }
    },

    async logout(identity) {
      if (await sessions.revoke(identity.user.id, identity.sessionId)) ended([identity.sessionId])
      return sessions.blankCookie()
    },

    async listSessions(identity) {
      return (await sessions.list(identity.user.id)).map((s) => ({ ...s, current: s.id === identity.sessionId }))
    },

    async revokeSession(identity, sessionId) {
      const revoked = await sessions.revoke(identity.user.id, sessionId)
      if (revoked) ended([sessionId])
      return revoked
    },

    async revokeAllSessions(identity) {
      ended(await sessions.revokeAll(identity.user.id))
    },

    onLogout(listener) {
      logoutListeners.add(listener)
      return () => logoutListeners.delete(listener)
    },

    async identify(headers) {
      const bearer = sessions.readBearer(headers.authorization)
      const token = bearer ?? sessions.readCookie(headers.cookie)
      if (!token) return null
      const found = await sessions.validate(token)
      if (!found) return null
      return {
        user: { ...found.user, role: roleFor(found.user.email) },
        sessionId: found.sessionId,
        via: bearer ? 'bearer' : 'cookie',
        refreshCookie: bearer ? null : found.refreshCookie,
      }
    },
  }
}
