import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/connect.ts'
import type { PresenceDelta } from '../../src/sockets/types.ts'
import { asUser, type Api } from '../support/api.ts'
import { TestCluster } from '../support/cluster.ts'
import { freshDatabase } from '../support/db.ts'
import { makeRepo } from '../support/repo.ts'
import { ask, Collector, connect, connected, type TestSocket } from '../support/socket-client.ts'

/**
 * A node dies (SIGKILL) while people watch a spec on it and on another node: joins on the surviving node keep working at
 * once, and the dead node's viewers leave presence within the takeover bound (15 s). PostgreSQL only.
 */
const enabled = !!process.env.DATABASE_URL

let database: Database
let cluster: TestCluster
let owner: Api
const sockets: TestSocket[] = []

beforeAll(async () => {
  if (!enabled) return
  database = await freshDatabase()
  cluster = await TestCluster.start(2, { DATABASE_URL: database.url })
  owner = await asUser(cluster.url, 'Owner')
}, 120_000)

afterAll(async () => {
  for (const s of sockets) s.disconnect()
  await cluster?.stop()
  await database?.close()
})

describe('a node dying under its viewers', () => {
  it.skipIf(!enabled)('joins on the survivor never fail, and the dead node’s viewers leave presence within 15 s', async () => {
    const other = await asUser(cluster.url, 'Other')
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    await owner.post(`/projects/${project.id}/members`, { email: other.user!.email, role: 'viewer' })
    const specId = (await owner.post('/specs', { project_id: project.id, title: 'Watched', description: 'by two' })).body.id

    const onSurvivor = connect(cluster.node('node-1').url, { token: owner.token! })
    const onDoomed = connect(cluster.node('node-2').url, { token: other.token! })
    sockets.push(onSurvivor, onDoomed)
    await Promise.all([connected(onSurvivor), connected(onDoomed)])
    const deltas = new Collector<PresenceDelta>(onSurvivor, 'spec:presence', (p) => p.spec_id === specId)
    await ask(onSurvivor, 'spec:join', { spec_id: specId, batch: true })
    await ask(onDoomed, 'spec:join', { spec_id: specId, batch: true })
    await deltas.until((items) => items.some((d) => d.count === 2), 'the other viewer on node-2')

    await cluster.kill('node-2')
    // a join right after the death is answered (not `internal`), from whatever the survivor can read
    const again = connect(cluster.node('node-1').url, { token: owner.token! })
    sockets.push(again)
    await connected(again)
    const answer = await ask(again, 'spec:join', { spec_id: specId })
    expect(answer.ok, JSON.stringify(answer)).toBe(true)

    // within the takeover bound: the adapter drops a silent node after 4 s, the survivor re-reads its lists every 3 s
    await deltas.until((items) => items.some((d) => d.left.some((v) => v.user_id === other.user!.id)), 'the dead node’s viewer to leave', 15_000)
  }, 120_000)
})
