import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Api, asUser } from '../support/api.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { ask, connect, connected, type TestSocket } from '../support/socket-client.ts'

/** Bytes and numbers a column cannot hold are a 400 naming the field, never a 500 (issue 11, case 3). */

let server: TestServer
let api: Api
let projectId: string
let specId: string
let socket: TestSocket

beforeAll(async () => {
  server = await startTestServer()
  api = await asUser(server.url, 'Limits')
  projectId = (await api.post('/projects', { name: 'Limits' })).body.id
  specId = (await api.post('/specs', { project_id: projectId, title: 't', description: 'd' })).body.id
  socket = connect(server.url, { token: api.token })
  await connected(socket)
})
afterAll(async () => {
  socket?.close()
  await server?.stop()
})

const nested = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)

describe('REST input a column cannot hold', () => {
  it.each([
    ['a NUL in a project name', '/projects', { name: 'sh\u0000op' }, 'name'],
    ['a NUL in a check command', '/projects', { name: 'Shop', check_command: 'npm\u0000 test' }, 'check_command'],
    ['a NUL in a spec title', '/specs', { project_id: 'x', title: 'ti\u0000tle', description: 'd' }, 'title'],
    ['budget_usd 1e9', '/specs', { title: 't', description: 'd', budget_usd: 1e9 }, 'budget_usd'],
    ['budget_usd 1e-7 (would be stored as 0)', '/specs', { title: 't', description: 'd', budget_usd: 1e-7 }, 'budget_usd'],
  ])('%s is a 400 naming the field', async (_name, path, body, field) => {
    const res = await api.post(path, body)
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('invalid_body')
    expect(Object.keys(res.body.error.fields)).toEqual([field])
  })

  it('a NUL in a user name at signup is a 400 naming name', async () => {
    const res = await new Api(server.url).post('/auth/signup', { email: 'nul@example.com', password: 'correct horse', name: 'A\u0000da' })
    expect(res.status).toBe(400)
    expect(Object.keys(res.body.error.fields)).toEqual(['name'])
  })

  it('JSON nested 10,000 levels deep is a 400 naming the field it hangs under', async () => {
    const body = `{"title": "t", "description": ${nested(10_000)}}`
    const res = await api.request('POST', '/specs', body, { 'content-type': 'application/json' })
    expect(res.status).toBe(400)
    expect(Object.keys(res.body.error.fields)).toEqual(['description'])
  })

  it('an after_seq past 2^53 on the event log is a 400', async () => {
    const res = await api.get(`/specs/${specId}/events?after_seq=99999999999999999999`)
    expect(res.status).toBe(400)
    expect(Object.keys(res.body.error.fields)).toEqual(['after_seq'])
  })

  it('GET /specs/%00 is a 404, not a 500', async () => {
    const res = await api.get('/specs/%00')
    expect(res.status).toBe(404)
    expect(res.body.error.code).toBe('not_found')
  })
})

describe('socket input a column cannot hold', () => {
  it('spec:join with after_seq 2^64 is refused naming after_seq', async () => {
    const answer = await ask(socket, 'spec:join', { spec_id: specId, after_seq: 2 ** 64 })
    expect(answer.ok).toBe(false)
    expect(answer.error.code).toBe('invalid_body')
    expect(Object.keys(answer.error.fields)).toEqual(['after_seq'])
  })

  it('spec:join with a NUL in the spec id answers not_found', async () => {
    const answer = await ask(socket, 'spec:join', { spec_id: `${specId}\u0000` })
    expect(answer).toMatchObject({ ok: false, error: { code: 'not_found' } })
  })

  it('a spec:command payload nested too deep is refused naming the field', async () => {
    const answer = await ask(socket, 'spec:command', { spec_id: specId, command: 'message', text: JSON.parse(nested(200)) })
    expect(answer.ok).toBe(false)
    expect(Object.keys(answer.error.fields)).toEqual(['text'])
  })
})
