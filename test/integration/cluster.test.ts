import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgres, type Database } from '../../src/db/connect.ts'
import { ulid } from '../../src/ids.ts'
import { Api, asUser } from '../support/api.ts'
import { freshDatabase } from '../support/db.ts'
import { startFakeModel, type FakeModel } from '../support/fake-model.ts'
import { allEvents } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { ask, Collector, connect, connectAdmin, connected, SpecView } from '../support/socket-client.ts'
import type { Presence, PresenceDelta } from '../../src/sockets/types.ts'

/** Two nodes on one PostgreSQL with OMOI_CLUSTER=postgres (CI sets DATABASE_URL; embedded PGlite is one node). */
const enabled = !!process.env.DATABASE_URL
const adminEmail = `admin-${ulid().toLowerCase()}@example.com`

let database: Database
let secondConnection: Database
let model: FakeModel
let nodeA: TestServer
let nodeB: TestServer

beforeAll(async () => {
  if (!enabled) return
  ;[database, model] = await Promise.all([freshDatabase(), startFakeModel({ delayMs: 60 })])
  secondConnection = await openPostgres(database.url)
  const env = {
    ANTHROPIC_API_KEY: 'test-key',
    ANTHROPIC_BASE_URL: model.url,
    OMOI_MODEL: 'claude-sonnet-4-5',
    OMOI_CLUSTER: 'postgres',
    DATABASE_URL: database.url,
    OMOI_ADMIN_EMAILS: adminEmail,
  }
  nodeA = await startTestServer({ ...env, OMOI_NODE_ID: 'node-a' }, { database })
  nodeB = await startTestServer({ ...env, OMOI_NODE_ID: 'node-b' }, { database: secondConnection })
})
afterAll(async () => {
  await nodeA?.close()
  await nodeB?.close()
  await model?.close()
  await secondConnection?.close()
  await database?.close()
})

describe('two nodes with the postgres adapter', () => {
  it.skipIf(!enabled)('a viewer on node B sees every event of a spec whose actor runs on node A, and who watches on A', async () => {
    const owner = await asUser(nodeA.url, 'Owner')
    const member = await asUser(nodeA.url, 'Member')
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    await owner.post(`/projects/${project.id}/members`, { email: member.user!.email, role: 'viewer' })
    const specId = (await owner.post('/specs/launch', { project_id: project.id, title: 'Clustered', description: 'two nodes' })).body.spec_id
    expect(nodeA.host.has(specId)).toBe(true)
    expect(nodeB.host.has(specId)).toBe(false)

    const onA = connect(nodeA.url, { token: owner.token! })
    const onB = connect(nodeB.url, { token: member.token! })
    await Promise.all([connected(onA), connected(onB)])
    await new SpecView(onA, specId).join()
    const view = new SpecView(onB, specId)
    const joined = await view.join()
    expect(joined.viewers.map((v) => v.name).sort()).toEqual(['Member', 'Owner'])

    const admin = connectAdmin(nodeB.url, { token: (await new Api(nodeB.url).signup('Admin', adminEmail)).token! })
    await connected(admin)
    const actors = await ask(admin, 'actors:list')
    expect(actors.find((a: { spec_id: string }) => a.spec_id === specId)).toMatchObject({ node: 'node-a' })

    await view.waitForType('spec.execution_completed', 60_000)
    expect(view.stream).toEqual(await view.settle(() => allEvents(owner, specId)))
    for (const s of [onA, onB, admin]) s.disconnect()
  }, 90_000)

  it.skipIf(!enabled)('tells batch viewers on node B who joins and leaves on node A, as deltas; full lists to the others', async () => {
    const owner = await asUser(nodeA.url, 'Owner')
    const member = await asUser(nodeA.url, 'Member')
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    await owner.post(`/projects/${project.id}/members`, { email: member.user!.email, role: 'viewer' })
    const specId = (await owner.post('/specs', { project_id: project.id, title: 'Who watches', description: 'two nodes' })).body.id

    const [batchOnB, fullOnB, memberOnA] = [connect(nodeB.url, { token: owner.token! }), connect(nodeB.url, { token: owner.token! }), connect(nodeA.url, { token: member.token! })]
    await Promise.all([batchOnB, fullOnB, memberOnA].map((s) => connected(s)))
    const deltas = new Collector<PresenceDelta>(batchOnB, 'spec:presence', (p) => p.spec_id === specId)
    const lists = new Collector<Presence>(fullOnB, 'spec:presence', (p) => p.spec_id === specId)
    expect((await ask(batchOnB, 'spec:join', { spec_id: specId, batch: true })).viewers.map((v: { name: string }) => v.name)).toEqual(['Owner'])
    await ask(fullOnB, 'spec:join', { spec_id: specId })
    await ask(memberOnA, 'spec:join', { spec_id: specId, batch: true })
    const memberSeen = { user_id: member.user!.id, name: 'Member' }
    await deltas.until((items) => items.some((d) => d.joined.some((v) => v.user_id === memberSeen.user_id) && d.count === 2), 'the member joining on A')
    await lists.until((items) => items.some((p) => p.viewers.length === 2), 'the full list with the member')
    memberOnA.disconnect()
    await deltas.until((items) => items.some((d) => d.left.some((v) => v.user_id === memberSeen.user_id) && d.count === 1), 'the member leaving on A')
    expect(deltas.items.every((d) => 'joined' in d && !('viewers' in d))).toBe(true)
    for (const s of [batchOnB, fullOnB]) s.disconnect()
  }, 60_000)
})
