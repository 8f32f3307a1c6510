import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/connect.ts'
import { asUser, type Api } from '../support/api.ts'
import { ownerOf as clusterOwnerOf, TestCluster } from '../support/cluster.ts'
import { freshDatabase } from '../support/db.ts'
import { startFakeModel, type FakeModel } from '../support/fake-model.ts'
import { allEvents, launchSpec, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { waitFor } from '../support/wait.ts'

/**
 * An approval sent, with an Idempotency-Key, to a node that does not own the spec while the owner is stopped (SIGSTOP):
 * the load balancer cuts the caller off with a 504, yet the command is applied later (by the owner when it wakes, or
 * by the node that takes the spec over). The retry with the same key, through any node, answers the applied command's
 * 200, never "not awaiting approval" (409), and the approval is applied once. PostgreSQL only (a cluster needs it).
 */
const enabled = !!process.env.DATABASE_URL
/** The load balancer's upstream timeout: well within a lease (10 s), so a paused owner's lease still holds then. */
const UPSTREAM_TIMEOUT_MS = 3_000

let database: Database
let model: FakeModel
let cluster: TestCluster
let owner: Api

beforeAll(async () => {
  if (!enabled) return
  ;[database, model] = await Promise.all([freshDatabase(), startFakeModel({ skipBadSubmit: true })])
  cluster = await TestCluster.start(3, { DATABASE_URL: database.url, ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: model.url }, { upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS })
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
const approve = (api: Api, specId: string, key: string) => api.request('POST', `/specs/${specId}/approve`, { phase: 'requirements' }, { 'idempotency-key': key })
const approvals = async (specId: string) => (await allEvents(owner, specId)).filter((e) => e.type === 'spec.approved').length

/**
 * Retries through the load balancer as a client told 409 + Retry-After does, until the key's answer is there; `waits`:
 * how many retries were told the first request is still being served.
 */
async function retryUntilAnswered(specId: string, key: string) {
  let waits = 0
  const res = await waitFor(
    async () => {
      const res = await approve(owner, specId, key)
      if (res.status === 409 && res.body.error.message.includes('still being served')) {
        expect(res.headers.get('retry-after')).toBe('1')
        waits++
        return null
      }
      return res
    },
    { timeoutMs: 30_000, intervalMs: 250, what: `the answer of idempotency key ${key}` },
  )
  return Object.assign(res, { waits })
}

describe('a keyed command whose caller was cut off while the owner was stopped', () => {
  it.skipIf(!enabled)('the retry answers what was applied (200, replayed), whether the owner woke in time or the spec was taken over', async () => {
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    // both specs run on node-1 (launched there), both wait for the requirements' approval; the balancer sends to the others
    const specs = await Promise.all(['Woken owner', 'Taken over'].map((title) => launchSpec(on('node-1'), project.id, title, { approval: 'manual' })))
    for (const specId of specs) {
      expect(await waitForStatus(owner, specId, ['awaiting_approval', 'failed'])).toMatchObject({ status: 'awaiting_approval', current_phase: 'requirements' })
      expect(await ownerOf(specId)).toBe('node-1')
    }
    const [woken, takenOver] = specs as [string, string]

    // 1. the owner is stopped shorter than its lease: the node reached forwards the approval to it and waits; the balancer cuts the
    // caller off (504); the owner wakes with its lease, serves the forwarded call and applies the approval itself
    const key1 = randomUUID()
    cluster.pause('node-1')
    const cut = await approve(owner, woken, key1) // the balancer sends it to another node: node-1 is not serving
    cluster.resume('node-1')
    expect(cut.status).toBe(504)
    const answer1 = await retryUntilAnswered(woken, key1)
    expect(answer1.status, JSON.stringify(answer1.body)).toBe(200)
    expect(answer1.headers.get('idempotent-replayed')).toBe('true')
    expect(answer1.body).toMatchObject({ spec_id: woken, status: 'executing' })
    expect(await ownerOf(woken), 'the woken owner applied it; nobody took the spec over').toBe('node-1')
    for (const node of ['node-1', 'node-2']) {
      const again = await approve(on(node), woken, key1)
      expect([again.status, again.headers.get('idempotent-replayed')], node).toEqual([200, 'true'])
      expect(again.body).toEqual(answer1.body)
    }
    expect(await approvals(woken)).toBe(1)
    // without the key, the same approval is refused: this is what a retry used to get
    expect((await owner.post(`/specs/${woken}/approve`, { phase: 'requirements' })).status).toBe(409)

    // 2. the owner is stopped past its lease: another node takes the spec over and applies the forwarded approval itself,
    // after the caller was cut off; the owner, woken, finds the lease gone and applies nothing
    const key2 = randomUUID()
    cluster.pause('node-1')
    try {
      const cut2 = await approve(owner, takenOver, key2)
      expect(cut2.status).toBe(504)
      const answer2 = await retryUntilAnswered(takenOver, key2)
      expect(answer2.waits, 'retries while the node reached still waited for the owner').toBeGreaterThan(0)
      expect(answer2.status, JSON.stringify(answer2.body)).toBe(200)
      expect(answer2.headers.get('idempotent-replayed')).toBe('true')
      expect(await ownerOf(takenOver)).not.toBe('node-1')
    } finally {
      cluster.resume('node-1')
    }
    const fromWoken = await approve(on('node-1'), takenOver, key2)
    expect([fromWoken.status, fromWoken.headers.get('idempotent-replayed')]).toEqual([200, 'true'])
    expect(await approvals(takenOver)).toBe(1)
    expect(await ownerOf(takenOver)).not.toBe('node-1')
  }, 90_000)

  it.skipIf(!enabled)('an owner silent past the route deadline with its lease: 503; applied when it wakes (the retry replays it), or never (the retry applies it once)', async () => {
    const project = (await owner.post('/projects', { name: 'Slow', repo_url: await makeRepo() })).body
    const woken = await launchSpec(on('node-1'), project.id, 'Slow owner', { approval: 'manual' })
    const lost = await launchSpec(on('node-3'), project.id, 'Dead owner', { approval: 'manual' })
    for (const specId of [woken, lost]) expect(await waitForStatus(owner, specId, ['awaiting_approval', 'failed'])).toMatchObject({ status: 'awaiting_approval' })
    expect([await ownerOf(woken), await ownerOf(lost)]).toEqual(['node-1', 'node-3'])

    // both owners stop answering but keep their leases (as an owner stuck in a command while its renewals go on): the
    // test renews them for them, so node-2 never takes the specs over and answers 503 at its route deadline
    const keys = { [woken]: randomUUID(), [lost]: randomUUID() }
    cluster.pause('node-1')
    cluster.pause('node-3')
    const holdLeases = setInterval(() => {
      // (a postgres.js query runs once it is awaited or caught)
      database.sql`update spec_actors set lease_expires_at = now() + interval '10 seconds' where spec_id in ${database.sql([woken, lost])}`.catch(() => {})
    }, 1_000)
    let cut: Awaited<ReturnType<typeof approve>>[]
    try {
      cut = await Promise.all([woken, lost].map((specId) => approve(on('node-2'), specId, keys[specId]!)))
    } finally {
      clearInterval(holdLeases)
    }
    for (const res of cut) expect([res.status, res.body.error?.code]).toEqual([503, 'unavailable'])

    // node-1 wakes and serves the call node-2 forwarded to it: it applies the approval and stores its answer, which the
    // retry gets (node-2 had released its reservation with the 503)
    cluster.resume('node-1')
    const answer = await retryUntilAnswered(woken, keys[woken]!)
    expect(answer.status, JSON.stringify(answer.body)).toBe(200)
    expect(answer.headers.get('idempotent-replayed')).toBe('true')
    expect(await ownerOf(woken)).toBe('node-1')
    expect(await approvals(woken)).toBe(1)

    // node-3 dies: the call forwarded to it is lost with it, nothing was applied; once its lease runs out, the retry
    // (through the balancer) is served afresh and applies the approval, once
    await cluster.kill('node-3')
    await database.sql`update spec_actors set lease_expires_at = now() where spec_id = ${lost}`
    expect(await approvals(lost)).toBe(0)
    const applied = await retryUntilAnswered(lost, keys[lost]!)
    expect(applied.status, JSON.stringify(applied.body)).toBe(200)
    expect(applied.headers.get('idempotent-replayed')).toBeNull()
    const replayed = await approve(owner, lost, keys[lost]!)
    expect([replayed.status, replayed.headers.get('idempotent-replayed')]).toEqual([200, 'true'])
    expect(replayed.body).toEqual(applied.body)
    expect(await approvals(lost)).toBe(1)
  }, 90_000)
})
