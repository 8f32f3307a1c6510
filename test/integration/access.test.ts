import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Api, asUser } from '../support/api.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

let server: TestServer
let owner: Api
let viewer: Api
let outsider: Api
let projectId: string
let specId: string

beforeAll(async () => {
  server = await startTestServer()
  owner = await asUser(server.url, 'Owner')
  viewer = await asUser(server.url, 'Viewer')
  outsider = await asUser(server.url, 'Outsider')
  projectId = (await owner.post('/projects', { name: 'Shop', repo_url: 'https://example.com/shop.git' })).body.id
  specId = (await owner.post('/specs', { project_id: projectId, title: 'OAuth login', description: 'add OAuth login' })).body.id
  await owner.post(`/projects/${projectId}/members`, { email: viewer.user!.email, role: 'viewer' })
})
afterAll(() => server?.stop())

describe('who may see what', () => {
  it('creates a draft spec owned by its creator', async () => {
    const spec = (await owner.get(`/specs/${specId}`)).body
    expect(spec).toMatchObject({ id: specId, status: 'draft', current_phase: 'explore', user_id: owner.user!.id, approval: 'auto' })
    expect(spec.id).toMatch(/^spec_[0-9a-z]{26}$/)
    expect(spec.phases).toEqual([])
  })

  it('an outsider gets 404 for the project, its specs, the spec and its events', async () => {
    for (const path of [`/projects/${projectId}`, `/projects/${projectId}/specs`, `/specs/${specId}`, `/specs/${specId}/events`, `/specs/${specId}/artifacts`]) {
      const res = await outsider.get(path)
      expect(res.status, path).toBe(404)
      expect(res.body.error.code).toBe('not_found')
    }
    expect((await outsider.get('/projects')).body.projects).toEqual([])
  })

  it('a viewer member reads the project, the spec and its events', async () => {
    expect((await viewer.get('/projects')).body.projects.map((p: { id: string }) => p.id)).toEqual([projectId])
    expect((await viewer.get(`/specs/${specId}`)).body).toMatchObject({ id: specId, access: 'viewer', can_edit: false })
    expect((await viewer.get(`/specs/${specId}/events`)).body).toEqual({ spec_id: specId, events: [], total: 0 })
    expect((await viewer.get(`/projects/${projectId}/specs`)).body.specs).toHaveLength(1)
  })

  it('only the owner adds members', async () => {
    const res = await viewer.post(`/projects/${projectId}/members`, { email: outsider.user!.email, role: 'editor' })
    expect(res.status).toBe(403)
    expect((await outsider.get(`/projects/${projectId}`)).status).toBe(404)
    // An email without an account is invited, answered like a known one (nobody learns who has an account).
    const unknown = await owner.post(`/projects/${projectId}/members`, { email: 'ghost@example.com', role: 'viewer' })
    expect(unknown.status).toBe(201)
    expect(unknown.body).toEqual({ project_id: projectId, email: 'ghost@example.com', role: 'viewer' })
  })

  it('a spec in a project the caller cannot see is refused with 404', async () => {
    const res = await outsider.post('/specs', { project_id: projectId, title: 't', description: 'd' })
    expect(res.status).toBe(404)
  })

  it('an empty board for a user without tickets, and 404 for an unknown ticket', async () => {
    const board = (await outsider.get('/board')).body
    expect(board.columns.map((c: { status: string }) => c.status)).toEqual(['backlog', 'building', 'testing', 'done', 'blocked', 'cancelled'])
    expect((await outsider.get('/tickets/tkt_nope')).status).toBe(404)
  })
})
