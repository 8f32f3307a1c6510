import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/connect.ts'
import { asUser, type Api } from '../support/api.ts'
import { ownerOf as clusterOwnerOf, TestCluster } from '../support/cluster.ts'
import { freshDatabase } from '../support/db.ts'
import { startFakeModel, type FakeModel } from '../support/fake-model.ts'
import { allEvents, launchSpec, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'

/**
 * A node that wakes after losing a spec's lease still holds its old copy until its next renewal. A command that copy
 * refuses (it is still waiting for the requirements' approval) but the new owner accepts (it has moved on to the
 * design's) must reach the new owner, not be answered 409 from the stale copy. PostgreSQL only (a cluster needs it).
 */
const enabled = !!process.env.DATABASE_URL
/** How long the stale node is given to answer on its own before the test lets the owner's write through. */
const STALE_ANSWER_WINDOW_MS = 3_000

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

const ownerOf = (specId: string) => clusterOwnerOf(database.sql, specId)
/** The same person's client on one node (not through the load balancer). */
const on = (nodeId: string) => cluster.on(nodeId, owner)

describe('a command reaching a node whose copy of the spec is stale', () => {
  it.skipIf(!enabled)('is handed to the node that took the spec over, not refused from the stale copy', async () => {
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    const specId = await launchSpec(on('node-1'), project.id, 'Stale copy', { approval: 'manual' })
    expect(await waitForStatus(owner, specId, ['awaiting_approval', 'failed'])).toMatchObject({ status: 'awaiting_approval', current_phase: 'requirements' })
    expect(await ownerOf(specId)).toBe('node-1')

    // node-1 stops past its lease; node-2 takes the spec over to apply the approval, and the design phase runs there
    cluster.pause('node-1')
    let locked: Promise<unknown> | undefined
    let unlock = () => {}
    try {
      const approved = await on('node-2').post(`/specs/${specId}/approve`, { phase: 'requirements' })
      expect(approved.status, JSON.stringify(approved.body)).toBe(200)
      expect(await ownerOf(specId)).toBe('node-2')
      // (through node-2 itself: the load balancer would send every other request to the stopped node)
      expect(await waitForStatus(on('node-2'), specId, ['awaiting_approval', 'failed'])).toMatchObject({ status: 'awaiting_approval', current_phase: 'design' })

      // No lease write goes through until the stale node has answered: its renewal (which would find the lease gone) waits.
      // Reads go on, so node-1 can still look up who holds the claim.
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

    // node-1's copy still waits for the requirements' approval: on the old code it answered 409 at once
    const answer = on('node-1').post(`/specs/${specId}/approve`, { phase: 'design' })
    const early = await Promise.race([answer, new Promise((resolve) => setTimeout(resolve, STALE_ANSWER_WINDOW_MS, null))])
    unlock()
    await locked
    const res = await answer
    expect(early, 'node-1 answered from its stale copy').toBeNull()
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body).toMatchObject({ spec_id: specId, status: 'executing' })
    expect(await ownerOf(specId)).toBe('node-2')
    const designApprovals = (await allEvents(on('node-2'), specId)).filter((e) => e.type === 'spec.approved' && e.data.phase === 'design')
    expect(designApprovals).toHaveLength(1)
  }, 120_000)
})
