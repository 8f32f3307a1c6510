import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/connect.ts'
import { hashToken } from '../../src/ids.ts'
import { Api, asUser } from '../support/api.ts'
import { ownerOf as clusterOwnerOf, TestCluster } from '../support/cluster.ts'
import { freshDatabase } from '../support/db.ts'
import { startFakeModel, type FakeModel } from '../support/fake-model.ts'
import { allEvents, launchSpec, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'

/**
 * A node that wakes after losing a spec's lease still holds its old copy until its next renewal. What it would answer
 * from that copy alone must come from the new owner instead: a command the copy refuses (it still waits for the
 * requirements' approval) but the owner accepts (it has moved on to the design's), and a sandbox's assignment.
 * PostgreSQL only (a cluster needs it).
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

/**
 * A spec launched on node-1 and waiting for the requirements' approval; node-1 is stopped past its lease, node-2 takes
 * the spec over to apply that approval, and the design phase runs there until it waits for approval too. `whileStopped`
 * runs then. node-1 is woken with every lease write held back (its renewal, which would drop the stale copy, waits;
 * reads go on): call `release()` to let them through.
 */
async function staleCopyOnNode1(title: string, whileStopped: (specId: string) => Promise<void> = async () => {}) {
  const project = (await owner.post('/projects', { name: title, repo_url: await makeRepo() })).body
  const specId = await launchSpec(on('node-1'), project.id, title, { approval: 'manual' })
  expect(await waitForStatus(owner, specId, ['awaiting_approval', 'failed'])).toMatchObject({ status: 'awaiting_approval', current_phase: 'requirements' })
  expect(await ownerOf(specId)).toBe('node-1')
  cluster.pause('node-1')
  let unlock = () => {}
  let locked: Promise<unknown>
  try {
    const approved = await on('node-2').post(`/specs/${specId}/approve`, { phase: 'requirements' })
    expect(approved.status, JSON.stringify(approved.body)).toBe(200)
    expect(await ownerOf(specId)).toBe('node-2')
    // (through node-2 itself: the load balancer would send every other request to the stopped node)
    expect(await waitForStatus(on('node-2'), specId, ['awaiting_approval', 'failed'])).toMatchObject({ status: 'awaiting_approval', current_phase: 'design' })
    await whileStopped(specId)
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
  return {
    specId,
    release: async () => {
      unlock()
      await locked
    },
  }
}

describe('a node whose copy of the spec is stale', () => {
  it.skipIf(!enabled)('hands a command it would refuse to the node that took the spec over', async () => {
    const { specId, release } = await staleCopyOnNode1('Stale command')
    // node-1's copy still waits for the requirements' approval: on the old code it answered 409 at once
    const answer = on('node-1').post(`/specs/${specId}/approve`, { phase: 'design' })
    const early = await Promise.race([answer, new Promise((resolve) => setTimeout(resolve, STALE_ANSWER_WINDOW_MS, null))])
    await release()
    const res = await answer
    expect(early, 'node-1 answered from its stale copy').toBeNull()
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body).toMatchObject({ spec_id: specId, status: 'executing' })
    expect(await ownerOf(specId)).toBe('node-2')
    const designApprovals = (await allEvents(on('node-2'), specId)).filter((e) => e.type === 'spec.approved' && e.data.phase === 'design')
    expect(designApprovals).toHaveLength(1)
  }, 120_000)

  it.skipIf(!enabled)("answers a sandbox's assignment from the owner, not from the stale copy", async () => {
    const token = randomBytes(24).toString('hex')
    const sandboxId = `sbx_stale_${Date.now()}`
    const { release } = await staleCopyOnNode1('Stale assignment', async (specId) => {
      // a design sandbox row as node-2's runner would have it (its token known to the test)
      await database.sql`insert into sandboxes (id, spec_id, kind, phase, attempt, token_hash, status, provider)
        values (${sandboxId}, ${specId}, 'phase', 'design', 1, ${hashToken(token)}, 'running', 'local')`
    })
    const asSandbox = (nodeId: string) => Object.assign(new Api(cluster.node(nodeId).url), { token })
    try {
      const fromOwner = await asSandbox('node-2').get(`/sandboxes/${sandboxId}/assignment`)
      const fromStale = await asSandbox('node-1').get(`/sandboxes/${sandboxId}/assignment`)
      expect(fromOwner.status, JSON.stringify(fromOwner.body)).toBe(200)
      expect(fromStale.status, JSON.stringify(fromStale.body)).toBe(200)
      // node-1's copy never saw the design phase's submission: on the old code it answered 0 used
      expect(fromStale.body.submissions_used, 'node-1 answered from its stale copy').toBe(fromOwner.body.submissions_used)
      expect(fromStale.body.deadline).toBe(fromOwner.body.deadline)
    } finally {
      await release()
    }
  }, 120_000)
})
