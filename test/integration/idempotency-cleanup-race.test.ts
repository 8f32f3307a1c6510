import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/connect.ts'
import { findKey, recordAnswer, reserveKey } from '../../src/db/idempotency.ts'
import { ulid } from '../../src/ids.ts'
import { freshDatabase } from '../support/db.ts'
import { waitFor } from '../support/wait.ts'

/**
 * The expired-key cleanup of reserveKey (src/db/idempotency.ts) against a concurrent takeover of the same key
 * (PostgreSQL only: PGlite has one connection). The cleanup picks expired rows in a subquery and deletes them by
 * (user, key); a row taken over by a new request between the pick and the delete is no longer expired and must stay.
 */

let database: Database
let userId: string
const sql = () => database.sql

beforeAll(async () => {
  database = await freshDatabase()
  userId = `usr_${ulid()}`
  await sql()`insert into users (id, email, name, password_hash) values (${userId}, ${`${userId}@example.com`}, 'Ada', 'x')`
})
afterAll(() => database?.close())

describe.runIf(process.env.DATABASE_URL)('expired-key cleanup', () => {
  it('does not delete a key taken over (made fresh) while the cleanup waited for its row', async () => {
    expect(await reserveKey(sql(), { userId, key: 'reused', fingerprint: 'fp-old', holder: 'h1', abandonedAfterMs: 60_000 })).toBe(true)
    await recordAnswer(sql(), { userId, key: 'reused', fingerprint: 'fp-old', answer: { code: 200, body: { old: true } } })
    await sql()`update idempotency_keys set created_at = now() - interval '25 hours' where user_id = ${userId} and key = 'reused'`

    // another connection takes the expired key over for a new request, as reserveKey's conflict branch does, and
    // holds its row lock (not yet committed) while a cleanup, started meanwhile, waits for that row
    let commit!: () => void
    const committed = new Promise<void>((resolve) => (commit = resolve))
    let updated!: () => void
    const takenOver = new Promise<void>((resolve) => (updated = resolve))
    const takeover = sql().begin(async (tx) => {
      await tx`update idempotency_keys set fingerprint = 'fp-new', holder = 'h2', status = null, answer = null, created_at = now(), completed_at = null
        where user_id = ${userId} and key = 'reused'`
      updated()
      await committed
    })
    await takenOver
    const cleanup = reserveKey(sql(), { userId, key: 'another', fingerprint: 'fp-a', holder: 'h3', abandonedAfterMs: 60_000 })
    await waitFor(
      async () => {
        const [row] = await sql()<{ n: number }[]>`select count(*)::int as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock' and query like 'delete from idempotency_keys%'`
        return row!.n > 0
      },
      { timeoutMs: 10_000, what: 'the cleanup to wait for the taken-over row' },
    )
    commit()
    await takeover
    expect(await cleanup).toBe(true)

    expect(await findKey(sql(), userId, 'reused'), 'the new request’s reservation is kept').toEqual({ fingerprint: 'fp-new', answer: null })
  })
})
