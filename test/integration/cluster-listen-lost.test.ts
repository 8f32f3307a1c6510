import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgres, type Database } from '../../src/db/connect.ts'
import { asUser } from '../support/api.ts'
import { freshDatabase } from '../support/db.ts'
import { startFakeModel, type FakeModel } from '../support/fake-model.ts'
import { allEvents, launchSpec, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { ask, Collector, connect, connected, SpecView } from '../support/socket-client.ts'
import { freePort } from '../support/stack.ts'
import { waitFor } from '../support/wait.ts'

/**
 * A node whose LISTEN connection is being re-established (the database restarted it, a network blip, an idle-connection
 * killer): the adapter reconnects in 1–3 s, and whatever was NOTIFYed meanwhile never reaches that node. A removed
 * member's socket and a logged-out session's socket on that node must still be cut, not left for as long as they stay
 * connected; a viewer there must still get a spec's last events and state; and the node must still shut down.
 */
const enabled = !!process.env.DATABASE_URL

let database: Database
let secondConnection: Database
let model: FakeModel
let nodeA: TestServer
let nodeB: TestServer | undefined

beforeAll(async () => {
  if (!enabled) return
  ;[database, model] = await Promise.all([freshDatabase(), startFakeModel({ delayMs: 60 })])
  secondConnection = await openPostgres(database.url)
  const env = { OMOI_CLUSTER: 'postgres', DATABASE_URL: database.url, ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: model.url }
  nodeB = await startTestServer({ ...env, OMOI_NODE_ID: 'node-b', PORT: String(await freePort()) }, { database: secondConnection })
  nodeA = await startTestServer({ ...env, OMOI_NODE_ID: 'node-a', OMOI_SANDBOX_ISOLATION: 'none' }, { database })
})
afterAll(async () => {
  await Promise.all([nodeA?.close(), nodeB?.close()])
  await model?.close()
  await secondConnection?.close()
  await database?.close()
})

/** The nodes' LISTEN connections (this file's database only: other files run their own clusters beside it). */
const LISTENING = `datname = current_database() and application_name = 'omoi-sockets' and query ilike 'LISTEN%'`
/** Ends the nodes' LISTEN connections, as a database restart would; the adapter re-establishes each 1–3 s later. */
async function cutListeners(): Promise<void> {
  const cut = await database.sql.unsafe<{ pid: number }[]>(`select pid, pg_terminate_backend(pid) from pg_stat_activity where ${LISTENING}`)
  expect(cut.length).toBeGreaterThan(0)
  // gone: from now until the adapter reconnects (1 s at the soonest), nothing NOTIFYed reaches the nodes
  const pids = cut.map((c) => c.pid)
  await waitFor(async () => (await database.sql`select 1 from pg_stat_activity where pid = any(${pids})`).length === 0, {
    what: 'the LISTEN connections to end',
  })
}

describe('a node that missed what was NOTIFYed while it reconnected', () => {
  it.skipIf(!enabled)('still takes the member’s socket on that node out of the spec’s room', async () => {
    const owner = await asUser(nodeA.url, 'Owner')
    const member = await asUser(nodeA.url, 'Member')
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    await owner.post(`/projects/${project.id}/members`, { email: member.user!.email, role: 'viewer' })
    const specId = (await owner.post('/specs', { project_id: project.id, title: 'Members only', description: 'two nodes' })).body.id

    const memberOnB = connect(nodeB!.url, { token: member.token! })
    try {
      await connected(memberOnB)
      const revoked = new Collector<{ spec_id: string }>(memberOnB, 'spec:access_revoked', (r) => r.spec_id === specId)
      expect((await ask(memberOnB, 'spec:join', { spec_id: specId })).ok).toBe(true)

      await cutListeners()
      const removal = await owner.request('DELETE', `/projects/${project.id}/members/${member.user!.id}`)
      expect(removal.status).toBe(204)

      await revoked.until((items) => items.length === 1, 'the member’s socket on B told its access ended', 15_000)
    } finally {
      memberOnB.disconnect()
    }
  }, 60_000)

  it.skipIf(!enabled)('still cuts the logged-out session’s socket on that node', async () => {
    const user = await asUser(nodeA.url, 'Leaver')
    const onB = connect(nodeB!.url, { token: user.token! })
    try {
      await connected(onB)
      const gone = new Promise<string>((resolve) => onB.once('disconnect', (reason) => resolve(reason)))
      await cutListeners()
      expect((await user.post('/auth/logout')).status).toBe(204)
      expect(await gone).toBe('io server disconnect')
    } finally {
      onB.disconnect()
    }
  }, 60_000)

  it.skipIf(!enabled)('still sends a viewer on that node the spec’s last events and state, with no later event to reveal the gap', async () => {
    const owner = await asUser(nodeA.url, 'Owner')
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    const specId = await launchSpec(owner, project.id, 'Watched from B', { approval: 'manual' })
    await waitForStatus(owner, specId, ['awaiting_approval'], 60_000)
    const onB = connect(nodeB!.url, { token: owner.token! })
    try {
      await connected(onB)
      const view = new SpecView(onB, specId, { batch: true })
      const states = new Collector<{ id: string; status: string }>(onB, 'spec:state', (s) => s.id === specId)
      await view.join()
      await cutListeners()
      // the spec's last words, relayed while node B cannot hear: cancelled, it writes nothing more
      expect((await owner.post(`/specs/${specId}/cancel`)).body).toMatchObject({ status: 'cancelled' })
      await view.waitForType('spec.cancelled', 20_000)
      expect(view.stream).toEqual(await view.settle(() => allEvents(owner, specId)))
      await states.until((items) => items.at(-1)?.status === 'cancelled', 'the cancelled state on B', 20_000)
    } finally {
      onB.disconnect()
    }
  }, 90_000)

  it.skipIf(!enabled)('shuts down after its LISTEN connection was cut, again and again (its pool does not fill with dead connections)', async () => {
    // the pool holds 4 connections: a node that kept each dead LISTEN connection as in use stopped here for good
    for (let i = 0; i < 5; i++) {
      await cutListeners()
      // re-established: the adapter is LISTENing again
      await waitFor(
        async () => (await database.sql.unsafe(`select 1 from pg_stat_activity where ${LISTENING}`)).length >= 2,
        { timeoutMs: 20_000, what: 'both nodes to LISTEN again' },
      )
    }
    await nodeB!.close()
    nodeB = undefined
  }, 120_000)
})
