import { Hono, type MiddlewareHandler } from 'hono'
import { LoginSchema, SignupSchema } from '../../schemas/api.ts'
import type { AuthService } from '../../auth/service.ts'
import { originAllowed } from '../../auth/tokens.ts'
import { AppError, notFound } from '../../errors.ts'
import { clientAddress, readBody, requireJsonType, requireUser, type Env } from '../middleware.ts'
import { doc } from '../openapi.ts'
import { AuthAnswer, MeAnswer, SessionListAnswer } from '../../schemas/responses.ts'

/**
 * Login and signup carry no credentials yet, so the cookie Origin check does not cover them: a foreign page could
 * post a form (text/plain, no preflight) and log the victim into the attacker's account. They must be JSON, and an
 * Origin, when a browser sends one, must be ours.
 */
function jsonFromOurOrigin(allowed: () => string[]): MiddlewareHandler<Env> {
  return async function jsonFromOurOrigin(c, next) {
    requireJsonType(c)
    const origin = c.req.header('origin')
    const host = c.req.header('host')
    if (origin !== undefined && !originAllowed(origin, [...(host ? [host] : []), ...allowed()])) {
      throw new AppError('forbidden', 'This request must come from the omoi web app (its Origin header is foreign).')
    }
    await next()
  }
}

/** CONTRACT §3: signup, login, logout, me, and the caller's sessions. */
export function authRoutes(auth: AuthService, options: { allowedOrigins: () => string[] }) {
  const guard = jsonFromOurOrigin(options.allowedOrigins)
  const caller = (c: Parameters<MiddlewareHandler<Env>>[0]) => ({ address: clientAddress(c), userAgent: c.req.header('user-agent') })
  return new Hono<Env>()
    .post('/signup', doc({ summary: 'Sign up', tag: 'auth', auth: 'none', body: SignupSchema, status: 201, answer: AuthAnswer }), guard, async (c) => {
      const body = await readBody(c, SignupSchema)
      const { user, token, cookie } = await auth.signup(body, caller(c))
      c.header('Set-Cookie', cookie, { append: true })
      return c.json({ user, token }, 201)
    })
    .post('/login', doc({ summary: 'Log in', tag: 'auth', auth: 'none', body: LoginSchema, answer: AuthAnswer }), guard, async (c) => {
      const body = await readBody(c, LoginSchema)
      const { user, token, cookie } = await auth.login(body, caller(c))
      c.header('Set-Cookie', cookie, { append: true })
      return c.json({ user, token })
    })
    .post('/logout', doc({ summary: 'Log out (ends this session)', tag: 'auth', status: 204 }), async (c) => {
      const identity = requireUser(c)
      c.header('Set-Cookie', await auth.logout(identity), { append: true })
      return c.body(null, 204)
    })
    .get('/me', doc({ summary: 'Who am I', tag: 'auth', answer: MeAnswer }), (c) => c.json({ user: requireUser(c).user }))
    .get('/sessions', doc({ summary: "The caller's sessions", tag: 'auth', answer: SessionListAnswer }), async (c) => c.json({ sessions: await auth.listSessions(requireUser(c)) }))
    .delete('/sessions', doc({ summary: 'Revoke every session of the caller', tag: 'auth', status: 204 }), async (c) => {
      await auth.revokeAllSessions(requireUser(c))
      c.header('Set-Cookie', auth.sessions.blankCookie(), { append: true })
      return c.body(null, 204)
    })
    .delete('/sessions/:id', doc({ summary: 'Revoke one session of the caller', tag: 'auth', status: 204 }), async (c) => {
      const identity = requireUser(c)
      const id = c.req.param('id')
      if (!(await auth.revokeSession(identity, id))) throw notFound('Session')
      if (id === identity.sessionId) c.header('Set-Cookie', auth.sessions.blankCookie(), { append: true })
      return c.body(null, 204)
    })
}
