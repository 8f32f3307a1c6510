import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashToken } from '../../src/ids.ts'
import { Api } from '../support/api.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ OMOI_ADMIN_EMAILS: 'boss@example.com' })
})
afterAll(() => server?.stop())

const cookieOf = (res: Response) => res.headers.getSetCookie().find((c) => c.startsWith('omoi_session='))

async function signupRaw(email: string, password = 'correct horse battery') {
  return fetch(`${server.url}/api/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, name: 'Grace' }),
  })
}

describe('auth', () => {
  it('signs up, sets an HttpOnly SameSite=Lax session cookie and answers me by cookie and by Bearer', async () => {
    const res = await signupRaw('grace@example.com')
    expect(res.status).toBe(201)
    const body = await res.json()
    expect(body.user).toMatchObject({ email: 'grace@example.com', name: 'Grace', role: 'user' })
    expect(body.user.password_hash).toBeUndefined()
    const cookie = cookieOf(res)!
    expect(cookie).toMatch(/HttpOnly/i)
    expect(cookie).toMatch(/SameSite=Lax/i)

    const byCookie = await fetch(`${server.url}/api/v1/auth/me`, { headers: { cookie: cookie.split(';')[0]! } })
    expect((await byCookie.json()).user.email).toBe('grace@example.com')
    const api = new Api(server.url)
    api.token = body.token
    expect((await api.get('/auth/me')).body.user.id).toBe(body.user.id)
  })

  it('refuses a duplicate email with 409 and keeps the first account', async () => {
    await signupRaw('dup@example.com', 'first password')
    const again = await signupRaw('DUP@example.com', 'second password')
    expect(again.status).toBe(409)
    expect((await again.json()).error.code).toBe('conflict')
    const login = await new Api(server.url).post('/auth/login', { email: 'dup@example.com', password: 'first password' })
    expect(login.status).toBe(200)
  })

  it('answers a wrong password and an unknown email alike with 401', async () => {
    await signupRaw('login@example.com')
    const api = new Api(server.url)
    const wrong = await api.post('/auth/login', { email: 'login@example.com', password: 'not the password' })
    const unknown = await api.post('/auth/login', { email: 'nobody@example.com', password: 'not the password' })
    expect(wrong.status).toBe(401)
    expect(unknown.status).toBe(401)
    expect(wrong.body.error.message).toBe(unknown.body.error.message)
    const ok = await api.post('/auth/login', { email: 'login@example.com', password: 'correct horse battery' })
    expect(ok.status).toBe(200)
    expect(ok.body.token).toEqual(expect.any(String))
  })

  it('slows down repeated failed logins for one email and address: after 5, a second’s wait, then longer', async () => {
    await signupRaw('guess@example.com')
    const api = new Api(server.url)
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await api.post('/auth/login', { email: 'guess@example.com', password: `guess-${i}` })).status)
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429])
    const limited = await api.post('/auth/login', { email: 'guess@example.com', password: 'correct horse battery' })
    expect(limited.status).toBe(429)
    expect(limited.body.error).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/try again in 1 second/) })
  })

  it('logs out: the token stops working', async () => {
    const api = await new Api(server.url).signup('Leaving')
    expect((await api.post('/auth/logout')).status).toBe(204)
    expect((await api.get('/auth/me')).status).toBe(401)
  })

  it('an expired session is refused', async () => {
    const api = await new Api(server.url).signup('Expiring')
    await server.database.sql`update sessions set expires_at = now() - interval '1 minute' where id = ${hashToken(api.token!)}`
    const me = await api.get('/auth/me')
    expect(me.status).toBe(401)
    expect(me.body.error.code).toBe('unauthenticated')
  })

  it('refuses a cookie-authenticated write without our Origin, accepts it with our Origin', async () => {
    const res = await signupRaw('origin@example.com')
    const cookie = cookieOf(res)!.split(';')[0]!
    const create = (headers: Record<string, string>) =>
      fetch(`${server.url}/api/v1/projects`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie, ...headers },
        body: JSON.stringify({ name: 'p' }),
      })
    const missing = await create({})
    expect(missing.status).toBe(403)
    expect((await missing.json()).error.code).toBe('forbidden')
    expect((await create({ origin: 'https://evil.example' })).status).toBe(403)
    expect((await create({ origin: server.url })).status).toBe(201)
  })

  it('gives role admin to OMOI_ADMIN_EMAILS', async () => {
    const res = await signupRaw('boss@example.com')
    expect((await res.json()).user.role).toBe('admin')
  })

  it('answers 401 with the error shape when not logged in', async () => {
    const res = await new Api(server.url).get('/projects')
    expect(res.status).toBe(401)
    expect(res.body).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) } })
  })
})
