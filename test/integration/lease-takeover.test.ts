import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLAIM_LOCK_WAIT_MS, claimActor, claimActors, LEASE_MS } from '../../src/db/actors.ts'
import type { Database } from '../../src/db/connect.ts'
import { freshDatabase } from '../support/db.ts'

/**
 * A node stopped in the middle of a write keeps its spec's lease row locked (DESIGN §4; src/db/connect.ts says why no
 * timeout of PostgreSQL 15 ends it). Once its lease has run out, the node taking the spec over ends that transaction
 * instead of waiting on it for as long as the node stays stopped; it never ends the holder of a live lease, nor another
 * node's claim in progress. The stopped node is a connection of its own without `idle_in_transaction_session_timeout`,
 * so its transaction stays open until somebody ends it. Those cases need a second backend: PostgreSQL only.
 */
const enabled = !!process.env.DATABASE_URL
/** A claim's lock wait and its wait for an ended backend to exit, with room to spare: the old claim waited for good. */
const BOUNDED_MS = 10 * CLAIM_LOCK_WAIT_MS

let database: Database
const holders: pg.Client[] = []

beforeAll(async () => {
  database = await freshDatabase()
  await database.sql`insert into users (id, email, name, password_hash) values ('usr_l', 'l@example.com', 'L', 'x')`
})
afterAll(async () => {
  await Promise.all(holders.map((h) => h.end().catch(() => {})))
  await database?.close()
})

/** A spec whose actor runs on node-a under epoch 1, its lease running for another minute. */
async function specOnNodeA(specId: string): Promise<void> {
  await database.sql`insert into specs (id, user_id, title, description) values (${specId}, 'usr_l', ${specId}, 'lease takeover')`
  await database.sql`insert into spec_actors (spec_id, snapshot, version, state, owner_node, lease_expires_at, epoch)
    values (${specId}, '{}', 1, 'active', 'node-a', now() + interval '1 minute', 1)`
}

/** The lease runs out now: after any transaction begun so far, before any begun from here on. */
const leaseRunsOut = (specId: string) => database.sql`update spec_actors set lease_expires_at = now() where spec_id = ${specId}`

/** Another node's connection with a transaction begun: what it does next inside it decides what the test is about. */
async function nodeTransaction(node: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: database.url, application_name: node })
  client.on('error', () => {}) // its backend being ended is what some tests wait for; its next query says so
  holders.push(client)
  await client.connect()
  await client.query('begin')
  return client
}

/** node-a's fenced write, begun under its live lease, stopped after it locked the lease row (assertFence). */
const lockLeaseRow = (client: pg.Client, specId: string) =>
  client.query('select epoch from spec_actors where spec_id = $1 for update', [specId])

/**
 * The first half of a statement's first use on a connection, as postgres.js sends it (Parse, Describe, Flush; the Bind
 * follows once the description arrives), and no second half: the process stopped in between. The backend then waits
 * for its client with the statement begun, where no timeout of PostgreSQL 15 acts. pg's client sees an answer it did
 * not ask for and says so on its 'error' listener.
 */
function stopMidStatement(client: pg.Client): void {
  const connection = (client as unknown as { connection: { parse(q: object): void; describe(q: object): void; flush(): void } }).connection
  connection.parse({ name: 'stopped', text: 'update spec_actors set snapshot = snapshot where spec_id = $1', types: [] })
  connection.describe({ type: 'S', name: 'stopped' })
  connection.flush()
}

/** Resolves once the backend of `node` has waited for its client for longer than a lease (polled; bounded by the test). */
async function waitedForClientALease(node: string): Promise<void> {
  for (;;) {
    const [row] = await database.sql<{ waited: boolean }[]>`
      select wait_event = 'ClientRead' and state_change < now() - ${LEASE_MS / 1000} * interval '1 second' as waited
      from pg_stat_activity where application_name = ${node}`
    if (row?.waited) return
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

describe('claiming a spec whose lease row a stopped node holds locked', () => {
  it('claims an expired lease nobody holds, on either database', async () => {
    await specOnNodeA('spec_free_one')
    await specOnNodeA('spec_free_many')
    await database.sql`update spec_actors set lease_expires_at = now() - interval '1 second' where spec_id like 'spec_free_%'`

    expect(await claimActor(database.sql, 'spec_free_one', 'node-b')).toMatchObject({ claimed: { owner_node: 'node-b', epoch: 2 } })
    const claimed = (await claimActors(database.sql, 'node-b', false)).filter((r) => r.spec_id === 'spec_free_many')
    expect(claimed).toMatchObject([{ owner_node: 'node-b', epoch: 2 }])
  })

  it.skipIf(!enabled)('ends the stopped node’s transaction once its lease ran out, and claims the spec (one claim)', async () => {
    await specOnNodeA('spec_stale_one')
    const nodeA = await nodeTransaction('node-a')
    await leaseRunsOut('spec_stale_one')
    await lockLeaseRow(nodeA, 'spec_stale_one')

    expect(await claimActor(database.sql, 'spec_stale_one', 'node-b')).toMatchObject({ claimed: { owner_node: 'node-b', epoch: 2 } })
    await expect(nodeA.query('select 1')).rejects.toThrow()
  }, BOUNDED_MS)

  it.skipIf(!enabled)('ends the stopped node’s transaction once its lease ran out, and claims the spec (renewal round)', async () => {
    await specOnNodeA('spec_stale_many')
    const nodeA = await nodeTransaction('node-a')
    await leaseRunsOut('spec_stale_many')
    await lockLeaseRow(nodeA, 'spec_stale_many')

    const claimed = (await claimActors(database.sql, 'node-b', false)).filter((r) => r.spec_id === 'spec_stale_many')
    expect(claimed).toMatchObject([{ owner_node: 'node-b', epoch: 2 }])
    await expect(nodeA.query('select 1')).rejects.toThrow()
  }, BOUNDED_MS)

  it.skipIf(!enabled)('ends a node that woke after its lease ran out, began a write and stopped in it, once it has waited a lease', async () => {
    await specOnNodeA('spec_woke')
    await leaseRunsOut('spec_woke')
    const nodeA = await nodeTransaction('node-a-woke')
    await lockLeaseRow(nodeA, 'spec_woke')
    stopMidStatement(nodeA)

    // as long as it might still be a node claiming the spec, it is left alone
    expect(await claimActor(database.sql, 'spec_woke', 'node-b')).toEqual({ owner: 'node-a' })
    await waitedForClientALease('node-a-woke')
    expect(await claimActor(database.sql, 'spec_woke', 'node-b')).toMatchObject({ claimed: { owner_node: 'node-b', epoch: 2 } })
    await expect(nodeA.query('select 1')).rejects.toThrow()
  }, LEASE_MS + BOUNDED_MS)

  it.skipIf(!enabled)('leaves the holder of a live lease alone, and answers its owner (after one lock wait at most)', async () => {
    await specOnNodeA('spec_live')
    const nodeA = await nodeTransaction('node-a')
    await lockLeaseRow(nodeA, 'spec_live')

    expect(await claimActor(database.sql, 'spec_live', 'node-b')).toEqual({ owner: 'node-a' })
    // node-a's own claim (a restarted process under the same name) may take the row, so it waits on the lock, then gives up
    expect(await claimActor(database.sql, 'spec_live', 'node-a')).toEqual({ owner: 'node-a' })
    expect((await claimActors(database.sql, 'node-b', false)).map((r) => r.spec_id)).not.toContain('spec_live')
    expect((await nodeA.query('select 1 as alive')).rows).toEqual([{ alive: 1 }])
    await nodeA.query('rollback')
  }, BOUNDED_MS)

  it.skipIf(!enabled)('leaves another node’s claim in progress alone (begun after the lease ran out), which then holds the spec', async () => {
    await specOnNodeA('spec_contested')
    await leaseRunsOut('spec_contested')
    const nodeC = await nodeTransaction('node-c')
    await nodeC.query(
      `update spec_actors set owner_node = 'node-c', epoch = epoch + 1, lease_expires_at = now() + interval '10 seconds' where spec_id = $1`,
      ['spec_contested'],
    )

    expect(await claimActor(database.sql, 'spec_contested', 'node-b')).toEqual({ owner: 'node-a' })
    await nodeC.query('commit')
    expect(await claimActor(database.sql, 'spec_contested', 'node-b')).toEqual({ owner: 'node-c' })
  }, BOUNDED_MS)
})
