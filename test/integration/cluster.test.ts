import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { claimActors } from '../../src/db/actors.ts'
import { openPostgres, type Database } from '../../src/db/connect.ts'
import { ulid } from '../../src/ids.ts'
import { Api, asUser } from '../support/api.ts'
import { freshDatabase } from '../support/db.ts'
import { startFakeModel, type FakeModel } from '../support/fake-model.ts'
import { allEvents, launchSpec, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { ask, Collector, connect, connectAdmin, connected, SpecView } from '../support/socket-client.ts'
import type { Presence, PresenceDelta } from '../../src/sockets/types.ts'
import { forSpec, startModelGate, type ModelGate } from '../support/model-gate.ts'
import { freePort, runningSandbox, sandboxesOf } from '../support/stack.ts'
import { waitFor } from '../support/wait.ts'

/**
 * Two nodes on one PostgreSQL with OMOI_CLUSTER=postgres (CI sets DATABASE_URL; embedded PGlite is one node). Node A's
 * sandboxes call back on node B's URL, as behind one public address: B hands every callback to A, which owns the spec.
 * (So node A's sandboxes are unconfined: a bubblewrap sandbox calls back on a socket of its own data directory, and B
 * has another.)
 */
const enabled = !!process.env.DATABASE_URL
const adminEmail = `admin-${ulid().toLowerCase()}@example.com`

let database: Database
let secondConnection: Database
let model: FakeModel
let gate: ModelGate
let nodeA: TestServer
let nodeB: TestServer

beforeAll(async () => {
  if (!enabled) return
  ;[database, model] = await Promise.all([freshDatabase(), startFakeModel({ delayMs: 60 })])
  secondConnection = await openPostgres(database.url)
  gate = await startModelGate(model.url)
  const env = {
    ANTHROPIC_API_KEY: 'test-key',
    ANTHROPIC_BASE_URL: gate.url,
    OMOI_CLUSTER: 'postgres',
    DATABASE_URL: database.url,
    OMOI_ADMIN_EMAILS: adminEmail,
  }
  const portB = await freePort()
  nodeB = await startTestServer({ ...env, OMOI_NODE_ID: 'node-b', PORT: String(portB) }, { database: secondConnection })
  nodeA = await startTestServer({ ...env, OMOI_NODE_ID: 'node-a', OMOI_PUBLIC_URL: nodeB.url, OMOI_SANDBOX_ISOLATION: 'none' }, { database })
})
afterAll(async () => {
  await nodeA?.close()
  await nodeB?.close()
  await gate?.close()
  await model?.close()
  await secondConnection?.close()
  await database?.close()
})

const versionOf = async (specId: string) =>
  Number((await database.sql`select version from spec_actors where spec_id = ${specId}`)[0]!.version)

describe('two nodes with the postgres adapter', () => {
  it.skipIf(!enabled)('a viewer on node B sees every event of a spec whose actor runs on node A (its callbacks reaching A through B)', async () => {
    const owner = await asUser(nodeA.url, 'Owner')
    const member = await asUser(nodeA.url, 'Member')
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    await owner.post(`/projects/${project.id}/members`, { email: member.user!.email, role: 'viewer' })
    const specId = await launchSpec(owner, project.id, 'Clustered')
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
    expect(nodeB.host.has(specId)).toBe(false)
    for (const s of [onA, onB, admin]) s.disconnect()
  }, 90_000)

  it.skipIf(!enabled)('commands sent to the node that does not own the spec are answered by the owner; no second copy runs', async () => {
    const owner = await asUser(nodeA.url, 'Owner')
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    const specId = await launchSpec(owner, project.id, 'Steered from B', { approval: 'manual' })
    await waitForStatus(owner, specId, ['awaiting_approval'], 60_000)
    const onB = new Api(nodeB.url)
    onB.token = owner.token

    const approved = await onB.post(`/specs/${specId}/approve`, { phase: 'requirements' })
    expect(approved.status).toBe(200)
    expect(approved.body.status).toBe('executing')
    const paused = await onB.post(`/specs/${specId}/pause`)
    expect(paused.status).toBe(200)
    expect(paused.body.status).toBe('paused')
    expect(nodeA.host.stateOf(specId)).toMatch(/paused/)
    expect((await onB.post(`/specs/${specId}/pause`)).status).toBe(409)
    const cancelled = await onB.post(`/specs/${specId}/cancel`)
    expect(cancelled.body, JSON.stringify(cancelled.body)).toMatchObject({ status: 'cancelled' })

    expect(nodeB.host.has(specId)).toBe(false)
    const events = await allEvents(owner, specId)
    expect(events.filter((e) => e.type === 'spec.paused')).toHaveLength(1)
    expect(events.filter((e) => e.type === 'spec.cancelled')).toHaveLength(1)
    // the sandbox calls of the phase that ran between approve and pause also went through B
    expect(events.filter((e) => e.source === 'agent').length).toBeGreaterThan(0)
  }, 90_000)

  it.skipIf(!enabled)('a node whose lease was taken over cannot write the spec any more and stops its copy at once', async () => {
    const owner = await asUser(nodeA.url, 'Owner')
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    const specId = await launchSpec(owner, project.id, 'Fenced', { approval: 'manual' })
    await waitForStatus(owner, specId, ['awaiting_approval'], 60_000)
    expect(nodeA.host.has(specId)).toBe(true)
    const before = await versionOf(specId)

    // what a takeover does while node A is paused: another claim, a higher epoch
    await database.sql`update spec_actors set owner_node = 'node-z', epoch = epoch + 1, lease_expires_at = now() + interval '1 hour'
      where spec_id = ${specId}`
    await expect(nodeA.host.send(specId, { type: 'APPROVE', phase: 'requirements', by: owner.user!.id })).rejects.toThrow(/runs on node/)
    expect(nodeA.host.has(specId)).toBe(false)
    expect(await versionOf(specId)).toBe(before)
    const spec = (await owner.get(`/specs/${specId}`)).body
    expect(spec.status).toBe('awaiting_approval')
    expect((await allEvents(owner, specId)).some((e) => e.type === 'spec.approved')).toBe(false)

    // node-z never comes: once its lease runs out, a live node takes the spec and the approval lands there
    await database.sql`update spec_actors set lease_expires_at = now() where spec_id = ${specId}`
    const approved = await owner.post(`/specs/${specId}/approve`, { phase: 'requirements' })
    expect(approved.status).toBe(200)
    expect(await versionOf(specId)).toBeGreaterThan(before)
    // the design sandbox was created once, by the new owner: the stale copy's refused approval started none
    await runningSandbox(database.sql, specId, { phase: 'design' })
    const design = (await sandboxesOf(database.sql, specId)).filter((s) => s.phase === 'design')
    expect(design.map((s) => [s.attempt, s.generation])).toEqual([[1, 0]])
    await owner.post(`/specs/${specId}/cancel`)
  }, 90_000)

  it.skipIf(!enabled)('a node that loses a spec leaves its running sandbox to the new owner, which re-attaches to it', async () => {
    const title = 'Taken over mid-phase'
    const hold = gate.hold((r) => forSpec(title)(r) && r.submitTool === 'submit_exploration' && r.called.length === 1, 1)
    const owner = await asUser(nodeA.url, 'Owner')
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    const specId = await launchSpec(owner, project.id, title)
    await hold.first()
    const sandbox = await runningSandbox(database.sql, specId, { phase: 'explore' })
    const epoch = Number((await database.sql<{ epoch: number }[]>`select epoch from spec_actors where spec_id = ${specId}`)[0]!.epoch)

    // what a takeover does while node A is paused: another claim (a higher epoch), then a lease nobody renews
    await database.sql`update spec_actors set owner_node = 'node-z', epoch = epoch + 1, lease_expires_at = now() where spec_id = ${specId}`
    // A notices at its next renewal and drops its copy; a live node (A or B) claims the spec again and restores it
    const restored = await waitFor(
      async () => {
        const [row] = await database.sql<{ owner_node: string; epoch: number }[]>`select owner_node, epoch from spec_actors where spec_id = ${specId}`
        const node = row!.owner_node === 'node-a' ? nodeA : row!.owner_node === 'node-b' ? nodeB : null
        const other = node === nodeA ? nodeB : nodeA
        return node && Number(row!.epoch) > Number(epoch) + 1 && node.host.has(specId) && !other.host.has(specId) ? node : null
      },
      { timeoutMs: 30_000, what: 'a live node to take the spec over' },
    )
    hold.release()
    const done = await waitForStatus(owner, specId, ['completed', 'failed'], 90_000)
    expect(done.status).toBe('completed')

    const events = await allEvents(owner, specId)
    expect(events.filter((e) => e.type === 'spec.sandbox_replaced')).toEqual([])
    const explore = (await sandboxesOf(database.sql, specId)).filter((s) => s.phase === 'explore')
    expect(explore.map((s) => s.id), `restored on ${restored.host.nodeId}`).toEqual([sandbox.id])
  }, 120_000)

  it.skipIf(!enabled)('two nodes claiming at the same moment never get the same spec', async () => {
    const owner = await asUser(nodeA.url, 'Owner')
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    const ids = await Promise.all(['one', 'two', 'three'].map((t) => launchSpec(owner, project.id, t, { approval: 'manual' })))
    await Promise.all(ids.map((id) => waitForStatus(owner, id, ['awaiting_approval'], 60_000)))
    const [first, second] = await Promise.all([openPostgres(database.url), openPostgres(database.url)])
    try {
      let claimedBySecond: string[] = []
      await first.sql.begin(async (tx) => {
        // the rows as a dead node leaves them, claimable by anyone: made so inside the first claim's transaction, or
        // the live nodes' own claim rounds (every few seconds) may take them before it does
        await tx`update spec_actors set owner_node = 'gone', lease_expires_at = now() - interval '1 second' where spec_id = any(${ids})`
        const claimedByFirst = (await claimActors(tx as never, 'claimer-1', false)).map((r) => r.spec_id).filter((id) => ids.includes(id))
        expect(claimedByFirst.sort()).toEqual([...ids].sort())
        // while the first claim is not committed, the second skips its rows instead of waiting or taking them too
        claimedBySecond = (await claimActors(second.sql, 'claimer-2', false)).map((r) => r.spec_id).filter((id) => ids.includes(id))
        throw new Error('roll back: give the rows back to the live nodes')
      }).catch((err: Error) => expect(err.message).toMatch(/roll back/))
      expect(claimedBySecond).toEqual([])
    } finally {
      await first.close()
      await second.close()
    }
    for (const id of ids) await owner.post(`/specs/${id}/cancel`)
  }, 90_000)

  it.skipIf(!enabled)('a member removed on node A leaves the spec’s rooms on node B at once, and the others see them go', async () => {
    const owner = await asUser(nodeA.url, 'Owner')
    const member = await asUser(nodeA.url, 'Member')
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    await owner.post(`/projects/${project.id}/members`, { email: member.user!.email, role: 'viewer' })
    const specId = (await owner.post('/specs', { project_id: project.id, title: 'Members only', description: 'two nodes' })).body.id

    const ownerOnA = connect(nodeA.url, { token: owner.token! })
    const memberOnB = connect(nodeB.url, { token: member.token! })
    await Promise.all([connected(ownerOnA), connected(memberOnB)])
    const deltas = new Collector<PresenceDelta>(ownerOnA, 'spec:presence', (p) => p.spec_id === specId)
    const revoked = new Collector<{ spec_id: string }>(memberOnB, 'spec:access_revoked', (r) => r.spec_id === specId)
    await ask(ownerOnA, 'spec:join', { spec_id: specId, batch: true })
    await ask(memberOnB, 'spec:join', { spec_id: specId, batch: true })
    await deltas.until((items) => items.some((d) => d.count === 2), 'the member joining on B')

    expect((await owner.request('DELETE', `/projects/${project.id}/members/${member.user!.id}`)).status).toBe(204)
    await revoked.until((items) => items.length === 1, 'the member’s socket on B told its access ended')
    await deltas.until((items) => items.some((d) => d.left.some((v) => v.user_id === member.user!.id) && d.count === 1), 'the member gone')
    expect((await ask(memberOnB, 'spec:join', { spec_id: specId })).ok).toBe(false)
    for (const s of [ownerOnA, memberOnB]) s.disconnect()
  }, 60_000)

  it.skipIf(!enabled)('a logout on one node cuts the session’s sockets on every node', async () => {
    const user = await asUser(nodeA.url, 'Leaver')
    const onB = connect(nodeB.url, { token: user.token! })
    await connected(onB)
    const gone = new Promise<string>((resolve) => onB.once('disconnect', (reason) => resolve(reason)))
    expect((await user.post('/auth/logout')).status).toBe(204)
    expect(await gone).toBe('io server disconnect')
    onB.disconnect()
  }, 30_000)

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
