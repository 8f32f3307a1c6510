import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/connect.ts'
import { hashToken } from '../../src/ids.ts'
import { Api, asUser } from '../support/api.ts'
import { TestCluster } from '../support/cluster.ts'
import { freshDatabase } from '../support/db.ts'
import { startFakeModel, type FakeModel } from '../support/fake-model.ts'
import { launchSpec, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'

/**
 * Review of 38509ed: the same stale-copy problem as the 409, in a read. A node that woke after losing a spec's lease
 * answers a sandbox's assignment from its stale copy until its next renewal; the new owner's answer differs (here:
 * submissions used in the design phase; for a task the stale copy answers 404 "not part of this spec"). PostgreSQL only.
 */
const enabled = !!process.env.DATABASE_URL

let database: Database
let model: FakeModel
let cluster: TestCluster
let owner: Api

beforeAll(async () => {
  if (!enabled) return
  ;[database, model] = await Promise.all([freshDatabase(), startFakeModel({ skipBadSubmit: true })])
  cluster = await TestCluster.start(2, { DATABASE_URL: database.url, ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: model.url })
  owner = await asUser(cluster.url, 'Owner')
}, 120_000)

afterAll(async () => {
  await cluster?.stop()
  await model?.close()
  await database?.close()
})

const ownerOf = async (specId: string) =>
  (await database.sql<{ owner_node: string }[]>`select owner_node from spec_actors where spec_id = ${specId}`)[0]!.owner_node
const on = (nodeId: string) => Object.assign(new Api(cluster.node(nodeId).url), { token: owner.token, user: owner.user })
const asSandbox = (nodeId: string, token: string) => Object.assign(new Api(cluster.node(nodeId).url), { token })

describe('a sandbox asking a node whose copy of the spec is stale for its assignment', () => {
  it.skipIf(!enabled)('gets the owner’s answer, not one drawn from the stale copy', async () => {
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    const specId = await launchSpec(on('node-1'), project.id, 'Stale assignment', { approval: 'manual' })
    expect(await waitForStatus(owner, specId, ['awaiting_approval', 'failed'])).toMatchObject({ status: 'awaiting_approval', current_phase: 'requirements' })
    expect(await ownerOf(specId)).toBe('node-1')

    cluster.pause('node-1')
    let unlock = () => {}
    let locked: Promise<unknown> | undefined
    const token = randomBytes(24).toString('hex')
    const sandboxId = `sbx_review_${Date.now()}`
    try {
      expect((await on('node-2').post(`/specs/${specId}/approve`, { phase: 'requirements' })).status).toBe(200)
      expect(await waitForStatus(on('node-2'), specId, ['awaiting_approval', 'failed'])).toMatchObject({ status: 'awaiting_approval', current_phase: 'design' })
      // a design sandbox row as node-2's runner would have it (its token known to the test)
      await database.sql`insert into sandboxes (id, spec_id, kind, phase, attempt, token_hash, status, provider)
        values (${sandboxId}, ${specId}, 'phase', 'design', 1, ${hashToken(token)}, 'running', 'local')`
      // node-1's renewal (which would drop its stale copy) waits; reads go on
      const held = new Promise<void>((resolve) => (unlock = resolve))
      let lockTaken = () => {}
      const taken = new Promise<void>((resolve) => (lockTaken = resolve))
      locked = database.sql.begin(async (tx) => {
        await tx`lock table spec_actors in exclusive mode`
        lockTaken()
        await held
      })
      await taken
    } finally {
      cluster.resume('node-1')
    }
    try {
      const fromOwner = await asSandbox('node-2', token).get(`/sandboxes/${sandboxId}/assignment`)
      const fromStale = await asSandbox('node-1', token).get(`/sandboxes/${sandboxId}/assignment`)
      expect(fromOwner.status, JSON.stringify(fromOwner.body)).toBe(200)
      expect(fromStale.status, JSON.stringify(fromStale.body)).toBe(200)
      expect(fromStale.body.submissions_used, 'node-1 answered from its stale copy').toBe(fromOwner.body.submissions_used)
      expect(fromStale.body.deadline).toBe(fromOwner.body.deadline)
    } finally {
      unlock()
      await locked
    }
  }, 120_000)
})
