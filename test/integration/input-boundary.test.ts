import { connect as tcpConnect } from 'node:net'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mirrorPath } from '../../src/actors/repo-mirror.ts'
import { Api, asUser } from '../support/api.ts'
import { git, makeRepo } from '../support/repo.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

/**
 * Bad input at the HTTP boundary gets a clear 4xx in the CONTRACT §2 shape that says what to fix: never a 5xx to be
 * retried, an empty body, or a secret shown back (the input-boundary defects, one `describe` each).
 */

let server: TestServer
let api: Api
let projectId: string

beforeAll(async () => {
  server = await startTestServer()
  api = await asUser(server.url, 'Boundary')
  projectId = (await api.post('/projects', { name: 'Boundary' })).body.id
})
afterAll(() => server?.stop())

const fieldsOf = (res: { body: any }) => Object.keys(res.body?.error?.fields ?? {})

/** A spec whose delivery is two real commits of a repository, mirrored where the diff route reads them. */
async function deliveredSpec(): Promise<{ specId: string; base: string; head: string }> {
  const repo = await makeRepo()
  const project = (await api.post('/projects', { name: 'Diffed', repo_url: repo })).body.id
  const base = await git(repo, 'rev-parse', 'HEAD')
  await writeFile(join(repo, 'index.js'), 'export const hello = () => "hello, world"\n')
  await git(repo, 'commit', '-q', '-am', 'greet the world')
  const head = await git(repo, 'rev-parse', 'HEAD')
  await git(repo, 'clone', '-q', '--mirror', repo, mirrorPath(server.dataDir, project))
  const specId = (await api.post('/specs', { project_id: project, title: 'Diff', description: 'd' })).body.id
  const delivery = { branch: 'omoi/x', base: 'main', base_commit: base, commit: head, check: null, files_changed: 1, insertions: 1, deletions: 1, pull_request: null }
  await server.database.sql`update specs set delivery = ${server.database.sql.json(delivery)} where id = ${specId}`
  return { specId, base, head }
}

describe('1. the diff route: a bad path is a 400, only missing commits a 503', () => {
  it('refuses paths that are not repository-relative, naming path', async () => {
    const { specId } = await deliveredSpec()
    expect((await api.get(`/specs/${specId}/diff?path=index.js`)).body.files).toHaveLength(1)
    for (const path of ['../../etc/passwd', '%00', 'src%00x', '/etc/passwd', 'a/../../b', '..', 'a%0Ab']) {
      for (const format of ['', '&format=patch']) {
        const res = await api.get(`/specs/${specId}/diff?path=${path}${format}`)
        expect(res.status, `${path}${format}: ${JSON.stringify(res.body)}`).toBe(400)
        expect(res.body.error.code).toBe('invalid_body')
        expect(fieldsOf(res)).toEqual(['path'])
      }
    }
  })

  it('answers 503 with Retry-After while the commits are not fetched yet', async () => {
    const { specId } = await deliveredSpec()
    await server.database.sql`update specs set delivery = delivery || ${server.database.sql.json({ commit: 'f'.repeat(40) })} where id = ${specId}`
    const res = await api.get(`/specs/${specId}/diff`)
    expect(res.status).toBe(503)
    expect(res.body.error.code).toBe('unavailable')
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/)
  })
})

describe('2. JSON bodies need application/json', () => {
  it.each(['text/plain', 'application/x-www-form-urlencoded', 'text/plain; charset=utf-8', ''])('a body sent as %j is a 400 naming content-type, and nothing is stored', async (type) => {
    const before = (await api.get('/projects')).body.projects.length
    const res = await api.request('POST', '/projects', JSON.stringify({ name: 'typed' }), { 'content-type': type })
    expect(res.status, JSON.stringify(res.body)).toBe(400)
    expect(res.body.error.code).toBe('invalid_body')
    expect(res.body.error.message).toContain('application/json')
    expect(fieldsOf(res)).toEqual(['content-type'])
    expect((await api.get('/projects')).body.projects.length).toBe(before)
  })

  it.each(['application/json; charset=latin1', 'application/json;charset="UTF-16"'])('a JSON body in another charset (%j) is a 400 naming content-type, and nothing is stored', async (type) => {
    const before = (await api.get('/projects')).body.projects.length
    const res = await api.request('POST', '/projects', JSON.stringify({ name: 'café' }), { 'content-type': type })
    expect(res.status, JSON.stringify(res.body)).toBe(400)
    expect(res.body.error.message).toContain('UTF-8')
    expect(fieldsOf(res)).toEqual(['content-type'])
    expect((await api.get('/projects')).body.projects.length).toBe(before)
  })

  it('takes application/json with a charset, and +json types', async () => {
    for (const type of ['application/json; charset=utf-8', 'application/json; charset="UTF-8"', 'Application/JSON', 'application/merge-patch+json']) {
      const res = await api.request('POST', '/projects', JSON.stringify({ name: 'typed' }), { 'content-type': type })
      expect(res.status, type).toBe(201)
    }
  })

  it('a bodyless command needs no content type', async () => {
    const specId = (await api.post('/specs', { project_id: projectId, title: 't', description: 'd' })).body.id
    const res = await fetch(`${server.url}/api/v1/specs/${specId}/pause`, { method: 'POST', headers: { authorization: `Bearer ${api.token}` } })
    expect(res.status).not.toBe(400)
    expect((await res.json()).error.code).toBe('conflict')
  })
})

describe('3. repo_url never carries credentials', () => {
  it.each(['https://user:pass@github.com/a/b.git', 'https://ghp_token@github.com/a/b.git', 'ssh://git:secret@host/a.git'])('%s is a 400 naming repo_url', async (url) => {
    const res = await api.post('/projects', { name: 'r', repo_url: url })
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('invalid_body')
    expect(fieldsOf(res)).toEqual(['repo_url'])
    expect(res.body.error.fields.repo_url[0]).toContain('OMOI_GIT_TOKEN')
  })

  it('takes an ssh user, which is not a secret', async () => {
    for (const url of ['git@github.com:a/b.git', 'ssh://git@github.com/a/b.git']) expect((await api.post('/projects', { name: 'r', repo_url: url })).status, url).toBe(201)
  })

  it('a row stored before with credentials is shown without them', async () => {
    const id = (await api.post('/projects', { name: 'old', repo_url: 'https://github.com/a/b.git' })).body.id
    await server.database.sql`update projects set repo_url = 'https://user:pass@github.com/a/b.git' where id = ${id}`
    const shown = JSON.stringify([(await api.get(`/projects/${id}`)).body, (await api.get('/projects')).body])
    expect(shown).not.toContain('pass')
    expect((await api.get(`/projects/${id}`)).body.repo_url).toBe('https://***@github.com/a/b.git')
  })
})

describe('4. validator messages are written for people', () => {
  it('an over-long event type says what the limit is, in words', async () => {
    const specId = (await api.post('/specs', { project_id: projectId, title: 't', description: 'd' })).body.id
    const res = await api.get(`/specs/${specId}/events?type=${'x'.repeat(10_000)}`)
    expect(res.status).toBe(400)
    expect(res.body.error.fields).toEqual({ type: ['type must be at most 100 characters'] })
  })

  it('no answer quotes valibot ("Invalid length: Expected …")', async () => {
    const specId = (await api.post('/specs', { project_id: projectId, title: 't', description: 'd' })).body.id
    const answers = [
      await api.get(`/specs/${specId}/events?type=${'x'.repeat(101)}`),
      await api.get(`/specs/${specId}/events?limit=x`),
      await api.get(`/projects/${projectId}/specs?q=${'x'.repeat(201)}`),
      await api.get(`/specs/${specId}/diff?task=x`),
      await api.post('/projects', { name: 'x', repo_url: 5 }),
    ]
    for (const res of answers) {
      expect(res.status).toBe(400)
      expect(JSON.stringify(res.body)).not.toMatch(/Invalid \w+: (Expected|Received)/)
    }
  })
})

describe('5. requests Node refuses get the error format too', () => {
  it('a query string over 16 KB is a 431 with a JSON error body', async () => {
    const res = await fetch(`${server.url}/api/v1/board?q=${'x'.repeat(20_000)}`, { headers: { authorization: `Bearer ${api.token}` } })
    expect(res.status).toBe(431)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const body = await res.json()
    expect(body.error.code).toBe('too_large')
    expect(body.error.message).toMatch(/16 KB/)
  })

  it('bytes that are not HTTP are a 400 with a JSON error body', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = tcpConnect(Number(new URL(server.url).port), '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'))
      let text = ''
      socket.on('data', (chunk) => (text += chunk))
      socket.on('end', () => resolve(text))
      socket.on('error', reject)
    })
    expect(raw).toMatch(/^HTTP\/1\.1 400 /)
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)).error.code).toBe('bad_request')
  })
})

describe('6. a 429 says when to retry in Retry-After', () => {
  it('login back-off', async () => {
    const email = api.user!.email
    let res
    for (let i = 0; i < 8; i++) {
      res = await new Api(server.url).request('POST', '/auth/login', { email, password: 'wrong password' })
      if (res.status === 429) break
    }
    expect(res!.status).toBe(429)
    expect(res!.body.error.code).toBe('rate_limited')
    const seconds = res!.headers.get('retry-after')
    expect(seconds).toMatch(/^[1-9]\d*$/)
    expect(res!.body.error.message).toContain(`${seconds} second`)
  })
})

describe('7. names and titles: invisible is blank, characters are what people see', () => {
  it.each(['\u200b', '\u2060', '\ufeff', ' \u200b\u200c\u200d '])('a name of only %j is refused like a blank one', async (name) => {
    const res = await api.post('/projects', { name })
    expect(res.status).toBe(400)
    expect(fieldsOf(res)).toEqual(['name'])
    expect(res.body.error.fields.name[0]).toMatch(/must not be empty/)
  })

  it('counts a family emoji as one character', async () => {
    const family = '👨‍👩‍👧‍👦'
    expect((await api.post('/specs', { title: family.repeat(150), description: 'd' })).status).toBe(201)
    expect((await api.post('/specs', { title: family.repeat(300), description: 'd' })).status).toBe(201)
    const res = await api.post('/specs', { title: family.repeat(301), description: 'd' })
    expect(res.status).toBe(400)
    expect(res.body.error.fields.title).toEqual(['title must be at most 300 characters'])
  })

  it('caps the bytes of a "character" made of thousands of combining marks', async () => {
    const res = await api.post('/specs', { title: `a${'\u0301'.repeat(10_000)}`, description: 'd' })
    expect(res.status).toBe(400)
    expect(res.body.error.fields.title[0]).toMatch(/bytes/)
  })
})

describe('8. an empty id in a query string is a 400, not "nothing"', () => {
  it('GET /board?project_id=', async () => {
    const res = await api.get('/board?project_id=')
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('invalid_body')
    expect(fieldsOf(res)).toEqual(['project_id'])
    expect((await api.get(`/board?project_id=${projectId}`)).status).toBe(200)
  })

  it('GET /specs/:id/events?type=', async () => {
    const specId = (await api.post('/specs', { project_id: projectId, title: 't', description: 'd' })).body.id
    const res = await api.get(`/specs/${specId}/events?type=`)
    expect(res.status).toBe(400)
    expect(fieldsOf(res)).toEqual(['type'])
  })
})

describe('9. a query parameter given twice is a 400 naming it, not one of its values picked', () => {
  it('GET /specs/:id/events?after_seq=1&after_seq=2', async () => {
    const specId = (await api.post('/specs', { project_id: projectId, title: 't', description: 'd' })).body.id
    const res = await api.get(`/specs/${specId}/events?after_seq=1&after_seq=2&unknown=1&unknown=2`)
    expect(res.status).toBe(400)
    expect(res.body.error.message).toContain('after_seq is given 2 times')
    expect(fieldsOf(res)).toEqual(['after_seq'])
    expect((await api.get(`/specs/${specId}/events?after_seq=1&unknown=1&unknown=2`)).status).toBe(200)
  })
})

describe('emails', () => {
  it('an internationalized address is refused with the reason', async () => {
    const res = await new Api(server.url).request('POST', '/auth/signup', { email: 'é@example.com', password: 'correct horse battery', name: 'E' })
    expect(res.status).toBe(400)
    expect(res.body.error.fields.email[0]).toMatch(/ASCII/)
  })
})
