import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/connect.ts'
import { findKey, recordAnswer, releaseKey, reserveKey } from '../../src/db/idempotency.ts'
import { ulid } from '../../src/ids.ts'
import { freshDatabase } from '../support/db.ts'
import { waitFor } from '../support/wait.ts'

/**
 * The idempotency key queries (src/db/idempotency.ts) on a real database (PGlite, or PostgreSQL with DATABASE_URL):
 * who may take a reservation over, what a release may delete, which answer stands, expiry, and the text boundary.
 */

let database: Database
let userId: string
const sql = () => database.sql
const ABANDONED_MS = 60_000

beforeAll(async () => {
  database = await freshDatabase()
  userId = `usr_${ulid()}`
  await sql()`insert into users (id, email, name, password_hash) values (${userId}, ${`${userId}@example.com`}, 'Ada', 'x')`
})
afterAll(() => database?.close())

const reserve = (key: string, holder: string, fingerprint = 'fp-a') =>
  reserveKey(sql(), { userId, key, fingerprint, holder, abandonedAfterMs: ABANDONED_MS })
const age = (key: string, interval: string) => sql()`update idempotency_keys set created_at = now() - ${interval}::interval where key = ${key}`
const ok = { code: 200, body: { spec_id: 'spec_1', status: 'executing' } }

describe('idempotency key reservations', () => {
  it('one holder at a time; an abandoned reservation of the same request may be taken over, never by another request', async () => {
    expect(await reserve('k1', 'h1')).toBe(true)
    expect(await reserve('k1', 'h2')).toBe(false)
    await age('k1', '61 seconds')
    expect(await reserve('k1', 'h2', 'fp-other')).toBe(false)
    expect(await reserve('k1', 'h2')).toBe(true)
    // the first holder, late, cannot release the taker's reservation
    await releaseKey(sql(), { userId, key: 'k1', holder: 'h1' })
    expect(await findKey(sql(), userId, 'k1')).toEqual({ fingerprint: 'fp-a', answer: null })
    await releaseKey(sql(), { userId, key: 'k1', holder: 'h2' })
    expect(await findKey(sql(), userId, 'k1')).toBeNull()
  })

  it('an answer stands: a release leaves it, a second answer does not replace it, an answer after a release is kept', async () => {
    expect(await reserve('k2', 'h1')).toBe(true)
    expect(await recordAnswer(sql(), { userId, key: 'k2', fingerprint: 'fp-a', answer: ok })).toEqual({ answer: ok, replayed: false })
    await releaseKey(sql(), { userId, key: 'k2', holder: 'h1' })
    const conflict = { code: 409, body: { error: { code: 'conflict', message: 'not awaiting approval' } } }
    expect(await recordAnswer(sql(), { userId, key: 'k2', fingerprint: 'fp-a', answer: conflict })).toEqual({ answer: ok, replayed: true })
    expect(await findKey(sql(), userId, 'k2')).toEqual({ fingerprint: 'fp-a', answer: ok })
    await age('k2', '61 seconds')
    expect(await reserve('k2', 'h2'), 'an answered key is never taken over before it expires').toBe(false)

    // the receiving node gave up (503) and released; the owner applied the command afterwards: its answer is kept
    expect(await reserve('k3', 'h1')).toBe(true)
    await releaseKey(sql(), { userId, key: 'k3', holder: 'h1' })
    await recordAnswer(sql(), { userId, key: 'k3', fingerprint: 'fp-a', answer: ok })
    expect(await reserve('k3', 'h2')).toBe(false)
    expect(await findKey(sql(), userId, 'k3')).toEqual({ fingerprint: 'fp-a', answer: ok })
  })

  it('keys expire after 24 h: unseen, taken over by a new request, and deleted by later reservations', async () => {
    expect(await reserve('old', 'h1')).toBe(true)
    await recordAnswer(sql(), { userId, key: 'old', fingerprint: 'fp-a', answer: ok })
    await age('old', '25 hours')
    expect(await findKey(sql(), userId, 'old')).toBeNull()
    expect(await reserve('old', 'h2', 'fp-new')).toBe(true)
    expect(await findKey(sql(), userId, 'old')).toEqual({ fingerprint: 'fp-new', answer: null })

    for (const key of ['e1', 'e2', 'e3']) await reserve(key, 'h1')
    await sql()`update idempotency_keys set created_at = now() - interval '25 hours' where key like 'e%'`
    await reserve('fresh', 'h1')
    expect(await sql()`select key from idempotency_keys where key like 'e%'`).toEqual([])
  })

  it('an answer is stored through the text boundary, as the same text (keys in their order)', async () => {
    expect(await reserve('text', 'h1')).toBe(true)
    const body = { zeta: 'NUL \u0000 and a lone \ud800 surrogate', alpha: 1 }
    await recordAnswer(sql(), { userId, key: 'text', fingerprint: 'fp-a', answer: { code: 200, body } })
    const stored = await findKey(sql(), userId, 'text')
    expect(stored!.answer!.body).toEqual({ zeta: 'NUL \u2400 and a lone \ufffd surrogate', alpha: 1 })
    expect(Object.keys(stored!.answer!.body)).toEqual(['zeta', 'alpha'])
  })

  it('the first answer is the one stored, the same its replay gets, when the text boundary changed it', async () => {
    expect(await reserveKey(sql(), { userId, key: 'surrogate', fingerprint: 'fp', holder: 'h1', abandonedAfterMs: 60_000 })).toBe(true)
    const answer = { code: 201, body: { spec_id: 'spec_1', seq: 7, text: 'a lone \ud800 surrogate' } }
    const first = await recordAnswer(sql(), { userId, key: 'surrogate', fingerprint: 'fp', answer })
    const replay = await findKey(sql(), userId, 'surrogate')
    expect(first).toEqual({ answer: { code: 201, body: { spec_id: 'spec_1', seq: 7, text: 'a lone \ufffd surrogate' } }, replayed: false })
    expect(replay!.answer).toEqual(first.answer)
    expect(JSON.stringify(replay!.answer!.body)).toBe(JSON.stringify(first.answer.body))
  })
})

/**
 * The expired-key cleanup of reserveKey against a concurrent takeover of the same key (PostgreSQL only: PGlite has one
 * connection). The cleanup picks expired rows in a subquery and deletes them by (user, key); a row taken over by a new
 * request between the pick and the delete is no longer expired and must stay.
 */
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
