import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectUrl, type Database } from '../../src/db/connect.ts'
import { asUser } from '../support/api.ts'
import { ownerOf as clusterOwnerOf, TestCluster } from '../support/cluster.ts'
import { startCutProxy, type CutProxy } from '../support/cut-proxy.ts'
import { freshDatabase } from '../support/db.ts'
import { startFakeModel, type FakeModel } from '../support/fake-model.ts'
import { forSpec, startModelGate, type ModelGate } from '../support/model-gate.ts'
import { launchSpec, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { runningSandbox, sandboxesOf } from '../support/stack.ts'
import { waitFor } from '../support/wait.ts'

/**
 * One node of a cluster cut off from the database alone, past its leases: another node takes its spec over and goes
 * on with it. When the cut node reaches the database again, it must not judge the sandboxes by the copy it still holds
 * (reconcile, src/server.ts): that copy never saw the new owner's sandbox and would end it. PostgreSQL only.
 */
const enabled = !!process.env.DATABASE_URL
/** How long the cut node is given to act on its stale copy before the test lets its lease renewal through. */
const STALE_WINDOW_MS = 3_000

let database: Database
let model: FakeModel
let gate: ModelGate
let node1Db: CutProxy
let cluster: TestCluster

beforeAll(async () => {
  if (!enabled) return
  ;[database, model] = await Promise.all([freshDatabase(), startFakeModel({ skipBadSubmit: true })])
  gate = await startModelGate(model.url)
  node1Db = await startCutProxy(database.url)
  cluster = await TestCluster.start(
    2,
    { DATABASE_URL: database.url, ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: gate.url },
    { nodeEnv: { 'node-1': { DATABASE_URL: node1Db.url, OMOI_LOG_LEVEL: 'info' } } },
  )
}, 120_000)

afterAll(async () => {
  await cluster?.stop()
  await node1Db?.close()
  await gate?.close()
  await model?.close()
  await database?.close()
})

/** Lines node-1 logged with this message so far. */
const node1Logged = (msg: string) =>
  cluster
    .node('node-1')
    .process.output()
    .split('\n')
    .filter((line) => line.includes(`"msg":"${msg}"`))

describe('a node cut off from the database alone', () => {
  it.skipIf(!enabled)("leaves the new owner's sandbox running when it is back", async () => {
    const title = 'Cut off mid-phase'
    const exploring = gate.hold((r) => forSpec(title)(r) && r.submitTool === 'submit_exploration', 1)
    const requirements = gate.hold((r) => forSpec(title)(r) && r.submitTool === 'submit_requirements', 1)
    const owner = await asUser(cluster.node('node-1').url, 'Owner')
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    const specId = await launchSpec(owner, project.id, title)
    await exploring.first()
    expect(await clusterOwnerOf(database.sql, specId)).toBe('node-1')

    // node-1 loses the database; the load balancer keeps sending it nothing (as a health check would)
    node1Db.cut()
    cluster.node('node-1').serving = false
    await waitFor(async () => (await clusterOwnerOf(database.sql, specId)) === 'node-2', { timeoutMs: 40_000, what: 'node-2 to take the spec over' })
    exploring.release()
    await requirements.first()
    const taken = await runningSandbox(database.sql, specId, { phase: 'requirements' })

    // node-1 comes back with its lease renewal held: whatever it does from its stale copy, it does now
    let unlock = () => {}
    let lockTaken = () => {}
    const taking = new Promise<void>((resolve) => (lockTaken = resolve))
    // a connection of its own: the server's sessions end a transaction idle for 10 s, and node-1 may take longer
    const locker = connectUrl(database.url, { max: 1 })
    const locked = locker.begin(async (tx) => {
      await tx`lock table spec_actors in exclusive mode`
      lockTaken()
      await new Promise<void>((resolve) => (unlock = resolve))
    })
    await taking
    const backBefore = node1Logged('database answers again').length
    try {
      node1Db.restore()
      await waitFor(() => node1Logged('database answers again').length > backBefore, { timeoutMs: 30_000, what: 'node-1 to reach the database' })
      await new Promise((resolve) => setTimeout(resolve, STALE_WINDOW_MS))
    } finally {
      unlock()
      await locked
      await locker.end()
    }
    const reconciled = await waitFor(() => node1Logged('reconciled rows with the actors').find((l) => l.includes('after a database outage')), {
      timeoutMs: 30_000,
      what: 'node-1 to reconcile after the outage',
    })
    expect(reconciled).toContain('"sandboxes_ended":0')
    const row = (await sandboxesOf(database.sql, specId)).find((s) => s.id === taken.id)!
    expect(row.status, `${row.id} ended by node-1: ${row.end_reason ?? ''}`).not.toBe('ended')

    requirements.release()
    const done = await waitForStatus(owner, specId, ['completed', 'failed'], 90_000)
    expect(done.status).toBe('completed')
    const requirementSandboxes = (await sandboxesOf(database.sql, specId)).filter((s) => s.phase === 'requirements')
    expect(requirementSandboxes.map((s) => s.id)).toEqual([taken.id])
  }, 180_000)
})
