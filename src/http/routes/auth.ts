import { Hono } from 'hono'
import { LoginSchema, SignupSchema } from '../../schemas/api.ts'
import type { AuthService } from '../../auth/service.ts'
import { clientAddress, readBody, requireUser, type Env } from '../middleware.ts'

/** CONTRACT §3: signup, login, logout, me. */
export function authRoutes(auth: AuthService) {
  return new Hono<Env>()
    .post('/signup', async (c) => {
      const body = await readBody(c, SignupSchema)
      const { user, token, cookie } = await auth.signup(body)
      c.header('Set-Cookie', cookie, { append: true })
      return c.json({ user, token }, 201)
    })
    .post('/login', async (c) => {
      const body = await readBody(c, LoginSchema)
      const { user, token, cookie } = await auth.login(body, clientAddress(c))
      c.header('Set-Cookie', cookie, { append: true })
      return c.json({ user, token })
    })
    .post('/logout', async (c) => {
      const identity = requireUser(c)
      c.header('Set-Cookie', await auth.logout(identity.token), { append: true })
      return c.body(null, 204)
    })
    .get('/me', (c) => c.json({ user: requireUser(c).user }))
}
