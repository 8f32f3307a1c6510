import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Api, asUser } from '../support/api.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

let server: TestServer
let api: Api
let projectId: string

beforeAll(async () => {
  server = await startTestServer()
  api = await asUser(server.url, 'Val')
  projectId = (await api.post('/projects', { name: 'Validated' })).body.id
})
afterAll(() => server?.stop())

const countRows = async () => {
  const [row] = await server.database.sql`
    select (select count(*) from projects)::int8 as projects, (select count(*) from specs)::int8 as specs,
           (select count(*) from users)::int8 as users, (select count(*) from project_members)::int8 as members`
  return row
}

const cases: [string, string, unknown, string[]][] = [
  ['signup: wrong types', '/auth/signup', { email: 5, password: true, name: [] }, ['email', 'password', 'name']],
  ['signup: short password', '/auth/signup', { email: 'a@b.co', password: 'short', name: 'A' }, ['password']],
  ['login: missing fields', '/auth/login', {}, ['email', 'password']],
  ['project: missing name', '/projects', { repo_url: 'https://x/y.git' }, ['name']],
  ['project: bad repo_url', '/projects', { name: 'x', repo_url: 'not a url' }, ['repo_url']],
  ['project: bad branch', '/projects', { name: 'x', default_branch: '../../etc' }, ['default_branch']],
  ['spec: wrong types', '/specs', { project_id: 1, title: '', description: null }, ['project_id', 'title', 'description']],
  ['spec: bad approval and budget', '/specs', { title: 't', description: 'd', approval: 'sometimes', budget_usd: -1 }, ['approval', 'budget_usd']],
  ['body is an array', '/projects', [1, 2], ['body']],
]

describe('bad input gets a clear 400 and writes nothing', () => {
  it.each(cases)('%s', async (_name, path, body, fields) => {
    const before = await countRows()
    const res = await api.post(path, body)
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('invalid_body')
    expect(res.body.error.message).toMatch(/^The request body (is invalid|must be a JSON object)/)
    expect(Object.keys(res.body.error.fields).sort()).toEqual([...fields].sort())
    expect(await countRows()).toEqual(before)
  })

  it('member: bad role and email', async () => {
    const res = await api.post(`/projects/${projectId}/members`, { email: 'nope', role: 'god' })
    expect(res.status).toBe(400)
    expect(Object.keys(res.body.error.fields).sort()).toEqual(['email', 'role'])
  })

  it('malformed JSON is a 400 naming the body', async () => {
    const before = await countRows()
    const res = await api.request('POST', '/projects', '{"name": "x",', { 'content-type': 'application/json' })
    expect(res.status).toBe(400)
    expect(res.body.error).toMatchObject({ code: 'invalid_body', message: 'The request body is not valid JSON.' })
    expect(await countRows()).toEqual(before)
  })

  it('a body over 1 MiB is a 413', async () => {
    const before = await countRows()
    const res = await api.post('/projects', { name: 'x'.repeat(1024 * 1024 + 10) })
    expect(res.status).toBe(413)
    expect(res.body.error.code).toBe('too_large')
    expect(await countRows()).toEqual(before)
  })

  it('bad query parameters on the event log are a 400', async () => {
    const spec = (await api.post('/specs', { project_id: projectId, title: 't', description: 'd' })).body
    for (const q of ['limit=0', 'limit=501', 'limit=abc', 'offset=-1', 'after_seq=x']) {
      const res = await api.get(`/specs/${spec.id}/events?${q}`)
      expect(res.status, q).toBe(400)
      expect(res.body.error.code).toBe('invalid_body')
    }
  })

  it('unknown fields are ignored', async () => {
    const res = await api.post('/projects', { name: 'extra', color: 'blue' })
    expect(res.status).toBe(201)
    expect(res.body.color).toBeUndefined()
  })

  it('unknown routes are a 404 with the error shape', async () => {
    const res = await api.get('/no/such/thing')
    expect(res.status).toBe(404)
    expect(res.body.error.code).toBe('not_found')
  })
})
