import { createRequire } from 'node:module'
import pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { openPostgres, type Database } from '../../src/db/connect.ts'
import { freshDatabase } from '../support/db.ts'
import { waitFor } from '../support/wait.ts'

/**
 * @socket.io/postgres-adapter's LISTEN client (util.js PubSubClient, which src/sockets/index.ts relies on) when its
 * LISTEN fails because the connection it just took from the pool ended (a database still restarting, a network blip
 * right after connecting): both its 'end' listener and initClient's catch schedule a reconnection. Two LISTEN clients
 * come of it: one is never released (a pool slot held for good, of the 4 the cluster pool has) and every NOTIFY is
 * delivered twice. A reconnection must be scheduled once.
 */
const enabled = !!process.env.DATABASE_URL
const { PubSubClient } = createRequire(import.meta.url)('@socket.io/postgres-adapter/dist/util.js')

let database: Database
let control: Database
beforeAll(async () => {
  if (!enabled) return
  database = await freshDatabase()
  control = await openPostgres(database.url)
})
afterAll(async () => {
  await control?.close()
  await database?.close()
})

/** The adapter's options as src/sockets/index.ts leaves them, but a cleanup that never runs during a test. */
const OPTIONS = { tableName: 'socket_io_attachments', channelPrefix: 'test', cleanupInterval: 3_600_000, payloadThreshold: 8000, errorHandler: () => {} }

/** A pool like the cluster's (src/sockets/index.ts), its lost connections not fatal. */
function testPool(): pg.Pool {
  const pool = new pg.Pool({ connectionString: database.url, max: 4, application_name: 'adapter-listen-failure' })
  pool.on('error', () => {})
  return pool
}

it.skipIf(!enabled)('schedules one reconnection when the LISTEN of a re-established connection fails with the connection', async () => {
  const pool = testPool()
  pool.on('connect', (client) => client.on('error', () => {}))
  const pubsub = new PubSubClient(pool, OPTIONS, () => false, () => {})
  let scheduled = 0
  const schedule = pubsub.scheduleReconnection.bind(pubsub)
  pubsub.scheduleReconnection = () => {
    scheduled++
    schedule()
  }
  const inits: Promise<void>[] = []
  const init = pubsub.initClient.bind(pubsub)
  pubsub.initClient = () => {
    const run = init()
    inits.push(run)
    return run
  }
  try {
    await waitFor(() => pubsub.client !== undefined, { what: 'the LISTEN client' })
    pubsub.addNamespace('/')
    const listening = pubsub.client as pg.PoolClient & { processID: number }
    await waitFor(async () => (await control.sql`select 1 from pg_stat_activity where pid = ${listening.processID} and query ilike 'LISTEN%'`).length === 1, {
      what: 'the LISTEN',
    })

    // the next connection the adapter takes ends as its LISTEN is sent
    const connect = pool.connect.bind(pool)
    let broken: (pg.PoolClient & { connection: { stream: { destroy(): void } } }) | undefined
    const ended = new Promise<void>((resolve) => {
      ;(pool as { connect: () => Promise<pg.PoolClient> }).connect = async () => {
        const client = (await connect()) as NonNullable<typeof broken>
        ;(pool as { connect: unknown }).connect = connect
        broken = client
        client.once('end', () => resolve())
        client.connection.stream.destroy()
        return client
      }
    })
    await control.sql`select pg_terminate_backend(${listening.processID})`
    // the reconnection (1–3 s later) fails; its initClient has settled and its connection's 'end' was emitted
    await ended
    await waitFor(() => inits.length >= 1, { what: 'the reconnection' })
    await inits[0]
    expect(broken).toBeDefined()
    // one for the LISTEN connection cut, one for the failed reconnection
    expect(scheduled).toBe(2)
  } finally {
    pubsub.close()
    // a client the adapter never handed back would hold pool.end() for ever
    pool.end().catch(() => {})
  }
}, 30_000)

it.skipIf(!enabled)('hands back a connection that was still being made when the adapter closed (the pool then ends)', async () => {
  const pool = testPool()
  // the adapter's first connection is held until the test lets it through
  const connect = pool.connect.bind(pool)
  let letThrough!: () => void
  const held = new Promise<void>((resolve) => (letThrough = resolve))
  let asked!: () => void
  const connecting = new Promise<void>((resolve) => (asked = resolve))
  ;(pool as { connect: () => Promise<pg.PoolClient> }).connect = async () => {
    asked()
    await held
    return connect()
  }
  const pubsub = new PubSubClient(pool, OPTIONS, () => false, () => {})
  await connecting
  pubsub.close() // the node shuts down meanwhile
  const acquired = new Promise<void>((resolve) => pool.once('acquire', () => resolve()))
  letThrough()
  await acquired
  // before: the connection stayed checked out, and end() waited for it for ever (the test timed out)
  await pool.end()
  expect(pool.totalCount).toBe(0)
}, 15_000)
