import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/connect.ts'
import { freshDatabase } from '../support/db.ts'

/**
 * The PostgreSQL driver when a connection dies under a transaction: the server ends a backend (a restart, an idle
 * transaction's timeout, a takeover ending a stale holder, src/db/actors.ts) while its transaction waits between two
 * statements. postgres.js 3.4.9 then scheduled the transaction's next write for a socket it had already dropped, and
 * the pool's next query threw an uncaught TypeError from a setImmediate that took the whole process down
 * (porsager/postgres#1154, #1208; patched in patches/). The transaction must fail with a connection error the caller
 * can handle, and the pool must serve the next query. PostgreSQL only (pg_terminate_backend).
 */
const enabled = !!process.env.DATABASE_URL
/** How long the pool sits idle after the transaction failed (3.4.9 crashed on a query sent 50 ms or more later). */
const IDLE_MS = 200

let database: Database

beforeAll(async () => {
  if (enabled) database = await freshDatabase()
})

afterAll(async () => {
  await database?.close()
})

describe('a connection ended under a transaction', () => {
  it.skipIf(!enabled)('fails the transaction with CONNECTION_CLOSED and the next query runs', async () => {
    let driverSawClose = () => {}
    const closed = new Promise<void>((resolve) => (driverSawClose = resolve))
    const sql = postgres(database.url, { max: 1, onnotice: () => {}, onclose: () => driverSawClose() })
    try {
      const transaction = sql.begin(async (tx) => {
        const [row] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`
        await database.sql`select pg_terminate_backend(${row!.pid})`
        await closed
        await tx`select 1`
      })
      await expect(transaction).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' })
      // as a server between requests: the pool sits idle a moment, then serves the next query
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS))
      const [row] = await sql<{ ok: number }[]>`select 1 as ok`
      expect(row!.ok).toBe(1)
    } finally {
      await sql.end({ timeout: 5 })
    }
  })
})
