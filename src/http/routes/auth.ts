import { Hono } from 'hono'
import { LoginSchema, SignupSchema } from '../../schemas/api.ts'
import type { AuthService } from '../../auth/service.ts'
import { clientAddress, readBody, requireUser, type Env } from '../middleware.ts'
import { doc } from '../openapi.ts'
import { AuthAnswer, MeAnswer } from '../../schemas/responses.ts'

/** CONTRACT §3: signup, login, logout, me. */
export function authRoutes(auth: AuthService) {
  return new Hono<Env>()
    .post('/signup', doc({ summary: 'Sign up', tag: 'auth', auth: 'none', body: SignupSchema, status: 201, answer: AuthAnswer }), async (c) => {
      const body = await readBody(c, SignupSchema)
      const { user, token, cookie } = await auth.signup(body)
      c.header('Set-Cookie', cookie, { append: true })
      return c.json({ user, token }, 201)
    })
    .post('/login', doc({ summary: 'Log in', tag: 'auth', auth: 'none', body: LoginSchema, answer: AuthAnswer }), async (c) => {
      const body = await readBody(c, LoginSchema)
      const { user, token, cookie } = await auth.login(body, clientAddress(c))
      c.header('Set-Cookie', cookie, { append: true })
      return c.json({ user, token })
    })
    .post('/logout', doc({ summary: 'Log out (ends this session)', tag: 'auth', status: 204 }), async (c) => {
      const identity = requireUser(c)
      c.header('Set-Cookie', await auth.logout(identity.token), { append: true })
      return c.body(null, 204)
    })
    .get('/me', doc({ summary: 'Who am I', tag: 'auth', answer: MeAnswer }), (c) => c.json({ user: requireUser(c).user }))
}
