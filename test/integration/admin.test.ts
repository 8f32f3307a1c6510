import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ulid } from '../../src/ids.ts'
import type { ActorTransition } from '../../src/sockets/types.ts'
import { Api, asUser } from '../support/api.ts'
import type { FakeModel } from '../support/fake-model.ts'
import { startWithModel } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import type { TestServer } from '../support/server.ts'
import { ask, Collector, connectAdmin, connected, refused, type AdminTestSocket } from '../support/socket-client.ts'

let server: TestServer
let model: FakeModel
let admin: Api
let user: Api
const sockets: AdminTestSocket[] = []
const adminEmail = `admin-${ulid().toLowerCase()}@example.com`

const open = (token?: string) => {
  const socket = connectAdmin(server.url, token ? { token } : {})
  sockets.push(socket)
  return socket
}

beforeAll(async () => {
  ;({ server, model } = await startWithModel({ delayMs: 60 }, { OMOI_ADMIN_EMAILS: adminEmail }))
  ;[admin, user] = await Promise.all([new Api(server.url).signup('Admin', adminEmail), asUser(server.url, 'User')])
})
afterAll(async () => {
  for (const s of sockets) s.disconnect()
  await server?.stop()
  await model?.close()
})

describe('the /admin namespace', () => {
  it('refuses anyone but an admin at the handshake', async () => {
    expect(admin.user!.role).toBe('admin')
    expect((await refused(open(user.token))).message).toBe('forbidden')
    expect((await refused(open())).message).toBe('unauthenticated')
  })

  it('lists and inspects the live actors and streams their transitions to watchers', async () => {
    const socket = open(admin.token)
    await connected(socket)
    const transitions = new Collector<ActorTransition>(socket, 'actor:transition')
    // as the web app does: the ack alone, no payload
    expect(await ask(socket, 'actors:watch')).toEqual({ ok: true })

    const project = (await user.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    const specId = (await user.post('/specs/launch', { project_id: project.id, title: 'Watched', description: 'watch me' })).body.spec_id
    const seen = await transitions.until((items) => items.filter((t) => t.spec_id === specId).length >= 2, 'two transitions of the spec')
    for (const t of seen.filter((t) => t.spec_id === specId)) {
      expect(t).toEqual({ spec_id: specId, from: expect.any(String), to: expect.any(String), event: expect.any(String), at: expect.any(String) })
      expect(t.from).not.toBe(t.to)
    }

    const actors = await ask(socket, 'actors:list')
    expect(Array.isArray(actors)).toBe(true)
    expect(actors.find((a: { spec_id: string }) => a.spec_id === specId)).toEqual({
      spec_id: specId,
      state: expect.any(String),
      status: 'executing',
      node: server.host.nodeId,
      sandbox_id: expect.toSatisfy((id: unknown) => id === null || String(id).startsWith('sbx_')),
      started_at: expect.any(String),
      last_transition_at: expect.any(String),
    })

    const inspection = await ask(socket, 'actor:inspect', { spec_id: specId })
    expect(inspection).toMatchObject({ live_snapshot: expect.any(Object), persisted_snapshot: expect.any(Object), persisted_version: expect.any(Number) })
    expect(inspection.recent_events.length).toBeGreaterThan(0)
    expect(await ask(socket, 'actor:inspect', { spec_id: 'spec_unknown' })).toMatchObject({ ok: false, error: { code: 'not_found' } })
    expect(await ask(socket, 'actor:inspect', {})).toMatchObject({ ok: false, error: { code: 'invalid_body' } })

    expect((await user.post(`/specs/${specId}/cancel`)).status).toBe(200)
    await transitions.until((items) => items.some((t) => t.spec_id === specId && /cancel/.test(t.to)), 'the cancellation transition')
  })
})
