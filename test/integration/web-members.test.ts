import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ulid } from '../../src/ids.ts'
import { Api, asUser } from '../support/api.ts'
import { makeRepo } from '../support/repo.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { ask, connect, connected, type TestSocket } from '../support/socket-client.ts'
import { waitFor } from '../support/wait.ts'

/**
 * Issue 14 case 7: members with roles — list, add (also by invitation), change role, remove, and the removal is live;
 * and an open invitation withdrawn by the owner is not honoured at sign-up.
 */

let server: TestServer
let owner: Api
let bob: Api
let carol: Api
let projectId: string
const sockets: TestSocket[] = []

beforeAll(async () => {
  server = await startTestServer()
  ;[owner, bob, carol] = await Promise.all([asUser(server.url, 'Owner'), asUser(server.url, 'Bob'), asUser(server.url, 'Carol')])
  projectId = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body.id
})
afterAll(async () => {
  sockets.forEach((s) => s.disconnect())
  await server?.stop()
})

const members = async (as: Api = owner) => (await as.get(`/projects/${projectId}/members`)).body

describe('project members', () => {
  it('the owner adds, lists, changes the role of and removes a member', async () => {
    const added = await owner.post(`/projects/${projectId}/members`, { email: bob.user!.email, role: 'viewer' })
    expect(added.status, JSON.stringify(added.body)).toBe(201)
    expect(added.body).toEqual({ project_id: projectId, email: bob.user!.email, role: 'viewer' })
    expect((await members()).members.map((m: any) => [m.name, m.role])).toEqual([
      ['Owner', 'owner'],
      ['Bob', 'viewer'],
    ])

    const changed = await owner.request('PATCH', `/projects/${projectId}/members/${bob.user!.id}`, { role: 'editor' })
    expect(changed.status).toBe(200)
    expect(changed.body).toMatchObject({ user_id: bob.user!.id, name: 'Bob', role: 'editor' })
    expect((await members(bob)).members.find((m: any) => m.user_id === bob.user!.id).role).toBe('editor')

    expect((await owner.request('DELETE', `/projects/${projectId}/members/${bob.user!.id}`)).status).toBe(204)
    expect((await members()).members.map((m: any) => m.name)).toEqual(['Owner'])
    expect((await bob.get(`/projects/${projectId}`)).status).toBe(404)
    expect((await owner.request('DELETE', `/projects/${projectId}/members/${bob.user!.id}`)).status).toBe(404)
  })

  it('an unknown email answers exactly like a known one, and the invitation is honoured at sign-up', async () => {
    const email = `dora-${ulid().toLowerCase()}@example.com`
    const known = await owner.post(`/projects/${projectId}/members`, { email: carol.user!.email, role: 'editor' })
    const unknown = await owner.post(`/projects/${projectId}/members`, { email, role: 'editor' })
    expect(unknown.status).toBe(known.status)
    expect(Object.keys(unknown.body).sort()).toEqual(Object.keys(known.body).sort())
    expect((await members()).invitations).toEqual([{ email, role: 'editor', created_at: expect.any(String) }])

    const dora = await new Api(server.url).signup('Dora', email)
    expect((await dora.get(`/projects/${projectId}`)).body).toMatchObject({ id: projectId, role: 'editor' })
    const after = await members()
    expect(after.invitations).toEqual([])
    expect(after.members.find((m: any) => m.user_id === dora.user!.id)).toMatchObject({ name: 'Dora', role: 'editor' })
  })

  it('only the owner changes members; strangers get 404; bad bodies are a 400 naming the field', async () => {
    // Carol is an editor by now: she may read the list but not change it.
    expect((await carol.get(`/projects/${projectId}/members`)).status).toBe(200)
    const refused = await carol.post(`/projects/${projectId}/members`, { email: bob.user!.email, role: 'viewer' })
    expect(refused.status).toBe(403)
    expect((await carol.request('DELETE', `/projects/${projectId}/members/${carol.user!.id}`)).status).toBe(403)
    expect((await bob.get(`/projects/${projectId}/members`)).status).toBe(404)
    const bad = await owner.post(`/projects/${projectId}/members`, { email: 'nope', role: 'boss' })
    expect(bad.status).toBe(400)
    expect(Object.keys(bad.body.error.fields).sort()).toEqual(['email', 'role'])
    const badRole = await owner.request('PATCH', `/projects/${projectId}/members/${carol.user!.id}`, { role: 'owner' })
    expect(badRole.status).toBe(400)
  })

  it('the owner withdraws an open invitation (any case of the email); signing up with it then gives no access', async () => {
    const email = `erin-${ulid().toLowerCase()}@example.com`
    expect((await owner.post(`/projects/${projectId}/members`, { email: email.toUpperCase(), role: 'editor' })).status).toBe(201)
    expect((await members()).invitations.map((i: any) => i.email)).toEqual([email])

    const withdrawn = await owner.request('DELETE', `/projects/${projectId}/invitations/${encodeURIComponent(email.replace('erin', 'Erin'))}`)
    expect(withdrawn.status, JSON.stringify(withdrawn.body)).toBe(204)
    expect((await members()).invitations).toEqual([])
    const again = await owner.request('DELETE', `/projects/${projectId}/invitations/${email}`)
    expect(again.status).toBe(404)
    expect(again.body).toEqual({ error: { code: 'not_found', message: expect.stringContaining(`no open invitation for ${email}`) } })

    const erin = await new Api(server.url).signup('Erin', email)
    expect((await erin.get('/projects')).body.projects).toEqual([])
    expect((await erin.get(`/projects/${projectId}`)).status).toBe(404)
    const after = await members()
    expect(after.invitations).toEqual([])
    expect(after.members.map((m: any) => m.user_id)).not.toContain(erin.user!.id)
  })

  it('only the owner withdraws: others are answered exactly as when removing a member; a malformed email is a 400', async () => {
    const dan = await asUser(server.url, 'Dan')
    const id: string = (await owner.post('/projects', { name: 'Invites', repo_url: await makeRepo() })).body.id
    await owner.post(`/projects/${id}/members`, { email: bob.user!.email, role: 'viewer' })
    await owner.post(`/projects/${id}/members`, { email: carol.user!.email, role: 'editor' })
    const email = `fay-${ulid().toLowerCase()}@example.com`
    await owner.post(`/projects/${id}/members`, { email, role: 'viewer' })

    for (const [who, as, status] of [['viewer', bob, 403], ['editor', carol, 403], ['stranger', dan, 404]] as const) {
      const withdraw = await as.request('DELETE', `/projects/${id}/invitations/${email}`)
      const remove = await as.request('DELETE', `/projects/${id}/members/${owner.user!.id}`)
      expect(withdraw.status, who).toBe(status)
      expect(withdraw.body, who).toEqual(remove.body)
    }
    expect((await owner.get(`/projects/${id}/members`)).body.invitations.map((i: any) => i.email)).toEqual([email])

    const bad = await owner.request('DELETE', `/projects/${id}/invitations/not-an-email`)
    expect(bad.status).toBe(400)
    expect(bad.body.error).toMatchObject({ code: 'invalid_body', fields: { email: ['email must be a valid address'] } })
  })

  it("a removed member's open room loses the spec at once: out of the room, told so, and refused on rejoin", async () => {
    await owner.post(`/projects/${projectId}/members`, { email: bob.user!.email, role: 'viewer' })
    const specId = (await owner.post('/specs', { project_id: projectId, title: 'Watched', description: 'x' })).body.id
    const socket = connect(server.url, { token: bob.token })
    sockets.push(socket)
    await connected(socket)
    expect((await ask(socket, 'spec:join', { spec_id: specId })).ok).toBe(true)
    const revoked: unknown[] = []
    ;(socket as any).on('spec:access_revoked', (p: unknown) => revoked.push(p))

    expect((await owner.request('DELETE', `/projects/${projectId}/members/${bob.user!.id}`)).status).toBe(204)
    await waitFor(() => revoked.length > 0, { what: 'spec:access_revoked' })
    expect(revoked).toEqual([{ spec_id: specId }])
    const rooms = await server.io.of('/').in(`spec:${specId}`).fetchSockets()
    expect(rooms.map((s) => s.data.user.id)).not.toContain(bob.user!.id)
    const again = await ask(socket, 'spec:join', { spec_id: specId })
    expect(again).toMatchObject({ ok: false, error: { code: 'not_found' } })
  })
})
