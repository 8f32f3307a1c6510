import { AppError } from '../errors.ts'
import { newId } from '../ids.ts'
import type { Sql } from '../db/connect.ts'
import { findUserByEmail, insertUser, publicUser, setRole, type PublicUser } from '../db/users.ts'
import { hashPassword, verifyPassword } from './password.ts'
import { RateLimiter } from './rate-limit.ts'
import type { SessionStore } from './sessions.ts'

export interface Identity {
  user: PublicUser
  token: string
  via: 'cookie' | 'bearer'
  /** A renewed session cookie to send back, when the session was extended. */
  refreshCookie: string | null
}

export interface AuthService {
  signup(input: { email: string; password: string; name: string }): Promise<{ user: PublicUser; token: string; cookie: string }>
  login(input: { email: string; password: string }, address: string): Promise<{ user: PublicUser; token: string; cookie: string }>
  logout(token: string): Promise<string>
  /** Who sent this request: the Bearer token wins over the cookie. */
  identify(headers: { cookie?: string; authorization?: string }): Promise<Identity | null>
  /** Called with the token of every session that logs out (live connections of that session are cut). */
  onLogout(listener: (token: string) => void): () => void
  sessions: SessionStore
}

const BAD_CREDENTIALS = 'The email or password is wrong.'
// A fixed hash so an unknown email costs the same time as a wrong password.
const DUMMY_HASH = hashPassword('not-a-real-password')

export function createAuthService(sql: Sql, sessions: SessionStore, adminEmails: Set<string>): AuthService {
  const loginLimiter = new RateLimiter(10, 15 * 60_000)
  const logoutListeners = new Set<(token: string) => void>()
  const roleFor = (email: string): PublicUser['role'] => (adminEmails.has(email) ? 'admin' : 'user')

  return {
    sessions,
    async signup({ email, password, name }) {
      const role = roleFor(email)
      const user = await insertUser(sql, { id: newId('usr'), email, name, role, password_hash: await hashPassword(password) })
      if (!user) throw new AppError('conflict', 'An account with this email already exists: log in instead.', { email: ['is already registered'] })
      const { token, cookie } = await sessions.create(user.id)
      return { user: publicUser(user), token, cookie }
    },

    async login({ email, password }, address) {
      const key = `${email}|${address}`
      const wait = loginLimiter.hit(key)
      if (wait > 0) throw new AppError('rate_limited', `Too many login attempts: try again in ${wait} seconds.`)
      const user = await findUserByEmail(sql, email)
      const ok = user ? await verifyPassword(user.password_hash, password) : (await verifyPassword(await DUMMY_HASH, password), false)
      if (!user || !ok) throw new AppError('unauthenticated', BAD_CREDENTIALS)
      loginLimiter.reset(key)
      const role = roleFor(email)
      await setRole(sql, user.id, role)
      const { token, cookie } = await sessions.create(user.id)
      return { user: { ...publicUser(user), role }, token, cookie }
    },

    async logout(token) {
      await sessions.invalidate(token)
      for (const listener of logoutListeners) listener(token)
      return sessions.blankCookie()
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
        token,
        via: bearer ? 'bearer' : 'cookie',
        refreshCookie: bearer ? null : found.refreshCookie,
      }
    },
  }
}
